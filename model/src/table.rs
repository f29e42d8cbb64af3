//! The permission table of SPEC §8, with the PRECO column, as data.
//!
//! `step` never reads this module: the table and the step function are two independent
//! encodings of the spec, and the checker holds one against the other (every Ok outcome must be
//! allowed by the table for the session's role).

use crate::vocab::{Operation, Role};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A row of the table: a group of operations, labelled as in SPEC §8.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Row {
    GetBasicClusterInfo,
    ZeroizeAnHsm,
    ChangeOwnPassword,
    ChangeAnyUsersPassword,
    AddRemoveUsers,
    GetSyncStatus,
    ExtractInsertMaskedObjects,
    KeyManagementFunctions,
    EncryptDecrypt,
    SignVerify,
    GenerateDigestsAndHmacs,
}

impl Row {
    /// Every row, in SPEC §8 order.
    pub const ALL: [Row; 11] = [
        Row::GetBasicClusterInfo,
        Row::ZeroizeAnHsm,
        Row::ChangeOwnPassword,
        Row::ChangeAnyUsersPassword,
        Row::AddRemoveUsers,
        Row::GetSyncStatus,
        Row::ExtractInsertMaskedObjects,
        Row::KeyManagementFunctions,
        Row::EncryptDecrypt,
        Row::SignVerify,
        Row::GenerateDigestsAndHmacs,
    ];

    /// The row's label in SPEC §8.
    pub fn label(self) -> &'static str {
        match self {
            Row::GetBasicClusterInfo => "Get basic cluster info",
            Row::ZeroizeAnHsm => "Zeroize an HSM",
            Row::ChangeOwnPassword => "Change own password",
            Row::ChangeAnyUsersPassword => "Change any user's password",
            Row::AddRemoveUsers => "Add, remove users",
            Row::GetSyncStatus => "Get sync status",
            Row::ExtractInsertMaskedObjects => "Extract, insert masked objects",
            Row::KeyManagementFunctions => "Key management functions",
            Row::EncryptDecrypt => "Encrypt, decrypt",
            Row::SignVerify => "Sign, verify",
            Row::GenerateDigestsAndHmacs => "Generate digests and HMACs",
        }
    }

    /// The row's stable id, for JSON: `get_basic_cluster_info`, `zeroize_an_hsm`, ….
    pub fn id(self) -> &'static str {
        match self {
            Row::GetBasicClusterInfo => "get_basic_cluster_info",
            Row::ZeroizeAnHsm => "zeroize_an_hsm",
            Row::ChangeOwnPassword => "change_own_password",
            Row::ChangeAnyUsersPassword => "change_any_users_password",
            Row::AddRemoveUsers => "add_remove_users",
            Row::GetSyncStatus => "get_sync_status",
            Row::ExtractInsertMaskedObjects => "extract_insert_masked_objects",
            Row::KeyManagementFunctions => "key_management_functions",
            Row::EncryptDecrypt => "encrypt_decrypt",
            Row::SignVerify => "sign_verify",
            Row::GenerateDigestsAndHmacs => "generate_digests_and_hmacs",
        }
    }

    /// The row an operation falls in; `None` for Login and Logout (sessions have no row).
    pub fn of(op: Operation) -> Option<Row> {
        use Operation::*;
        Some(match op {
            Login | Logout => return None,
            GetClusterInfo | ListUsers => Row::GetBasicClusterInfo,
            Zeroize => Row::ZeroizeAnHsm,
            ChangeOwnPassword => Row::ChangeOwnPassword,
            ChangePassword => Row::ChangeAnyUsersPassword,
            CreateUser | DeleteUser => Row::AddRemoveUsers,
            GetSyncStatus => Row::GetSyncStatus,
            ExtractMasked | InsertMasked | Clone => Row::ExtractInsertMaskedObjects,
            GenerateKey | DeleteKey | ShareKey | UnshareKey | SetAttribute | WrapKey
            | UnwrapKey => Row::KeyManagementFunctions,
            Encrypt | Decrypt => Row::EncryptDecrypt,
            Sign | Verify => Row::SignVerify,
            Digest | Hmac => Row::GenerateDigestsAndHmacs,
        })
    }

    /// The operations of this row.
    pub fn operations(self) -> impl Iterator<Item = Operation> {
        Operation::ALL
            .into_iter()
            .filter(move |o| Row::of(*o) == Some(self))
    }
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A column of the table: a role, or an unauthenticated session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Column {
    /// A session logged in with this role.
    Role(Role),
    /// A session not logged in.
    Unauthenticated,
}

impl Column {
    /// Every column, in the order `PRECO`, `CO`, `CU`, `AU`, `unauthenticated`.
    pub const ALL: [Column; 5] = [
        Column::Role(Role::PreCryptoOfficer),
        Column::Role(Role::CryptoOfficer),
        Column::Role(Role::CryptoUser),
        Column::Role(Role::ApplianceUser),
        Column::Unauthenticated,
    ];

    /// The column's heading.
    pub fn label(self) -> &'static str {
        match self {
            Column::Role(r) => r.short(),
            Column::Unauthenticated => "unauthenticated",
        }
    }

    /// The column's stable id, for JSON: the role's id, or `unauthenticated`.
    pub fn id(self) -> &'static str {
        match self {
            Column::Role(r) => r.id(),
            Column::Unauthenticated => "unauthenticated",
        }
    }

    /// The column of a session with this role, if any.
    pub fn of(role: Option<Role>) -> Column {
        role.map_or(Column::Unauthenticated, Column::Role)
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A cell of the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Cell {
    Yes,
    No,
    NotApplicable,
}

impl Cell {
    /// The cell's text, as in SPEC §8.
    pub fn text(self) -> &'static str {
        match self {
            Cell::Yes => "Yes",
            Cell::No => "No",
            Cell::NotApplicable => "Not applicable",
        }
    }
}

/// SPEC §8 as data: columns PRECO, CO, CU, AU, unauthenticated.
const TABLE: [(Row, [Cell; 5]); 11] = {
    use Cell::{No, NotApplicable as Na, Yes};
    [
        (Row::GetBasicClusterInfo, [Yes, Yes, Yes, Yes, Yes]),
        (Row::ZeroizeAnHsm, [Yes, Yes, Yes, Yes, Yes]),
        (Row::ChangeOwnPassword, [Yes, Yes, Yes, Yes, Na]),
        (Row::ChangeAnyUsersPassword, [No, Yes, No, No, No]),
        (Row::AddRemoveUsers, [No, Yes, No, No, No]),
        (Row::GetSyncStatus, [Yes, Yes, Yes, Yes, No]),
        (Row::ExtractInsertMaskedObjects, [No, Yes, Yes, Yes, No]),
        (Row::KeyManagementFunctions, [No, No, Yes, No, No]),
        (Row::EncryptDecrypt, [No, No, Yes, No, No]),
        (Row::SignVerify, [No, No, Yes, No, No]),
        (Row::GenerateDigestsAndHmacs, [No, No, Yes, No, No]),
    ]
};

/// The cell of SPEC §8 for `row` and `column`.
pub fn cell(row: Row, column: Column) -> Cell {
    let index = Column::ALL.iter().position(|c| *c == column).unwrap_or(4);
    TABLE
        .iter()
        .find(|(r, _)| *r == row)
        .map_or(Cell::No, |(_, cells)| cells[index])
}

/// Whether the table lets a session in `column` succeed at an operation of `row`.
pub fn allows(row: Row, column: Column) -> bool {
    cell(row, column) == Cell::Yes
}

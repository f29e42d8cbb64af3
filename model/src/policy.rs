//! The credentials and limits policy of SPEC §4, in the model's own types.

use serde::{Deserialize, Serialize};

/// Credentials and limits (SPEC §4). The model checks small values; the implementation defaults
/// to [`Policy::spec_default`]; the runner sets both to the same values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Policy {
    /// Longest user name, in characters (names are 1..=this of `a-z 0-9 _`).
    pub name_max_chars: u16,
    /// Shortest password, in Unicode characters.
    pub password_min_chars: u16,
    /// Longest password, in Unicode characters.
    pub password_max_chars: u16,
    /// Consecutive failed logins, per user per HSM, that lock the user.
    pub lockout_threshold: u8,
    /// Most names a key may be shared with.
    pub max_shares: u8,
    /// Most users an HSM holds, the AU included.
    pub max_users: u16,
    /// Most keys an HSM holds.
    pub max_keys: u16,
}

impl Policy {
    /// The defaults of SPEC §4.
    pub const fn spec_default() -> Policy {
        Policy {
            name_max_chars: 31,
            password_min_chars: 8,
            password_max_chars: 32,
            lockout_threshold: 5,
            max_shares: 7,
            max_users: 1024,
            max_keys: 16666,
        }
    }

    /// Whether `name` is a valid user name once lower-cased (SPEC §3 "Names and passwords").
    pub fn name_is_valid(&self, name: &str) -> bool {
        let name = canonical_name(name);
        let len = name.chars().count();
        (1..=self.name_max_chars as usize).contains(&len)
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }

    /// Whether `password` is acceptable as a new password: its length in Unicode characters.
    pub fn password_is_valid(&self, password: &str) -> bool {
        // Characters, not bytes; an ASCII text (every preset's) has one per byte, and telling
        // that is cheaper than counting (the checker asks this for most candidate steps that
        // set a password).
        let len = if password.is_ascii() {
            password.len()
        } else {
            password.chars().count()
        };
        (self.password_min_chars as usize..=self.password_max_chars as usize).contains(&len)
    }
}

impl Default for Policy {
    fn default() -> Self {
        Policy::spec_default()
    }
}

/// A name as stored and compared: lower-cased (SPEC §4).
pub fn canonical_name(name: &str) -> String {
    name.to_lowercase()
}

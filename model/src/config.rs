//! Bounded configurations: the shape of the cluster, the names, passwords and other values in
//! play, the policy, and the families switched on.
//!
//! Bounds versus limits: the bounds here (names, passwords, key ids, pool sizes) only disable
//! actions; the [`Policy`] limits are errors of the spec, and the presets set them below the
//! bounds so that every error code is reachable.

use crate::action::{Action, Op};
use crate::policy::{canonical_name, Policy};
use crate::state::*;
use crate::vocab::{Families, Family, KeyKind, Role};
use serde::{Deserialize, Serialize};

/// Sizes of the pools of objects that left an HSM (each at most the capacity's [`Capacity::POOL`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PoolBounds {
    /// Masked objects, the foreign one included.
    pub masked: u8,
    /// Wrapped keys.
    pub wrapped: u8,
    /// Ciphertexts.
    pub ciphertexts: u8,
    /// Signatures.
    pub signatures: u8,
}

/// A bounded configuration of the model.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Config {
    /// A name for reports (`default`, `small`, …).
    pub name: String,
    /// HSMs in the cluster (N ≥ 1).
    pub hsms: u8,
    /// Clients, each with one session per HSM.
    pub clients: u8,
    /// User names in play beside `admin` and `app_user`; interchangeable under symmetry. Each
    /// is sent as spelled here; the user it names is its lower-cased form (SPEC §3), and no two
    /// lower-case alike.
    pub names: Vec<String>,
    /// Names that fail validation, tried by CreateUser and Login.
    pub invalid_names: Vec<String>,
    /// Other spellings (upper- or mixed-case) of the valid names above, `admin` and `app_user`
    /// included: each names the same user as the name it lower-cases to. The random generator
    /// sends them; the checker does not (it enumerates each user once).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spellings: Vec<String>,
    /// The AU's password, set when the cluster is created.
    pub au_password: String,
    /// New passwords in play (valid and invalid); Login also tries `password` and the AU's.
    pub passwords: Vec<String>,
    /// The key-id counter's bound: GenerateKey and UnwrapKey are disabled past this id.
    pub key_ids: u8,
    /// Key kinds GenerateKey may ask for.
    pub kinds: Vec<KeyKind>,
    /// Whether Login tries wrong passwords (else only each user's current one, so no user is
    /// ever locked out).
    pub wrong_logins: bool,
    /// Whether GenerateKey tries non-extractable keys too.
    pub non_extractable: bool,
    /// Labels SetAttribute may set, beside the empty one keys start with.
    pub labels: Vec<String>,
    /// Data (plaintexts and messages) in play.
    pub data: Vec<String>,
    /// Pool sizes.
    pub pools: PoolBounds,
    /// The spec's limits.
    pub policy: Policy,
    /// The operation families switched on.
    pub families: Families,
    /// Steps run on a new cluster to reach the initial state (part of every trace).
    pub setup: Vec<Action>,
    /// Whether the checker reduces states under symmetry of clients, names and HSMs 1..N-1.
    pub symmetry: bool,
    /// A fault planted in `step` on purpose, for tests only (see [`crate::planted`]).
    #[cfg(any(test, feature = "planted"))]
    #[serde(skip)]
    pub planted: Option<crate::planted::Planted>,
}

impl Config {
    /// The HSMs and clients the configuration uses.
    pub fn shape(&self) -> crate::packed::Shape {
        crate::packed::Shape {
            hsms: self.hsms as usize,
            clients: self.clients as usize,
        }
    }

    /// The number of valid user names (`admin`, `app_user` and [`Config::names`]).
    pub fn valid_name_count(&self) -> usize {
        2 + self.names.len()
    }

    /// Every name id the checker puts in play: each valid name once (the ids a user can have)
    /// and the invalid ones; not [`Config::spellings`].
    pub fn name_ids(&self) -> impl Iterator<Item = NameId> {
        (0..self.spelling_start() as u8).map(NameId)
    }

    /// The ids a user can have: `admin`, `app_user` and [`Config::names`].
    pub fn user_ids(&self) -> impl Iterator<Item = NameId> {
        (0..self.valid_name_count() as u8).map(NameId)
    }

    /// Every name id of the table, [`Config::spellings`] included.
    pub fn spelled_name_ids(&self) -> impl Iterator<Item = NameId> {
        (0..(self.spelling_start() + self.spellings.len()) as u8).map(NameId)
    }

    /// The id of the first of [`Config::spellings`]: they follow the invalid names.
    fn spelling_start(&self) -> usize {
        self.valid_name_count() + self.invalid_names.len()
    }

    /// The text of a name id, as the table spells it (what is sent).
    pub fn name_text(&self, name: NameId) -> String {
        let i = name.index();
        let valid = self.valid_name_count();
        let spellings = self.spelling_start();
        match i {
            0 => "admin".to_string(),
            1 => "app_user".to_string(),
            _ if i < valid => self.names[i - 2].clone(),
            _ if i < spellings => self.invalid_names[i - valid].clone(),
            _ => self
                .spellings
                .get(i - spellings)
                .cloned()
                .unwrap_or_else(|| format!("<name {i}>")),
        }
    }

    /// SPEC §3 "a name is lower-cased first, then validated", in one place: the user a name
    /// sent in an action names (its id among `admin`, `app_user` and [`Config::names`]), or
    /// `None` when the name, lower-cased, is not valid. Every name argument of `step` goes
    /// through here; the state holds only the ids it answers.
    pub fn user_named(&self, sent: NameId) -> Option<NameId> {
        let i = sent.index();
        if i < self.valid_name_count() {
            // The table's own valid names: valid, and no two alike, once lower-cased
            // (`validate`).
            return Some(sent);
        }
        if i < self.spelling_start() || i >= self.spelling_start() + self.spellings.len() {
            return None;
        }
        // A spelling: the valid name of the table it lower-cases to, if any.
        let canonical = canonical_name(&self.name_text(sent));
        (0..self.valid_name_count() as u8)
            .map(NameId)
            .find(|&n| self.stored_name(n) == canonical)
    }

    /// The name of user `user` as an HSM stores, shows and compares it: lower-cased (SPEC §4).
    pub fn stored_name(&self, user: NameId) -> String {
        canonical_name(&self.name_text(user))
    }

    /// Every password id in play.
    pub fn password_ids(&self) -> impl Iterator<Item = PasswordId> {
        (0..(2 + self.passwords.len()) as u8).map(PasswordId)
    }

    /// The text of a password.
    pub fn password_text(&self, p: PasswordId) -> String {
        match p.index() {
            0 => "password".to_string(),
            1 => self.au_password.clone(),
            i => self
                .passwords
                .get(i - 2)
                .cloned()
                .unwrap_or_else(|| format!("<password {i}>")),
        }
    }

    /// Whether a password id is a valid new password under the policy.
    pub fn password_is_valid(&self, p: PasswordId) -> bool {
        // Borrowed, not `password_text`: the checker asks this for every candidate
        // ChangePassword, CreateUser and ChangeOwnPassword, and an allocation per call showed
        // in its profile.
        let text = match p.index() {
            0 => "password",
            1 => self.au_password.as_str(),
            i => match self.passwords.get(i - 2) {
                Some(t) => t.as_str(),
                None => return false,
            },
        };
        self.policy.password_is_valid(text)
    }

    /// The text of a label (0 is the empty label).
    pub fn label_text(&self, l: LabelId) -> String {
        match l.index() {
            0 => String::new(),
            i => self
                .labels
                .get(i - 1)
                .cloned()
                .unwrap_or_else(|| format!("<label {i}>")),
        }
    }

    /// The text of a datum.
    pub fn data_text(&self, d: DataId) -> String {
        self.data
            .get(d.index())
            .cloned()
            .unwrap_or_else(|| format!("<data {}>", d.0))
    }

    /// Whether `family` is switched on.
    pub fn has(&self, family: Family) -> bool {
        self.families.contains(family)
    }

    /// Checks that the configuration fits the checker's capacity ([`Small`]) and is
    /// self-consistent.
    pub fn validate(&self) -> Result<(), crate::Error> {
        self.validate_for::<Small>()
    }

    /// Checks that the configuration fits capacity `C` and is self-consistent.
    pub fn validate_for<C: Capacity>(&self) -> Result<(), crate::Error> {
        let fail = |m: String| Err(crate::Error::InvalidConfig(m));
        let (max_hsms, max_clients, max_names) = (C::HSMS, C::CLIENTS, C::NAMES);
        let (max_key_ids, pool, max_passwords, max_values) =
            (C::KEY_IDS, C::POOL, C::PASSWORDS, C::VALUES);
        if !(1..=max_hsms as u8).contains(&self.hsms) {
            return fail(format!("hsms must be 1..={max_hsms}, not {}", self.hsms));
        }
        if !(1..=max_clients as u8).contains(&self.clients) {
            return fail(format!(
                "clients must be 1..={max_clients}, not {}",
                self.clients
            ));
        }
        if self.valid_name_count() > max_names {
            return fail(format!(
                "at most {} names beside admin and app_user, not {}",
                max_names - 2,
                self.names.len()
            ));
        }
        if self.invalid_names.len() > 3 {
            return fail("at most 3 invalid names".into());
        }
        let mut seen = vec!["admin".to_string(), "app_user".to_string()];
        for n in &self.names {
            if !self.policy.name_is_valid(n) {
                return fail(format!("name `{n}` is not valid under the policy"));
            }
            let c = canonical_name(n);
            if seen.contains(&c) {
                return fail(format!("name `{n}` appears twice"));
            }
            seen.push(c);
        }
        for n in &self.invalid_names {
            if self.policy.name_is_valid(n) {
                return fail(format!("invalid name `{n}` is valid under the policy"));
            }
        }
        if self.spellings.len() > 8 {
            return fail("at most 8 spellings".into());
        }
        for n in &self.spellings {
            if !seen.contains(&canonical_name(n)) {
                return fail(format!(
                    "spelling `{n}` lower-cases to no valid name of the table"
                ));
            }
        }
        if self.passwords.len() > max_passwords {
            return fail(format!("at most {max_passwords} passwords"));
        }
        if !self.policy.password_is_valid(&self.au_password) {
            return fail("the AU's password must be valid under the policy".into());
        }
        if self.key_ids as usize > max_key_ids {
            return fail(format!("key_ids must be at most {max_key_ids}"));
        }
        if self.labels.len() > max_values || self.data.is_empty() || self.data.len() > max_values {
            return fail(format!(
                "1 to {max_values} data, at most {max_values} labels"
            ));
        }
        if self.kinds.is_empty() {
            return fail("at least one key kind".into());
        }
        let p = self.pools;
        if [p.masked, p.wrapped, p.ciphertexts, p.signatures]
            .iter()
            .any(|&b| b as usize > pool)
        {
            return fail(format!("pool bounds must be at most {pool}"));
        }
        if p.masked < 1 {
            return fail("the masked pool holds the foreign object: at least 1".into());
        }
        if self.policy.lockout_threshold == 0 {
            return fail("lockout threshold must be at least 1".into());
        }
        Ok(())
    }

    /// A configuration with every family, for tests to narrow.
    fn base(name: &str) -> Config {
        Config {
            name: name.to_string(),
            hsms: 2,
            clients: 2,
            names: vec!["alice".into(), "bob".into(), "carol".into()],
            invalid_names: vec!["Bad Name!".into()],
            spellings: vec![],
            au_password: "appliance-pw".into(),
            passwords: vec!["secret-one".into(), "short".into()],
            key_ids: 2,
            kinds: vec![KeyKind::Aes256, KeyKind::Signing],
            non_extractable: false,
            wrong_logins: true,
            labels: vec![],
            data: vec!["hello".into()],
            pools: PoolBounds {
                masked: 2,
                wrapped: 1,
                ciphertexts: 1,
                signatures: 1,
            },
            policy: Policy {
                name_max_chars: 31,
                password_min_chars: 8,
                password_max_chars: 32,
                lockout_threshold: 2,
                max_shares: 1,
                max_users: 4,
                max_keys: 2,
            },
            families: Families::all(),
            setup: vec![],
            symmetry: true,
            #[cfg(any(test, feature = "planted"))]
            planted: None,
        }
    }

    /// The default configuration of `hsmspec check`: every family at once, 2 HSMs, 2 clients,
    /// 3 names, 2 key ids.
    pub fn default_config() -> Config {
        let mut cfg = Config::base("default");
        // Counters 0 and 1 only: lockout on the first failure keeps every lockout path while
        // halving each user's counter states (see docs/decisions.md).
        cfg.policy.lockout_threshold = 1;
        cfg
    }

    /// Every family in one configuration, small enough for the default suite (#17): the
    /// shape of `default` cut to 1 client, 2 names and 1 key id, right passwords only.
    /// What it cannot reach is listed in docs/performance.md with the suite member that does.
    pub fn families() -> Config {
        let mut cfg = Config::default_config();
        cfg.name = "families".into();
        cfg.clients = 1;
        cfg.names.truncate(2);
        cfg.key_ids = 1;
        cfg.wrong_logins = false;
        cfg
    }

    /// The target all-families shape of #17 (`--config all`): `default` with 2 names and 1 key
    /// id (2 HSMs, 2 clients, AES-256 and signing keys, wrong passwords tried). It does not
    /// finish within the suite's time (see docs/performance.md).
    pub fn all_families() -> Config {
        let mut cfg = Config::default_config();
        cfg.name = "all".into();
        cfg.names.truncate(2);
        cfg.key_ids = 1;
        cfg
    }

    /// A small configuration for quick runs: 1 client.
    pub fn small() -> Config {
        Config {
            name: "small".into(),
            clients: 1,
            ..Config::base("small")
        }
    }

    /// A larger configuration: the `keys` concern with three clients, each logged in as its own
    /// CU, and larger pools.
    pub fn large() -> Config {
        let mut cfg = Config {
            name: "large".into(),
            clients: 3,
            pools: PoolBounds {
                masked: 2,
                wrapped: 2,
                ciphertexts: 2,
                signatures: 2,
            },
            ..Config::keys()
        };
        cfg.setup = cfg.activated_setup(
            &[
                (0, Role::CryptoUser),
                (1, Role::CryptoUser),
                (2, Role::CryptoUser),
            ],
            &[(0, 0), (1, 1), (2, 2)],
        );
        cfg
    }

    /// The preset called `name`.
    pub fn preset(name: &str) -> Option<Config> {
        match name {
            "default" => Some(Config::default_config()),
            "small" => Some(Config::small()),
            "families" => Some(Config::families()),
            "all" => Some(Config::all_families()),
            "large" => Some(Config::large()),
            "accounts" => Some(Config::accounts()),
            "lifecycle" => Some(Config::lifecycle()),
            "keys" => Some(Config::keys()),
            "masking" => Some(Config::masking()),
            _ => None,
        }
    }

    /// Names of the presets.
    pub const PRESETS: [&'static str; 9] = [
        "small",
        "families",
        "all",
        "default",
        "large",
        "accounts",
        "lifecycle",
        "keys",
        "masking",
    ];

    /// One concern: sessions, passwords and users on a new cluster of one HSM (activation,
    /// lockout, every user-management error).
    pub fn accounts() -> Config {
        Config {
            name: "accounts".into(),
            hsms: 1,
            clients: 2,
            names: vec!["alice".into(), "bob".into()],
            families: [
                Family::Sessions,
                Family::Cluster,
                Family::Passwords,
                Family::Users,
                Family::Masking,
            ]
            .into_iter()
            .collect(),
            policy: Policy {
                max_users: 3,
                ..Config::base("").policy
            },
            ..Config::base("accounts")
        }
    }

    /// One concern: zeroize and clone on a new cluster of three HSMs, one client.
    pub fn lifecycle() -> Config {
        Config {
            name: "lifecycle".into(),
            hsms: 3,
            clients: 1,
            names: vec![],
            families: [
                Family::Sessions,
                Family::Cluster,
                Family::Passwords,
                Family::Lifecycle,
                // No CU can exist here: these only show that the others are refused.
                Family::Keys,
                Family::Crypto,
            ]
            .into_iter()
            .collect(),
            ..Config::base("lifecycle")
        }
    }

    /// One concern: key management and crypto by two CUs logged in on an activated HSM.
    pub fn keys() -> Config {
        let mut cfg = Config {
            name: "keys".into(),
            hsms: 1,
            clients: 2,
            names: vec!["alice".into(), "bob".into(), "carol".into()],
            kinds: KeyKind::ALL.to_vec(),
            non_extractable: true,
            labels: vec!["label-a".into()],
            key_ids: 2,
            families: [Family::Keys, Family::Crypto].into_iter().collect(),
            symmetry: false,
            policy: Policy {
                max_users: 5,
                ..Config::base("").policy
            },
            ..Config::base("keys")
        };
        cfg.setup = cfg.activated_setup(
            &[
                (0, Role::CryptoUser),
                (1, Role::CryptoUser),
                (2, Role::CryptoUser),
            ],
            &[(0, 0), (1, 1)],
        );
        cfg
    }

    /// One concern: masked objects, sync and clone between two HSMs of an activated cluster
    /// with two CUs (D9, D12, a shared key used on a cloned HSM).
    pub fn masking() -> Config {
        let mut cfg = Config {
            name: "masking".into(),
            hsms: 2,
            clients: 1,
            names: vec!["alice".into(), "bob".into()],
            key_ids: 1,
            kinds: vec![KeyKind::Aes256],
            families: [
                Family::Sessions,
                Family::Users,
                Family::Keys,
                Family::Crypto,
                Family::Masking,
                Family::Lifecycle,
            ]
            .into_iter()
            .collect(),
            pools: PoolBounds {
                masked: 2,
                wrapped: 0,
                ciphertexts: 1,
                signatures: 0,
            },
            wrong_logins: false,
            ..Config::base("masking")
        };
        cfg.setup = cfg.activated_setup(&[(0, Role::CryptoUser), (1, Role::CryptoUser)], &[]);
        cfg
    }

    /// Setup steps that activate the cluster by client 0 on HSM 0 (PRECO login and
    /// ChangeOwnPassword to the first configured password), then create `users` (name index
    /// among [`Config::names`], role) with that password, then log `logins` in as
    /// (client, name index) on HSM 0, and finally log the admin out.
    pub fn activated_setup(&self, users: &[(usize, Role)], logins: &[(u8, usize)]) -> Vec<Action> {
        let h0 = HsmId(0);
        let c0 = ClientId(0);
        let pw = PasswordId(2);
        let mut steps = vec![
            Action {
                client: c0,
                hsm: h0,
                op: Op::Login {
                    name: ADMIN,
                    password: PRECO_PASSWORD,
                },
            },
            Action {
                client: c0,
                hsm: h0,
                op: Op::ChangeOwnPassword { password: pw },
            },
        ];
        for &(n, role) in users {
            steps.push(Action {
                client: c0,
                hsm: h0,
                op: Op::CreateUser {
                    name: NameId(2 + n as u8),
                    role,
                    password: pw,
                },
            });
        }
        steps.push(Action {
            client: c0,
            hsm: h0,
            op: Op::Logout,
        });
        for &(c, n) in logins {
            steps.push(Action {
                client: ClientId(c),
                hsm: h0,
                op: Op::Login {
                    name: NameId(2 + n as u8),
                    password: pw,
                },
            });
        }
        steps
    }
}

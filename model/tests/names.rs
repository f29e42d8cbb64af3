//! SPEC §3 "a name is lower-cased first, then validated": every spelling of a name is the same
//! user, the state holds users' ids only, ListUsers sorts by the lower-cased name, and the
//! checker enumerates each user once (spellings add no action and no state).

use hsm_model::action::{Action, Observation, Op, UserEntry};
use hsm_model::run::{check, CheckOptions};
use hsm_model::state::{ClientId, HsmId, NameId, PasswordId, State, ADMIN, PRECO_PASSWORD};
use hsm_model::{Config, ErrorCode, Role};

/// `Zed` and `bob`, spelled `ZED`, `Bob` and `ADMIN` too; `Bad Name!` is invalid.
fn cfg() -> Config {
    let mut c = Config::accounts();
    c.names = vec!["Zed".into(), "bob".into()];
    c.invalid_names = vec!["Bad Name!".into()];
    c.spellings = vec!["ZED".into(), "Bob".into(), "ADMIN".into()];
    c.policy.max_users = 5;
    c.validate().expect("valid");
    c
}

const ZED: NameId = NameId(2);
const BOB: NameId = NameId(3);
const BAD: NameId = NameId(4);
const ZED_UPPER: NameId = NameId(5);
const BOB_MIXED: NameId = NameId(6);
const ADMIN_UPPER: NameId = NameId(7);
const PW: PasswordId = PasswordId(2);

fn act(op: Op) -> Action {
    Action {
        client: ClientId(0),
        hsm: HsmId(0),
        op,
    }
}

fn create(name: NameId) -> Action {
    act(Op::CreateUser {
        name,
        role: Role::CryptoUser,
        password: PW,
    })
}

/// Runs `actions` from a new cluster; the outcome of the last and the state after it.
fn run(c: &Config, actions: &[Action]) -> (hsm_model::Outcome, State) {
    let mut s = State::new_cluster();
    let mut out = Ok(Observation::Done);
    for a in actions {
        let (o, next) = c.step(&s, a);
        out = o;
        s = next;
    }
    (out, s)
}

fn activated() -> Vec<Action> {
    vec![
        act(Op::Login {
            name: ADMIN,
            password: PRECO_PASSWORD,
        }),
        act(Op::ChangeOwnPassword { password: PW }),
    ]
}

#[test]
fn a_spelling_names_the_user_it_lower_cases_to() {
    let c = cfg();
    assert_eq!(c.user_named(ZED), Some(ZED));
    assert_eq!(c.user_named(ZED_UPPER), Some(ZED));
    assert_eq!(c.user_named(BOB_MIXED), Some(BOB));
    assert_eq!(c.user_named(ADMIN_UPPER), Some(ADMIN));
    assert_eq!(c.user_named(BAD), None);
    assert_eq!(c.user_named(NameId(8)), None, "beyond the table");
    assert_eq!(c.user_named(NameId(255)), None);
    assert_eq!(c.stored_name(ZED), "zed");
    assert_eq!(c.name_text(ZED), "Zed", "sent as spelled");
}

#[test]
fn list_users_sorts_by_the_lower_cased_name() {
    let c = cfg();
    let mut steps = activated();
    steps.extend([create(ZED), create(BOB), act(Op::ListUsers)]);
    let (out, _) = run(&c, &steps);
    let entry = |name, role| UserEntry {
        name,
        role,
        locked: false,
    };
    assert_eq!(
        out,
        Ok(Observation::Users(vec![
            entry(ADMIN, Role::CryptoOfficer),
            entry(NameId(1), Role::ApplianceUser),
            entry(BOB, Role::CryptoUser),
            entry(ZED, Role::CryptoUser),
        ]))
    );
}

#[test]
fn two_spellings_are_one_user() {
    let c = cfg();
    // Created as `Bob`, it is bob: creating `bob` again is UserExists, `ZED` is zed.
    let mut steps = activated();
    steps.push(create(BOB_MIXED));
    let (_, s) = run(&c, &steps);
    assert!(s.hsms[0].user(BOB).is_some(), "stored as the user's id");
    assert!(s.hsms[0]
        .users()
        .all(|(n, _)| n.index() < c.valid_name_count()));
    steps.push(create(BOB));
    assert_eq!(run(&c, &steps).0, Err(ErrorCode::UserExists));
    // The PRECO logs in as `ADMIN`; a CU as `ZED` after being created as `Zed`.
    let login = |name| {
        act(Op::Login {
            name,
            password: PRECO_PASSWORD,
        })
    };
    assert_eq!(
        run(&c, &[login(ADMIN_UPPER)]).0,
        Ok(Observation::LoggedIn(Role::PreCryptoOfficer))
    );
    let mut steps = activated();
    steps.extend([
        create(ZED),
        act(Op::Logout),
        act(Op::Login {
            name: ZED_UPPER,
            password: PW,
        }),
    ]);
    let (out, s) = run(&c, &steps);
    assert_eq!(out, Ok(Observation::LoggedIn(Role::CryptoUser)));
    assert_eq!(s.session(ClientId(0), HsmId(0)), Some(ZED));
    // An invalid name stays invalid in any spelling.
    let mut steps = activated();
    steps.push(create(BAD));
    assert_eq!(run(&c, &steps).0, Err(ErrorCode::InvalidName));
}

#[test]
fn the_table_holds_each_name_once_and_spellings_of_its_names_only() {
    let mut c = cfg();
    c.names = vec!["alice".into(), "Alice".into()];
    c.spellings = vec![];
    assert!(c.validate().is_err(), "alice twice");
    let mut c = cfg();
    c.spellings = vec!["Carol".into()];
    assert!(c.validate().is_err(), "a spelling of no name of the table");
    let mut c = cfg();
    c.spellings = vec!["BAD NAME!".into()];
    assert!(c.validate().is_err(), "a spelling of an invalid name");
}

/// Spellings are not enumerated: the same configuration with and without them has the same
/// states and transitions.
#[test]
fn spellings_add_no_state() {
    let with = cfg();
    let mut without = with.clone();
    without.spellings.clear();
    let opts = CheckOptions::default();
    let a = check(&with, &opts).expect("runs");
    let b = check(&without, &opts).expect("runs");
    assert!(a.complete && b.complete);
    assert_eq!(a.unique_states, b.unique_states);
    assert_eq!(a.total_states, b.total_states);
}

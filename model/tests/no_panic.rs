//! The step function never panics, whatever the action, in any reachable state: random walks
//! from the initial state, then arbitrary actions (ids out of range included).

use hsm_model::action::{Action, Op};
use hsm_model::state::*;
use hsm_model::{Config, HsmModel, KeyKind, Role};
use proptest::prelude::*;
use stateright::Model;

fn any_role() -> impl Strategy<Value = Role> {
    prop_oneof![
        Just(Role::PreCryptoOfficer),
        Just(Role::CryptoOfficer),
        Just(Role::CryptoUser),
        Just(Role::ApplianceUser)
    ]
}

fn any_kind() -> impl Strategy<Value = KeyKind> {
    prop_oneof![
        Just(KeyKind::Aes256),
        Just(KeyKind::HmacSha256),
        Just(KeyKind::Signing)
    ]
}

fn any_op() -> impl Strategy<Value = Op> {
    let n = any::<u8>().prop_map(NameId);
    let p = any::<u8>().prop_map(PasswordId);
    let k = any::<u8>().prop_map(KeyId);
    let d = any::<u8>().prop_map(DataId);
    let m = any::<u8>().prop_map(Material);
    prop_oneof![
        (n.clone(), p.clone()).prop_map(|(name, password)| Op::Login { name, password }),
        Just(Op::Logout),
        Just(Op::GetClusterInfo),
        Just(Op::ListUsers),
        Just(Op::Zeroize),
        p.clone()
            .prop_map(|password| Op::ChangeOwnPassword { password }),
        (n.clone(), p.clone()).prop_map(|(name, password)| Op::ChangePassword { name, password }),
        (n.clone(), any_role(), p.clone()).prop_map(|(name, role, password)| Op::CreateUser {
            name,
            role,
            password
        }),
        n.clone().prop_map(|name| Op::DeleteUser { name }),
        Just(Op::GetSyncStatus),
        k.clone().prop_map(|key| Op::ExtractMasked { key }),
        (k.clone(), n.clone()).prop_map(|(id, owner)| Op::InsertMasked {
            object: MaskedObject::Sealed(KeyRecord {
                id,
                key: Key {
                    kind: KeyKind::Aes256,
                    material: Material(id.0),
                    owner,
                    shares: NameSet::default(),
                    extractable: true,
                    label: LabelId(0),
                },
            }),
        }),
        any::<u8>().prop_map(|h| Op::Clone { from: HsmId(h) }),
        (any_kind(), any::<bool>())
            .prop_map(|(kind, extractable)| Op::GenerateKey { kind, extractable }),
        k.clone().prop_map(|key| Op::DeleteKey { key }),
        (k.clone(), n.clone()).prop_map(|(key, name)| Op::ShareKey { key, name }),
        (k.clone(), n.clone()).prop_map(|(key, name)| Op::UnshareKey { key, name }),
        (k.clone(), any::<u8>()).prop_map(|(key, l)| Op::SetAttribute {
            key,
            label: LabelId(l)
        }),
        (k.clone(), k.clone()).prop_map(|(key, wrapping)| Op::WrapKey { key, wrapping }),
        (any_kind(), m.clone(), m.clone(), k.clone()).prop_map(
            |(kind, material, under, wrapping)| {
                Op::UnwrapKey {
                    wrapped: WrappedKey::Wrapped {
                        kind,
                        material,
                        under,
                    },
                    wrapping,
                }
            }
        ),
        (k.clone(), d.clone()).prop_map(|(key, data)| Op::Encrypt { key, data }),
        (k.clone(), m.clone(), d.clone()).prop_map(|(key, material, data)| Op::Decrypt {
            key,
            ciphertext: Ciphertext::Made { material, data }
        }),
        (k.clone(), d.clone()).prop_map(|(key, data)| Op::Sign { key, data }),
        (k.clone(), d.clone(), m).prop_map(|(key, data, material)| Op::Verify {
            key,
            data,
            signature: Signature::Made { material, data }
        }),
        (k, d.clone()).prop_map(|(key, data)| Op::Hmac { key, data }),
        d.prop_map(|data| Op::Digest { data }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn step_never_panics(
        walk in proptest::collection::vec(any::<u16>(), 0..40),
        client in 0u8..4,
        hsm in 0u8..4,
        op in any_op(),
        preset in 0usize..4,
    ) {
        let mut cfg = [Config::masking(), Config::keys(), Config::accounts(), Config::default_config()][preset].clone();
        // Spellings in the table, so that name ids past the invalid names are spellings too.
        cfg.spellings = vec!["ALICE".into(), "Bob".into(), "Admin".into()];
        let model = HsmModel::new(cfg.clone()).unwrap();
        let mut s = model.setup_state().unwrap();
        let mut actions = Vec::new();
        for choice in walk {
            actions.clear();
            model.actions(&s, &mut actions);
            if actions.is_empty() { break; }
            let a = actions[choice as usize % actions.len()];
            s = cfg.step(&s, &a).1;
        }
        let action = Action { client: ClientId(client), hsm: HsmId(hsm), op };
        let (outcome, next) = cfg.step(&s, &action);
        // An error changes nothing, but a failed Login's counter.
        if outcome.is_err() && !matches!(op, Op::Login { .. }) {
            prop_assert_eq!(next, s);
        }
    }
}

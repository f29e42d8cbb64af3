//! The scenario format: what it reads, what it refuses and where, and that v1 traces convert.

use super::*;
use crate::vocab::ErrorCode;

const SHARE: &str = r#"scenario: a CU cannot share a key beyond the share limit
policy: shares 1

admin: Login admin password                 -> ok PRECO
admin: ChangeOwnPassword "officer-pw-1"     -> ok
admin: CreateUser alice CU "alice-pw-01"    -> ok
admin: CreateUser bob CU "bob-pw-0001"      -> ok
admin: CreateUser carol CU "carol-pw-01"    -> ok
alice: Login alice "alice-pw-01"            -> ok CU
alice: k1 = GenerateKey aes                 -> ok
alice: ShareKey k1 bob                      -> ok
alice: ShareKey k1 carol                    -> ShareLimit
alice: blob = ExtractMasked k1              -> ok
alice: DeleteKey k1                         -> ok
alice: InsertMasked blob                    -> ok k1
alice: GetSyncStatus                        -> ok [k1]
admin: ListUsers -> ok [admin CO, alice CU, app_user AU, bob CU, carol CU]
"#;

fn mistake(text: &str) -> (usize, usize, String) {
    match Scenario::compile(text) {
        Err(Error::Scenario {
            line,
            column,
            message,
        }) => (line, column, message),
        other => panic!("expected a mistake, got {other:?}"),
    }
}

#[test]
fn a_scenario_runs_on_the_model_into_a_trace_with_its_outcomes() {
    let c = Scenario::compile(SHARE).expect("the scenario agrees with the model");
    assert_eq!(c.trace.steps.len(), 14);
    assert_eq!(c.trace.config.clients, 2);
    assert_eq!(c.trace.config.names, ["alice", "bob", "carol"]);
    assert_eq!(c.trace.config.policy.max_shares, 1);
    assert_eq!(c.trace.config.policy.lockout_threshold, 5);
    assert_eq!(c.trace.steps[8].outcome, Some(Err(ErrorCode::ShareLimit)));
    assert_eq!(c.pos_of(9).map(|p| p.line), Some(12));
    // The trace reads back as a v1 trace and replays on the model alike.
    let back = Trace::from_json(&c.trace.to_json()).expect("a valid v1 trace");
    back.replay_model().expect("its outcomes are the model's");
}

#[test]
fn a_wrong_expectation_names_its_line_and_both_outcomes() {
    let wrong = SHARE.replace(
        "carol                    -> ShareLimit",
        "carol                    -> ok",
    );
    match Scenario::compile(&wrong) {
        Err(Error::ScenarioDisagrees {
            line,
            expected,
            model,
            ..
        }) => {
            assert_eq!(line, 12);
            assert_eq!(expected, "ok");
            assert_eq!(model, "ShareLimit");
        }
        other => panic!("{other:?}"),
    }
    let wrong = SHARE.replace("-> ok [k1]", "-> ok []");
    let e = Scenario::compile(&wrong).unwrap_err().to_string();
    assert!(
        e.contains("line 16") && e.contains("`ok []`") && e.contains("`ok [k1]`"),
        "{e}"
    );
}

#[test]
fn mistakes_in_the_file_are_reported_with_line_and_column() {
    let (l, c, m) = mistake(&SHARE.replace("ShareKey k1 bob", "ShareKey k2 bob"));
    assert_eq!((l, c), (11, 17));
    assert!(
        m.contains("`k2` is bound by no earlier step") && m.contains("k1"),
        "{m}"
    );
    let (l, c, m) = mistake(&SHARE.replace("ShareKey k1 bob", "SharKey k1 bob"));
    assert_eq!((l, c), (11, 8));
    assert!(m.contains("did you mean `ShareKey`"), "{m}");
    let (l, _, m) = mistake(&SHARE.replace("-> ShareLimit", "-> SharesLimit"));
    assert_eq!(l, 12);
    assert!(m.contains("did you mean `ShareLimit`"), "{m}");
    let (l, _, m) = mistake(&SHARE.replace("InsertMasked blob", "InsertMasked k1"));
    assert_eq!(l, 15);
    assert!(
        m.contains("`k1` is a key (bound at line 10), not a masked object"),
        "{m}"
    );
    let (l, _, m) = mistake(&SHARE.replace("policy: shares 1", "policy: share 1"));
    assert_eq!(l, 2);
    assert!(m.contains("did you mean `shares`"), "{m}");
    let (l, _, m) = mistake(&SHARE.replace("ShareKey k1 bob  ", "ShareKey k1"));
    assert_eq!(l, 11);
    assert!(m.contains("takes 2 arguments, not 1"), "{m}");
    let (l, _, m) = mistake(&SHARE.replace("alice: blob =", "alice: k1 ="));
    assert_eq!(l, 13);
    assert!(m.contains("bound already, at line 10"), "{m}");
}

#[test]
fn the_model_capacity_is_a_mistake_of_the_file_not_an_error_of_the_hsm() {
    let mut text =
        String::from("scenario: too many names\nadmin: Login admin password -> ok PRECO\n");
    // The large capacity holds 16 names beside admin and app_user: the 17th is the mistake.
    for n in 'a'..='q' {
        text.push_str(&format!(
            "admin: CreateUser {n} CU \"password-{n}1\" -> NotLoggedIn\n"
        ));
    }
    let (l, c, m) = mistake(&text);
    assert_eq!((l, c), (19, 19));
    assert!(
        m.contains("17th user name") && m.contains("at most 16"),
        "{m}"
    );
}

#[test]
fn a_v1_trace_converts_to_a_scenario_with_the_same_outcomes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/traces");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("committed traces") {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let trace = Trace::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let text = to_scenario(&trace).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let back =
            Scenario::compile(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
        let want = Trace::new(&trace.name, &trace.config, trace.steps.clone())
            .replay_model()
            .unwrap();
        let got: Vec<_> = back
            .steps
            .iter()
            .map(|s| s.outcome.clone().map_err(|e| e.name()))
            .collect();
        let want: Vec<_> = want.into_iter().map(|o| o.map_err(|e| e.name())).collect();
        assert_eq!(got.len(), want.len(), "{}", path.display());
        // Errors must be the same codes; Ok answers were held to the written expectations
        // (full ones: the converter writes what the model showed) by `compile` itself.
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(
                g.as_ref().err(),
                w.as_ref().err(),
                "{}\n{text}",
                path.display()
            );
        }
        // And every outcome, Ok answers included, reads the same in words (names, keys and
        // objects as text: the scenario numbers its names in another order than the trace).
        let original = Trace::new(&trace.name, &trace.config, trace.steps.clone())
            .replay_model()
            .unwrap();
        for (i, (s, o)) in back.steps.iter().zip(&original).enumerate() {
            assert_eq!(
                crate::story::outcome_text(&back.trace.config, &s.outcome),
                crate::story::outcome_text(&trace.config, o),
                "{} step {}\n{text}",
                path.display(),
                i + 1
            );
        }
        n += 1;
    }
    assert!(n >= 10, "{n} traces");
}

#[test]
#[ignore = "prints a converted trace, for people"]
fn print_a_converted_trace() {
    let path = std::env::var("TRACE").unwrap();
    let trace = Trace::from_json(&std::fs::read_to_string(path).unwrap()).unwrap();
    println!("{}", to_scenario(&trace).unwrap());
}

mod no_panic {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Any text is a scenario, a mistake or a disagreement: never a panic.
        #[test]
        fn any_text_is_read_without_panicking(text in "\\PC{0,200}") {
            let _ = Scenario::compile(&text);
        }

        /// A valid scenario with a stretch cut out or a character put in reads without
        /// panicking, and a mistake names a line of the text.
        #[test]
        fn a_damaged_scenario_is_read_without_panicking(
            cut in 0usize..SHARE.len(),
            len in 0usize..12,
            insert in proptest::sample::select(vec!["", "#", "\"", "[", "]", "->", "=", "@9", ":", ",", "#99", "k1", "ok"]),
        ) {
            let mut text: String = SHARE.chars().take(cut).collect();
            text.push_str(insert);
            text.extend(SHARE.chars().skip(cut + len));
            match Scenario::compile(&text) {
                Err(Error::Scenario { line, column, .. }) | Err(Error::ScenarioDisagrees { line, column, .. }) => {
                    prop_assert!(line >= 1 && line <= text.lines().count().max(1));
                    prop_assert!(column >= 1);
                }
                _ => {}
            }
        }
    }
}

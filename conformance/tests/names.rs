//! The random generator sends names in mixed case often enough (SPEC §3: names are lower-cased,
//! then validated), and a trace records the spelling it sent.

use hsm_conformance::generate::{case_seed, runner_config, Generator, Rng};
use std::collections::BTreeSet;

#[test]
fn generated_traces_send_every_spelling_about_one_name_in_four() {
    let cfg = runner_config();
    assert!(!cfg.spellings.is_empty());
    let gen = Generator::new(&cfg).expect("valid configuration");
    let (mut names, mut respelled) = (0usize, 0usize);
    let mut sent = BTreeSet::new();
    for i in 0..200 {
        let mut rng = Rng::new(case_seed(20_261_101, i));
        let mut trace = gen.trace("names", 100, &mut rng);
        for step in &mut trace.steps {
            let Some(&mut name) = step.action.op.name_arg_mut() else {
                continue;
            };
            let Some(user) = cfg.user_named(name) else {
                continue;
            };
            // Every user has a second spelling in the runner's table.
            names += 1;
            if name != user {
                respelled += 1;
                sent.insert(cfg.name_text(name));
            }
        }
    }
    let share = respelled as f64 / names as f64;
    println!("{respelled} of {names} valid names sent in another spelling ({share:.3})");
    assert!((0.18..0.32).contains(&share), "{share}");
    let all: BTreeSet<String> = cfg.spellings.iter().cloned().collect();
    assert_eq!(sent, all, "every spelling of the table is sent");
}

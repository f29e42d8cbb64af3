//! Prints the sizes of the model's state and its parts, and how long the packed encodings of
//! the first reachable states of a preset are (for docs/performance.md):
//! `cargo run --release -p hsm-model --example size -- [preset] [states]`.
use hsm_model::checker::HsmModel;
use hsm_model::packed::{ENCODED_MAX, PACKED_LEN};
use hsm_model::state::*;
use hsm_model::Config;
use stateright::Model;

fn main() {
    println!(
        "State {} B, Hsm {} B, Option<User> {} B, Option<Key> {} B, Option<MaskedObject> {} B, packed state at most {} B, encoded at most {} B",
        std::mem::size_of::<State>(),
        std::mem::size_of::<Hsm>(),
        std::mem::size_of::<Option<User>>(),
        std::mem::size_of::<Option<Key>>(),
        std::mem::size_of::<Option<MaskedObject>>(),
        PACKED_LEN,
        ENCODED_MAX,
    );
    let mut args = std::env::args().skip(1);
    let preset = args.next().unwrap_or_else(|| "default".into());
    let limit: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(200_000);
    let Some(cfg) = Config::preset(&preset) else {
        eprintln!("no preset `{preset}`");
        std::process::exit(2);
    };
    let shape = cfg.shape();
    let model = HsmModel::new(cfg).expect("valid preset");
    let mut seen = std::collections::HashSet::new();
    let mut queue: std::collections::VecDeque<State> = model.init_states().into();
    let (mut total, mut longest, mut count) = (0usize, 0usize, 0usize);
    let mut actions = Vec::new();
    while let Some(s) = queue.pop_front() {
        if count >= limit {
            break;
        }
        if !seen.insert(s) {
            continue;
        }
        let mut buf = [0u8; ENCODED_MAX];
        let n = s.encode(&mut buf, shape);
        total += n;
        longest = longest.max(n);
        count += 1;
        actions.clear();
        model.actions(&s, &mut actions);
        for a in actions.drain(..) {
            if let Some(next) = model.next_state(&s, a) {
                queue.push_back(next);
            }
        }
    }
    println!(
        "{preset}: first {count} states in BFS order: encoded {:.1} B on average, {longest} B at most",
        total as f64 / count.max(1) as f64
    );
}

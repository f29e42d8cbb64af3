//! The Explorer as a person meets it, through its HTTP interface: states are the cluster view
//! (names, roles, no Rust `Debug` of the model's types, no ghost history) under the
//! configuration, actions are sentences with their outcomes, paths keep their actors' names
//! (no symmetry renaming), and examples that are off say so.

use hsmspec::explore::{explore_config, ExplorerModel, DEFAULT_CONFIG};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// GET `path` from the Explorer on `port`, as JSON; retried while the server starts.
fn get(port: u16, path: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(mut s) => {
                s.set_read_timeout(Some(Duration::from_secs(20))).ok();
                write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("request");
                let mut text = String::new();
                s.read_to_string(&mut text).expect("response");
                let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
                return serde_json::from_str(body)
                    .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {text}"));
            }
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("the Explorer did not start: {e}"),
        }
    }
}

fn serve(config: &str) -> u16 {
    let args = hsmspec::check::ConfigArgs {
        config: config.into(),
        hsms: None,
        clients: None,
        names: None,
        keys: None,
        pool: None,
        ops: None,
        no_symmetry: false,
    };
    let model = ExplorerModel::new(explore_config(&args).expect("a configuration")).expect("valid");
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("its address").port();
    std::thread::spawn(move || hsmspec::explore::serve(model, listener));
    port
}

fn text(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap_or("").to_string()
}

/// What no state or action the Explorer serves may show: the model's types printed by Rust.
fn assert_no_debug(s: &str) {
    for bad in [
        "NameId",
        "PasswordId",
        "HsmGhost",
        "Some(",
        "None",
        "Hsm {",
        "User {",
    ] {
        assert!(!s.contains(bad), "`{bad}` in:\n{s}");
    }
}

#[test]
fn the_explorer_shows_names_roles_outcomes_and_the_configuration() {
    assert_eq!(DEFAULT_CONFIG, "accounts");
    // The suite is four configurations: `explore` serves the default one, which finishes.
    let port = serve("suite");
    let init = get(port, "/.states/");
    let init = &init.as_array().expect("the initial states")[0];
    let state = text(init, "state");
    assert!(state.contains("configuration `accounts`"), "{state}");
    assert!(state.contains("user admin: PRECO"), "{state}");
    assert!(state.contains("user app_user: AU"), "{state}");
    assert!(state.contains("sessions:\n  none logged in"), "{state}");
    assert_no_debug(&state);

    // The actions of the new cluster, each with its outcome.
    let next = get(port, "/.states/0");
    let next = next.as_array().expect("successors");
    let login = next
        .iter()
        .position(|v| {
            text(v, "action") == "client 1 @ HSM 0: Login as \"admin\", password \"password\""
        })
        .expect("client 1 can log in as admin");
    let step = &next[login];
    assert_eq!(
        text(step, "outcome").lines().next(),
        Some("→ Ok, logged in as PRECO")
    );
    assert!(text(step, "state").contains("client 1 on HSM 0: logged in as admin (PRECO)"));
    // The page shows the outcome field as the current state: it holds the cluster too.
    let shown = text(step, "outcome");
    assert!(
        shown.contains("+ sessions: client 1 on HSM 0: logged in as admin (PRECO)"),
        "{shown}"
    );
    assert!(
        shown.contains("the cluster after it (configuration `accounts`)"),
        "{shown}"
    );
    assert!(shown.contains("user admin: PRECO"), "{shown}");
    assert_no_debug(&shown);
    assert!(
        next.iter()
            .any(|v| text(v, "outcome").starts_with("→ BadCredentials")),
        "errors are offered with their outcome"
    );
    for v in next {
        assert_no_debug(&text(v, "state"));
        assert_no_debug(&text(v, "action"));
    }

    // A path keeps its actors: after client 1 logs in, its next step is still client 1's.
    let after = get(port, &format!("/.states/0/{login}"));
    let after = after.as_array().expect("successors");
    let change = after
        .iter()
        .find(|v| text(v, "action").starts_with("client 1 @ HSM 0: ChangeOwnPassword"))
        .expect("client 1 changes its password");
    assert!(text(change, "state").contains("cluster: activated"));
    assert!(text(change, "state").contains("client 1 on HSM 0: logged in as admin"));

    // The status names the configuration in words, not the wrapper's Rust type.
    let status = get(port, "/.status");
    let model = status["model"]
        .as_str()
        .expect("the status names the model");
    assert!(
        model.starts_with("configuration `accounts`: 1 HSM, ") && model.contains("policy: "),
        "{model}"
    );
    assert!(!model.contains("Model") && !model.contains("::"), "{model}");
    // Examples switched off in this configuration say so.
    let names: Vec<String> = status["properties"]
        .as_array()
        .expect("properties")
        .iter()
        .map(|p| p[1].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(names.len(), 15);
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("OFF in `accounts`") && n.contains("cloned HSM")),
        "{names:?}"
    );
    assert!(names
        .iter()
        .any(|n| n == "the PRECO can activate the cluster"));
}

#[test]
fn explore_takes_another_configuration_with_config() {
    let port = serve("lifecycle");
    let init = get(port, "/.states/");
    let state = text(&init[0], "state");
    assert!(state.contains("configuration `lifecycle`"), "{state}");
    assert!(state.contains("HSM 2: blank"), "{state}");
}

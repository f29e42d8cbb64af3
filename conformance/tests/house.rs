//! One job per package (D31): the runner library does not carry the command line's
//! dependencies.

/// The names in the `[dependencies]` table of this crate's manifest.
fn dependencies() -> Vec<String> {
    let manifest = include_str!("../Cargo.toml");
    let mut in_dependencies = false;
    let mut names = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
        } else if in_dependencies && !line.is_empty() && !line.starts_with('#') {
            if let Some((name, _)) = line.split_once(['=', '.']) {
                names.push(name.trim().to_string());
            }
        }
    }
    names
}

#[test]
fn the_runner_library_has_no_command_line_dependency() {
    let deps = dependencies();
    assert!(deps.contains(&"hsm-model".to_string()), "{deps:?}");
    for cli_only in ["clap", "indicatif", "plotters", "quick-junit", "humantime"] {
        assert!(
            !deps.iter().any(|d| d == cli_only),
            "hsm-conformance depends on {cli_only}, a dependency of the command line: {deps:?}"
        );
    }
}

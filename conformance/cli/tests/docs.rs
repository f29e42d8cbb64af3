//! The generated documentation: the permission table derived by exploring the model agrees
//! with SPEC §8 cell by cell, `docs/` is not stale, the generated text is pinned by insta
//! snapshots (a change of the spec shows up in review as a diff), and the traceability table
//! cites only functions, tests and faults that exist.
//!
//! The suite is explored once per test binary (about 5 s in release).

use hsm_impl::Fault;
use hsm_model::table::{self, Column};
use hsmspec::docs as docs_cli;
use hsmspec::links::LINKS;
use hsmspec::table::{derive_table, Derived, Exploration};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn exploration() -> &'static Exploration {
    static EX: OnceLock<Exploration> = OnceLock::new();
    EX.get_or_init(|| Exploration::suite().expect("the suite's configurations are valid"))
}

fn pages() -> &'static [(&'static str, String)] {
    static PAGES: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    PAGES.get_or_init(|| docs_cli::generate(exploration()).expect("pages generate"))
}

fn page(name: &str) -> &'static str {
    pages()
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| t.as_str())
        .expect("a generated page")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the workspace root")
        .to_path_buf()
}

#[test]
fn the_suite_violates_nothing() {
    assert_eq!(exploration().problems(), Vec::<String>::new());
}

#[test]
fn the_derived_table_is_spec_section_8() {
    let derived = derive_table(&exploration().triples());
    assert_eq!(derived.len(), table::Row::ALL.len());
    let mut wrong = Vec::new();
    for (row, cells) in &derived {
        for (column, got) in Column::ALL.iter().zip(cells) {
            let spec = table::cell(*row, *column);
            assert_ne!(*got, Derived::NotReached, "{row} / {column} not reached");
            if !got.agrees_with(spec) {
                wrong.push(format!(
                    "{row} / {column}: derived {}, SPEC {}",
                    got.text(),
                    spec.text()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "cells that disagree:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_json_table_is_row_id_to_column_id_to_a_boolean() {
    let ex = exploration();
    let derived = derive_table(&ex.triples());
    let json = hsmspec::table::table_document(&derived, ex);
    assert_eq!(json["schema"], "hsmspec-table/1");
    assert_eq!(json["verdict"]["status"], "PASS");
    let rows = json["table"].as_object().expect("one object");
    assert_eq!(rows.len(), table::Row::ALL.len());
    for row in table::Row::ALL {
        let cells = rows[row.id()].as_object().expect("row object");
        assert_eq!(cells.len(), Column::ALL.len());
        for column in Column::ALL {
            let want = match table::cell(row, column) {
                table::Cell::Yes => serde_json::json!(true),
                table::Cell::No => serde_json::json!(false),
                table::Cell::NotApplicable => serde_json::Value::Null,
            };
            assert_eq!(cells[column.id()], want, "{row} / {column}");
        }
    }
    assert_eq!(json["not_applicable"].as_array().map(Vec::len), Some(1));
    assert_eq!(json["not_reached"].as_array().map(Vec::len), Some(0));
}

#[test]
fn docs_are_not_stale() {
    let stale = docs_cli::stale(&root().join("docs"), pages());
    assert!(
        stale.is_empty(),
        "stale generated docs {stale:?}: run `cargo run --release -- docs` from the workspace root"
    );
}

#[test]
fn permissions_page_is_pinned() {
    insta::assert_snapshot!("permissions", page("permissions.md"));
}

#[test]
fn properties_page_is_pinned() {
    insta::assert_snapshot!("properties", page("properties.md"));
}

#[test]
fn traceability_page_is_pinned() {
    insta::assert_snapshot!("traceability", page("traceability.md"));
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn traceability_cites_only_what_exists() {
    let root = root();
    let fault_names: Vec<String> = Fault::ALL.iter().map(|f| format!("{f:?}")).collect();
    let mut missing = Vec::new();
    for link in LINKS {
        for (file, item) in link.model {
            let text = read(&root.join("model/src").join(file));
            let found = ["fn", "struct", "enum", "const"].iter().any(|kw| {
                text.contains(&format!("{kw} {item}("))
                    || text.contains(&format!("{kw} {item} "))
                    || text.contains(&format!("{kw} {item}<"))
            });
            if !found {
                missing.push(format!("model/src/{file}: {item}"));
            }
        }
        for (file, test) in link.tests {
            if !read(&root.join(file)).contains(&format!("fn {test}(")) {
                missing.push(format!("{file}: test {test}"));
            }
        }
        for fault in link.faults {
            if !fault_names.iter().any(|f| f == fault) {
                missing.push(format!("fault {fault}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "cited but not found:\n{}",
        missing.join("\n")
    );
}

#[test]
fn traceability_covers_every_decision_and_every_fault() {
    let decisions = read(&root().join("docs/decisions.md"));
    let numbers: Vec<String> = decisions
        .lines()
        .filter_map(|l| l.strip_prefix("| D"))
        .filter_map(|l| l.split_whitespace().next())
        .map(|n| format!("D{n}"))
        .collect();
    assert!(numbers.len() >= 12, "decisions.md lists D1–D12 at least");
    for d in &numbers {
        assert!(
            LINKS
                .iter()
                .any(|l| l.rule.split_whitespace().any(|w| w == d.as_str())),
            "{d} has no traceability row"
        );
    }
    for fault in Fault::ALL {
        let name = format!("{fault:?}");
        assert!(
            LINKS.iter().any(|l| l.faults.contains(&name.as_str())),
            "zoo fault {name} is not traced to a rule"
        );
    }
}

/// The protocol page lists every error code with its meaning, and has a complete sample session.
#[test]
fn the_protocol_page_lists_every_error_code_and_a_whole_session() {
    let page = read(&root().join("docs/protocol.md"));
    let codes = page
        .split("## Error codes")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("an Error codes section");
    for code in hsm_model::ErrorCode::ALL {
        assert!(
            codes.contains(&format!("| `{}` | ", code.name())),
            "{} has no row in docs/protocol.md's error codes",
            code.name()
        );
    }
    let session = page
        .split("## A complete session")
        .nth(1)
        .expect("a sample session");
    for part in [
        "\"type\":\"hello\"",
        "\"type\":\"reset\"",
        "\"err\":",
        "\"type\":\"observe\"",
    ] {
        assert!(session.contains(part), "the sample session lacks {part}");
    }
    assert!(session.matches("\"type\":\"step\"").count() >= 12);
}

/// The requirements text is not in the repository: no docs page cites its sections.
#[test]
fn no_docs_page_cites_spec_sections() {
    let mut cited = Vec::new();
    for entry in std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .flatten()
    {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "md") {
            let text = read(&path);
            for (i, line) in text.lines().enumerate() {
                // A section sign is a section number of the requirements, which are not here.
                if line.contains('§') {
                    cited.push(format!("{}:{}: {line}", path.display(), i + 1));
                }
            }
        }
    }
    assert!(cited.is_empty(), "{}", cited.join("\n"));
}

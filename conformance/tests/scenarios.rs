//! The spec by example: every scenario of `conformance/scenarios/` agrees with the model and
//! replays on hsm-impl without divergence; together they reach every error code, every cell of
//! the permission table and the hazard examples D9–D12; and a wrong expectation is caught with
//! its file, line and both outcomes.

use hsm_conformance::adapter::ImplFactory;
use hsm_conformance::runner::{format_run, run_trace, Triple};
use hsm_model::scenario::Scenario;
use hsm_model::state::{events, LargeState};
use hsm_model::table::{cell, Cell};
use hsm_model::{Column, Error, ErrorCode, Observation, Op, Operation, Role, Row};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn scenario_files() -> Vec<(PathBuf, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("conformance/scenarios exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "scenario"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            (p, text)
        })
        .collect()
}

/// What the hazard examples look for in the states a scenario passes through.
#[derive(Default)]
struct Examples {
    d9_key_revived: bool,
    d10_material_copied: bool,
    d11_digests_to_a_non_owner: bool,
    d12_key_to_namesake: bool,
}

fn look_for_examples(cfg: &hsm_model::Config, steps: &[hsm_model::TraceStep], ex: &mut Examples) {
    let mut s = LargeState::new_cluster();
    for step in steps {
        let role = s.session_role(step.action.client, step.action.hsm);
        let (out, next) = cfg.step(&s, &step.action);
        ex.d9_key_revived |= next.events & events::KEY_REVIVED != 0;
        ex.d12_key_to_namesake |= next.events & events::KEY_TO_NAMESAKE != 0;
        ex.d10_material_copied |= matches!(step.action.op, Op::UnwrapKey { .. })
            && next.hsms.iter().any(|h| {
                h.records().any(|a| {
                    h.records().any(|b| {
                        a.id != b.id
                            && a.key.material == b.key.material
                            && a.key.owner != b.key.owner
                    })
                })
            });
        ex.d11_digests_to_a_non_owner |= matches!(&out, Ok(Observation::SyncStatus(r)) if !r.is_empty())
            && role != Some(Role::CryptoUser);
        s = next;
    }
}

#[test]
fn every_scenario_agrees_with_the_model_and_replays_on_the_implementation() {
    let files = scenario_files();
    assert!(files.len() >= 30, "{} scenarios", files.len());
    let factory = ImplFactory::correct();
    let mut triples: BTreeSet<Triple> = BTreeSet::new();
    let mut examples = Examples::default();
    for (path, text) in &files {
        let compiled =
            Scenario::compile(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            !compiled.trace.name.is_empty() && compiled.trace.name != "scenario",
            "{}: a scenario says what it shows",
            path.display()
        );
        let run = run_trace(&compiled.trace, &factory);
        assert!(
            run.divergence.is_none() && run.input_error.is_none(),
            "{}:\n{}",
            path.display(),
            format_run(&compiled.trace.config, &run)
        );
        triples.extend(run.triples.iter().copied());
        look_for_examples(&compiled.trace.config, &compiled.trace.steps, &mut examples);
    }
    let codes: BTreeSet<ErrorCode> = triples.iter().filter_map(|t| t.2).collect();
    let missing: Vec<_> = ErrorCode::ALL
        .iter()
        .filter(|c| !codes.contains(c))
        .collect();
    assert!(missing.is_empty(), "no scenario answers {missing:?}");
    // Every cell of the table: a Yes cell succeeds somewhere, a No cell is refused somewhere.
    let mut gaps = Vec::new();
    for row in Row::ALL {
        for column in Column::ALL {
            let in_row = |op: &Operation| Row::of(*op) == Some(row);
            let reached = match cell(row, column) {
                Cell::Yes => triples
                    .iter()
                    .any(|t| t.0 == column && in_row(&t.1) && t.2.is_none()),
                Cell::No => triples.iter().any(|t| {
                    t.0 == column
                        && in_row(&t.1)
                        && matches!(t.2, Some(ErrorCode::Forbidden | ErrorCode::NotLoggedIn))
                }),
                Cell::NotApplicable => true,
            };
            if !reached {
                gaps.push(format!("{} × {}", row.label(), column.label()));
            }
        }
    }
    assert!(gaps.is_empty(), "cells no scenario shows: {gaps:?}");
    assert!(
        examples.d9_key_revived,
        "no scenario revives a deleted key (D9)"
    );
    assert!(
        examples.d10_material_copied,
        "no scenario copies material by unwrap (D10)"
    );
    assert!(
        examples.d11_digests_to_a_non_owner,
        "no scenario shows digests to a non-owner (D11)"
    );
    assert!(
        examples.d12_key_to_namesake,
        "no scenario gives a key to a namesake (D12)"
    );
}

#[test]
fn a_wrong_expectation_fails_with_the_file_line_and_both_outcomes() {
    let files = scenario_files();
    let (path, text) = files
        .iter()
        .find(|(p, _)| p.ends_with("share-limit.scenario"))
        .expect("the share-limit scenario");
    let (n, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.ends_with("-> ShareLimit"))
        .expect("a step expecting ShareLimit");
    let wrong: String = text
        .lines()
        .map(|l| {
            if l == line {
                l.replace("-> ShareLimit", "-> ok")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    match Scenario::compile(&wrong) {
        Err(Error::ScenarioDisagrees {
            line,
            expected,
            model,
            ..
        }) => {
            assert_eq!(line, n + 1, "{}", path.display());
            assert_eq!((expected.as_str(), model.as_str()), ("ok", "ShareLimit"));
        }
        other => panic!("{}: {other:?}", path.display()),
    }
}

fn faulty(fault: hsm_impl::Fault) -> ImplFactory {
    ImplFactory::with_constructor(
        &format!("hsm-impl with {fault:?}"),
        std::sync::Arc::new(move |n, pw, p| {
            hsm_impl::Cluster::new_with_fault(n, pw, p, Some(fault))
        }),
    )
}

/// The scenarios are a test suite of their own: every fault of the zoo makes at least one of
/// them diverge, and the divergence is placed on the line of the scenario that shows it.
#[test]
fn the_scenarios_catch_every_fault_of_the_zoo() {
    let compiled: Vec<_> = scenario_files()
        .into_iter()
        .map(|(p, t)| (p, Scenario::compile(&t).expect("agrees with the model")))
        .collect();
    let mut missed = Vec::new();
    for &fault in hsm_impl::Fault::ALL {
        let factory = faulty(fault);
        let caught = compiled.iter().find_map(|(path, c)| {
            let run = run_trace(&c.trace, &factory);
            run.divergence.map(|d| (path, c.pos_of(d.step), d))
        });
        match caught {
            Some((path, pos, d)) => {
                let pos = pos.expect("a divergent step is a line of the scenario");
                println!(
                    "{fault:?}: {}:{} (step {}): {}",
                    path.file_name().unwrap().to_string_lossy(),
                    pos.line,
                    d.step,
                    d.message
                );
            }
            None => missed.push(fault),
        }
    }
    assert!(missed.is_empty(), "no scenario catches {missed:?}");
}

/// Every scenario is linked from a page of `docs/` that states its rules.
#[test]
fn every_scenario_is_linked_from_the_docs() {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let pages: String = std::fs::read_dir(&docs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let unlinked: Vec<String> = scenario_files()
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|name| !pages.contains(&format!("../conformance/scenarios/{name})")))
        .collect();
    assert!(unlinked.is_empty(), "no page of docs/ links {unlinked:?}");
}

/// Each page of `docs/` that states rules links the scenarios that show them, and every link
/// to a scenario, on any page, names a committed one.
#[test]
fn each_rules_page_links_its_scenarios_and_every_link_resolves() {
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
    let committed: Vec<String> = scenario_files()
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let rules_pages = [
        "roles.md",
        "lifecycle.md",
        "operations.md",
        "hazards.md",
        "security.md",
        "decisions.md",
        "permissions.md",
        "properties.md",
    ];
    let mut wrong = Vec::new();
    for entry in std::fs::read_dir(&docs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let page = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let links: Vec<&str> = text
            .split("](../conformance/scenarios/")
            .skip(1)
            .filter_map(|rest| rest.split(')').next())
            // A link to the directory itself.
            .filter(|l| !l.is_empty())
            .collect();
        for link in &links {
            if !committed.iter().any(|c| c == link) {
                wrong.push(format!(
                    "{page} links {link}, which is no committed scenario"
                ));
            }
        }
        if rules_pages.contains(&page.as_str()) && links.len() < 3 {
            wrong.push(format!(
                "{page} states rules but links {} scenarios",
                links.len()
            ));
        }
    }
    for page in rules_pages {
        if !docs.join(page).exists() {
            wrong.push(format!("{page} is gone"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

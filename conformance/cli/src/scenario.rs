//! Scenario files on the command line: what `hsmspec replay` reads besides v1 traces (a
//! `.scenario` file, a directory of files), and `hsmspec convert` (a v1 trace written as a
//! scenario). The format itself is `hsm_model::scenario`.

use clap::Args;
use hsm_conformance::Error;
use hsm_model::scenario::{self, Scenario};
use hsm_model::trace::Trace;
use std::path::{Path, PathBuf};

/// Whether `path` names a scenario file (by its extension).
pub fn is_scenario(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == scenario::EXTENSION)
}

/// The files to replay: each file as given, each directory's `.json` and `.scenario` files
/// (not its subdirectories), in name order.
pub fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        match std::fs::read_dir(p) {
            Ok(entries) if p.is_dir() => {
                let mut files: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|f| {
                        f.is_file()
                            && (is_scenario(f) || f.extension().is_some_and(|e| e == "json"))
                    })
                    .collect();
                files.sort();
                out.extend(files);
            }
            // A file, or what cannot be read: replay says why.
            _ => out.push(p.clone()),
        }
    }
    out
}

/// Why a file gives no trace to replay.
pub struct NotATrace {
    /// What is wrong, in one line (a scenario's says line and column).
    pub message: String,
    /// A scenario's expectation that the model contradicts: the line, for the report.
    pub disagrees_at: Option<usize>,
}

/// A trace file's or a scenario's trace, and for a scenario the line of each step.
pub fn read_trace(file: &Path, text: &str) -> Result<(Trace, Option<Vec<usize>>), NotATrace> {
    if !is_scenario(file) {
        return Trace::from_json(text)
            .map(|t| (t, None))
            .map_err(|e| NotATrace {
                message: format!("not a trace: {e}"),
                disagrees_at: None,
            });
    }
    match Scenario::compile(text) {
        Ok(c) => {
            let lines = c.steps.iter().map(|s| s.pos.line).collect();
            Ok((c.trace, Some(lines)))
        }
        Err(e @ hsm_model::Error::ScenarioDisagrees { line, .. }) => Err(NotATrace {
            message: format!("the scenario disagrees with the spec: {e}"),
            disagrees_at: Some(line),
        }),
        Err(e) => Err(NotATrace {
            message: format!("not a scenario: {e}"),
            disagrees_at: None,
        }),
    }
}

/// `hsmspec convert`.
#[derive(Args, Clone, Debug)]
pub struct ConvertArgs {
    /// Trace files (hsmspec-trace JSON, failure files included) to write as scenarios.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Write each scenario into this directory, named after its trace (`x.json` becomes
    /// `x.scenario`), instead of printing it.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs `hsmspec convert`: every file or none (a file that cannot be converted is an input
/// error, and nothing is written for it).
pub fn convert(args: &ConvertArgs) -> Result<(), Error> {
    if let Some(dir) = &args.out {
        if !dir.is_dir() {
            return Err(Error::Usage(format!(
                "--out {}: no such directory",
                dir.display()
            )));
        }
    }
    let mut texts = Vec::new();
    for file in &args.files {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Error::Usage(format!("{}: cannot read: {e}", file.display())))?;
        let trace = Trace::from_json(&text)
            .map_err(|e| Error::Usage(format!("{}: not a trace: {e}", file.display())))?;
        let sc = scenario::to_scenario(&trace)
            .map_err(|e| Error::Usage(format!("{}: cannot convert: {e}", file.display())))?;
        texts.push((file, sc));
    }
    for (file, sc) in texts {
        match &args.out {
            None => print!("{sc}"),
            Some(dir) => {
                let name = file
                    .file_stem()
                    .map_or_else(|| "trace".into(), |s| s.to_string_lossy().into_owned());
                let path = dir.join(format!("{name}.{}", scenario::EXTENSION));
                std::fs::write(&path, sc)
                    .map_err(|e| Error::Usage(format!("cannot write {}: {e}", path.display())))?;
                println!("{}", path.display());
            }
        }
    }
    Ok(())
}

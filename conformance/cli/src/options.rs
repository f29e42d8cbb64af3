//! Options and helpers that several commands share: which system is under test, shell
//! quoting for the commands a failure prints, report paths checked before any work, progress
//! bars.

use clap::Args;
use hsm_conformance::adapter::ImplFactory;
use hsm_conformance::process::{ProcessFactory, ProtocolLog};
use hsm_conformance::sut::SutFactory;
use hsm_conformance::Error;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Which system to test: `hsm-impl` linked in (default), or a process behind the protocol.
#[derive(Args, Clone, Debug)]
pub struct SutArgs {
    /// Test the implementation that this shell command starts, driven through the process
    /// protocol (docs/protocol.md) on its standard input and output.
    #[arg(long, value_name = "COMMAND")]
    pub sut_cmd: Option<String>,
    /// With --sut-cmd: milliseconds a request may take before the process counts as hung.
    #[arg(long, default_value_t = 10_000)]
    pub timeout_ms: u64,
    /// With --sut-cmd: record every line sent to and received from every process in this file
    /// (docs/protocol.md).
    #[arg(long, value_name = "FILE", requires = "sut_cmd")]
    pub log_protocol: Option<PathBuf>,
    /// With --sut-cmd: the newest protocol version to speak (1 or 2; the process may answer
    /// an older one).
    #[arg(long, default_value_t = hsm_conformance::protocol::VERSION, value_name = "N")]
    pub protocol_version: u64,
    /// With --sut-cmd: hold the implementation to this profile (a JSON file,
    /// docs/conformance.md "Profiles"): what it has of the spec and its declared deviations.
    #[arg(long, value_name = "FILE", requires = "sut_cmd")]
    pub profile: Option<PathBuf>,
}

impl SutArgs {
    /// With --sut-cmd, the process factory it names (timeout, protocol version, profile and
    /// protocol log as given).
    pub fn process_factory(&self) -> Result<Option<ProcessFactory>, Error> {
        let Some(cmd) = &self.sut_cmd else {
            return Ok(None);
        };
        Ok(Some(
            ProcessFactory::command(cmd, Duration::from_millis(self.timeout_ms))
                .with_max_version(self.protocol_version)?
                .with_profile(self.read_profile()?)
                .with_log(self.protocol_log()?),
        ))
    }

    /// With --sut-cmd, what concurrent campaigns run against: the process, once its `hello`
    /// declares the `concurrent` capability (a usage error when it does not); else `hsm-impl`
    /// in process.
    pub fn concurrent_target(
        &self,
        cfg: &hsm_model::Config,
    ) -> Result<Box<dyn hsm_conformance::concurrent::ConcurrentTarget>, Error> {
        if self.profile.is_some() {
            return Err(Error::Usage(
                "--profile with a concurrent history: concurrent campaigns hold an implementation to the whole spec; profiles are not supported there yet"
                    .into(),
            ));
        }
        Ok(match self.process_factory()? {
            Some(f) => {
                let target = hsm_conformance::concurrent::ProcessConcurrent::new(f);
                target.connection(cfg)?;
                Box::new(target)
            }
            None => Box::new(ImplFactory::correct()),
        })
    }

    /// The factory: a process factory with --sut-cmd, else `hsm-impl` linked in.
    pub fn factory(&self) -> Result<Box<dyn SutFactory>, Error> {
        Ok(match self.process_factory()? {
            Some(f) => {
                // A profile the implementation does not implement is a usage error before any
                // trace (other failures of hello are the first trace's, as without a profile).
                if self.profile.is_some() {
                    if let Err(e @ Error::Usage(_)) =
                        f.hello(&hsm_conformance::generate::runner_config())
                    {
                        return Err(e);
                    }
                }
                Box::new(f)
            }
            None => Box::new(ImplFactory::correct()),
        })
    }

    /// The --profile file, read.
    pub fn read_profile(&self) -> Result<Option<hsm_conformance::profile::Profile>, Error> {
        self.profile
            .as_deref()
            .map(hsm_conformance::profile::Profile::read)
            .transpose()
    }

    /// The --log-protocol file, created.
    pub fn protocol_log(&self) -> Result<Option<ProtocolLog>, Error> {
        self.log_protocol
            .as_ref()
            .map(|p| {
                ProtocolLog::create(p)
                    .map_err(|e| Error::Usage(format!("--log-protocol {}: {e}", p.display())))
            })
            .transpose()
    }
}

/// How often progress is written where stderr is no terminal (a CI log, `2>file`).
pub const PLAIN_EVERY: Duration = Duration::from_secs(10);

/// Whether stderr is a terminal a person watches.
pub fn stderr_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}

/// Progress that suits where it goes: a live bar (indicatif) on a terminal; elsewhere a plain
/// line at most every [`PLAIN_EVERY`] (`random: 1200 of 3000`) and one when done; nothing
/// when quiet.
pub struct Progress {
    bar: Option<ProgressBar>,
    what: String,
    len: AtomicU64,
    last: Mutex<Option<Instant>>,
    plain: bool,
}

impl Progress {
    /// Sets how many there are to do.
    pub fn set_length(&self, len: u64) {
        self.len.store(len, Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.set_length(len);
        }
    }

    /// Sets how many are done.
    pub fn set_position(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.set_position(n);
        }
        if self.plain {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            let due = last.is_none_or(|t| t.elapsed() >= PLAIN_EVERY);
            if due {
                if last.is_some() {
                    eprintln!("{}: {n} of {}", self.what, self.len.load(Ordering::Relaxed));
                }
                *last = Some(Instant::now());
            }
        }
    }

    /// Done: the bar stays on the terminal.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish();
        }
    }

    /// Done: the bar is cleared.
    pub fn finish_and_clear(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// A [`Progress`] of `len` steps called `what`.
pub fn bar(len: u64, quiet: bool, what: &str) -> Progress {
    let terminal = !quiet && stderr_is_terminal();
    let bar = terminal.then(|| {
        let pb = ProgressBar::new(len);
        if let Ok(style) =
            ProgressStyle::with_template("{msg:12} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
        {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.set_message(what.to_string());
        pb
    });
    Progress {
        bar,
        what: what.to_string(),
        len: AtomicU64::new(len),
        last: Mutex::new(None),
        plain: !quiet && !terminal,
    }
}

impl SutArgs {
    /// The options that make `hsmspec replay` test the same system (empty for hsm-impl).
    pub fn replay_options(&self) -> String {
        match &self.sut_cmd {
            Some(cmd) => {
                format!(
                    " --sut-cmd {} --timeout-ms {}{}",
                    shell_quote(cmd),
                    self.timeout_ms,
                    if self.protocol_version == hsm_conformance::protocol::VERSION {
                        String::new()
                    } else {
                        format!(" --protocol-version {}", self.protocol_version)
                    }
                ) + &self
                    .profile
                    .as_ref()
                    .map(|p| format!(" --profile {}", shell_quote(&p.display().to_string())))
                    .unwrap_or_default()
            }
            None => String::new(),
        }
    }
}

/// `s` quoted for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Checks that `path` can be written, before any work (an unwritable report is a usage error,
/// found before the campaign rather than after it).
pub fn writable(path: &Option<PathBuf>, what: &str) -> Result<(), Error> {
    if let Some(p) = path {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .map_err(|e| Error::Usage(format!("{what} {}: {e}", p.display())))?;
    }
    Ok(())
}

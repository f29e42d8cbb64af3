//! `hsmspec scale`: how the exhaustive check's cost grows as each bound grows on its own.
//!
//! For each bound chosen (names, key ids, HSMs, clients) and for symmetry on and off, the
//! bound runs upward from 1 to the model's maximum while the others stay at the base preset's
//! values. Every point is a [`run_point`]: `hsmspec check --json` in a child process, so that
//! its peak memory is its own and a run can be killed at the time limit or the memory cap. A
//! bound stops growing (for that symmetry setting) after the first run cut short; the values
//! above it are reported as not run.
//!
//! The results go to `<out>/scaling.md` ([`write_markdown`]: one table per bound, with growth
//! factors, seconds, peak memory, bytes per state, states per second and the verdict) and
//! `<out>/scaling.svg` ([`draw_svg`]: one panel per bound, unique states and seconds on log
//! scales). Both are rewritten after every run, so an interrupted measurement keeps what it
//! measured.
//!
//! Exit codes: 0 when the outputs are written (runs cut short are results, not errors),
//! 2 on bad options, a child that cannot be started, or an output that cannot be written.

use crate::check::ProgressLine;
use clap::Args;
use hsm_conformance::Error;
use hsm_model::state::{Capacity, Small};

// The scaling study runs the checker, at its capacity.
const MAX_CLIENTS: usize = Small::CLIENTS;
const MAX_HSMS: usize = Small::HSMS;
const MAX_KEY_IDS: usize = Small::KEY_IDS;
const MAX_NAMES: usize = Small::NAMES;
use hsm_model::Config;
use plotters::prelude::*;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime};

/// `hsmspec scale`.
#[derive(Args, Clone, Debug)]
pub struct ScaleArgs {
    /// The preset every run starts from (one of `hsmspec check --help`'s, not `suite`); the
    /// bounds not being grown keep its values.
    #[arg(long, default_value = "masking")]
    pub base: String,
    /// The bounds to grow, comma-separated: names, keys, hsms, clients.
    #[arg(long, default_value = "names,keys,hsms,clients")]
    pub bounds: String,
    /// Seconds a run may take before it is killed (fractions allowed).
    #[arg(long, default_value_t = 600.0)]
    pub limit_secs: f64,
    /// Resident memory (MB, 10^6 bytes) above which a run is killed.
    #[arg(long, default_value_t = 12000)]
    pub max_memory_mb: u64,
    /// The checker of every run (see `hsmspec check --help`).
    #[arg(long, default_value = "compact", value_parser = ["stateright", "compact"])]
    pub engine: String,
    /// Checker threads of every run.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Directory that receives scaling.md and scaling.svg.
    #[arg(long, default_value = "docs")]
    pub out: PathBuf,
    /// Lower maxima for some bounds, e.g. `names=2,keys=3` (default: the model's maxima).
    #[arg(long)]
    pub max: Option<String>,
}

/// A bound of the configuration that `hsmspec check` can set on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// User names beside admin and app_user (`--names`).
    Names,
    /// Key ids (`--keys`).
    Keys,
    /// HSMs in the cluster (`--hsms`).
    Hsms,
    /// Clients (`--clients`).
    Clients,
}

impl Bound {
    /// Every bound, in the order of the tables.
    pub const ALL: [Bound; 4] = [Bound::Names, Bound::Keys, Bound::Hsms, Bound::Clients];

    /// The bound's name on the command line of `scale`.
    pub fn name(self) -> &'static str {
        match self {
            Bound::Names => "names",
            Bound::Keys => "keys",
            Bound::Hsms => "hsms",
            Bound::Clients => "clients",
        }
    }

    /// The option of `hsmspec check` that sets it.
    pub fn flag(self) -> &'static str {
        match self {
            Bound::Names => "--names",
            Bound::Keys => "--keys",
            Bound::Hsms => "--hsms",
            Bound::Clients => "--clients",
        }
    }

    /// What it counts, in words.
    pub fn what(self) -> &'static str {
        match self {
            Bound::Names => "user names beside admin and app_user",
            Bound::Keys => "key ids",
            Bound::Hsms => "HSMs in the cluster",
            Bound::Clients => "clients, each with one session per HSM",
        }
    }

    /// The greatest value the model holds.
    pub fn model_max(self) -> usize {
        match self {
            Bound::Names => MAX_NAMES - 2,
            Bound::Keys => MAX_KEY_IDS,
            Bound::Hsms => MAX_HSMS,
            Bound::Clients => MAX_CLIENTS,
        }
    }

    /// Its value in a configuration.
    pub fn value_in(self, cfg: &Config) -> usize {
        match self {
            Bound::Names => cfg.names.len(),
            Bound::Keys => cfg.key_ids as usize,
            Bound::Hsms => cfg.hsms as usize,
            Bound::Clients => cfg.clients as usize,
        }
    }

    fn parse(s: &str) -> Result<Bound, String> {
        Bound::ALL
            .into_iter()
            .find(|b| b.name() == s.trim())
            .ok_or_else(|| format!("unknown bound `{s}` (known: names, keys, hsms, clients)"))
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Status {
    /// Not started yet (only while the measurement is under way).
    Pending,
    /// Finished, every verdict as required.
    Finished,
    /// Finished, but the check failed (exit 1): what failed.
    Failed(String),
    /// Killed at the time limit; the figures are the last progress seen.
    TimedOut,
    /// Killed above the memory cap; the figures are the last progress seen.
    OutOfMemory,
    /// The configuration is invalid (exit 2): the checker's message.
    Invalid(String),
    /// The child ended in an unexpected way (a signal, an unreadable report).
    Crashed(String),
    /// Not run: a smaller value of the same bound was already cut short.
    NotRun,
}

impl Status {
    /// Whether the run explored every state (the figures are exact).
    pub fn finished(&self) -> bool {
        matches!(self, Status::Finished | Status::Failed(_))
    }

    /// Whether the run was killed (the figures are lower bounds).
    pub fn cut(&self) -> bool {
        matches!(self, Status::TimedOut | Status::OutOfMemory)
    }
}

/// One measured point: one bound at one value, with symmetry on or off.
#[derive(Clone, Debug)]
pub struct Point {
    /// The bound grown.
    pub bound: Bound,
    /// Its value.
    pub value: usize,
    /// Whether the symmetry reduction was on.
    pub symmetry: bool,
    /// How the run ended.
    pub status: Status,
    /// Unique states (a lower bound when cut).
    pub unique_states: usize,
    /// States generated, repeats included.
    pub total_states: usize,
    /// Depth reached.
    pub max_depth: usize,
    /// Seconds: the checker's own when finished, wall-clock until the kill when cut.
    pub seconds: f64,
    /// The child's peak resident memory (the last one sampled when cut).
    pub peak_memory_bytes: Option<u64>,
}

impl Point {
    fn new(bound: Bound, value: usize, symmetry: bool) -> Point {
        Point {
            bound,
            value,
            symmetry,
            status: Status::Pending,
            unique_states: 0,
            total_states: 0,
            max_depth: 0,
            seconds: 0.0,
            peak_memory_bytes: None,
        }
    }

    /// The figures of the last progress line of a run that had to be killed.
    fn take_progress(&mut self, progress: Option<ProgressLine>) {
        if let Some(p) = progress {
            self.unique_states = p.unique_states;
            self.total_states = p.total_states;
            self.max_depth = p.depth;
        }
    }

    fn has_figures(&self) -> bool {
        self.status.finished() || self.status.cut()
    }

    fn bytes_per_state(&self) -> Option<f64> {
        let peak = self.peak_memory_bytes?;
        (self.has_figures() && self.unique_states > 0)
            .then(|| peak as f64 / self.unique_states as f64)
    }

    fn states_per_second(&self) -> Option<f64> {
        (self.has_figures() && self.seconds > 0.0).then(|| self.unique_states as f64 / self.seconds)
    }
}

/// What a run is given.
#[derive(Clone, Debug)]
pub struct RunLimits {
    /// The base preset.
    pub base: String,
    /// The engine.
    pub engine: String,
    /// Checker threads.
    pub threads: usize,
    /// Wall-clock limit.
    pub limit: Duration,
    /// Resident memory cap in bytes.
    pub max_memory_bytes: u64,
}

/// What the child wrote on stderr: its last progress figures (`--progress json`) and its other
/// lines.
#[derive(Default)]
struct Stderr {
    progress: Option<ProgressLine>,
    lines: Vec<String>,
}

fn read_stderr(stream: impl Read) -> Stderr {
    let mut seen = Stderr::default();
    for line in BufReader::new(stream).lines().map_while(Result::ok) {
        if let Some(p) = ProgressLine::parse(&line) {
            seen.progress = Some(p);
        } else if !line.trim().is_empty() && seen.lines.len() < 100 {
            seen.lines.push(line.trim().to_string());
        }
    }
    seen
}

/// The figures `scale` reads from the one configuration of a `hsmspec check --json` document
/// (it has more).
#[derive(Clone, Debug, serde::Deserialize)]
struct ReportFigures {
    unique_states: usize,
    total_states: usize,
    max_depth: usize,
    seconds: f64,
    complete: bool,
    peak_memory_bytes: Option<u64>,
}

/// How long a child may overrun its own `--timeout` before it is killed.
const GRACE: Duration = Duration::from_secs(30);

/// Reads `VmRSS` and `VmHWM` (bytes) of a running process from `/proc`.
fn memory_of(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:").unwrap_or(0)))
}

/// Runs one point: `hsmspec check --json` in a child process, polled every 100 ms and killed
/// at the time limit or above the memory cap. An error is returned only when the child cannot
/// be started or waited for; every way the check itself can end is a [`Status`].
pub fn run_point(
    exe: &Path,
    limits: &RunLimits,
    bound: Bound,
    value: usize,
    symmetry: bool,
) -> Result<Point, Error> {
    let mut point = Point::new(bound, value, symmetry);
    let mut cmd = Command::new(exe);
    cmd.args([
        "check",
        "--config",
        &limits.base,
        bound.flag(),
        &value.to_string(),
    ]);
    if !symmetry {
        cmd.arg("--no-symmetry");
    }
    cmd.args([
        "--engine",
        &limits.engine,
        "--threads",
        &limits.threads.to_string(),
    ]);
    // The child stops itself at the limit and still reports its figures (INCOMPLETE); its
    // progress lines are read if it has to be killed (memory, or no answer after the grace).
    cmd.args([
        "--json",
        "--progress",
        "json",
        "--timeout",
        &limits.limit.as_secs_f64().to_string(),
    ]);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", exe.display()))?;
    let start = Instant::now();
    // Both pipes are drained by threads, so that a child never blocks on a full pipe.
    let stdout = child.stdout.take().map(|mut s| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = s.read_to_string(&mut text);
            text
        })
    });
    let stderr = child
        .stderr
        .take()
        .map(|s| std::thread::spawn(move || read_stderr(s)));
    let pid = child.id();
    let mut hwm = None;
    let ended = loop {
        if let Some(status) = child.try_wait().map_err(|e| wait_error(&mut child, e))? {
            break Ended::Exited(status);
        }
        let elapsed = start.elapsed();
        let mut killed = None;
        if let Some((rss, peak)) = memory_of(pid) {
            hwm = Some(peak.max(rss).max(hwm.unwrap_or(0)));
            if rss > limits.max_memory_bytes {
                killed = Some(Status::OutOfMemory);
            }
        }
        if elapsed >= limits.limit + GRACE {
            killed = Some(Status::TimedOut);
        }
        if let Some(status) = killed {
            let _ = child.kill();
            let _ = child.wait();
            break Ended::Killed(status);
        }
        let left = (limits.limit + GRACE).saturating_sub(elapsed);
        std::thread::sleep(left.min(Duration::from_millis(100)));
    };
    let wall = start.elapsed().as_secs_f64();
    let out = stdout.and_then(|h| h.join().ok()).unwrap_or_default();
    let err = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
    point.peak_memory_bytes = hwm;
    let exit = match ended {
        Ended::Exited(exit) => exit,
        Ended::Killed(status) => {
            point.status = status;
            point.seconds = wall;
            point.take_progress(err.progress);
            return Ok(point);
        }
    };
    match exit.code() {
        // The document's one configuration (`hsmspec-check/1`).
        Some(code @ (0 | 1)) => match serde_json::from_str::<serde_json::Value>(&out)
            .map(|v| v["configurations"][0].clone())
            .and_then(|v| Ok((serde_json::from_value::<ReportFigures>(v.clone())?, v)))
        {
            Ok((figures, report)) => {
                point.unique_states = figures.unique_states;
                point.total_states = figures.total_states;
                point.max_depth = figures.max_depth;
                point.seconds = figures.seconds;
                if figures.peak_memory_bytes.is_some() {
                    point.peak_memory_bytes = figures.peak_memory_bytes;
                }
                point.status = if !figures.complete {
                    Status::TimedOut
                } else if code == 0 {
                    Status::Finished
                } else {
                    Status::Failed(failures(&report))
                };
            }
            Err(e) => {
                point.status = Status::Crashed(format!("exit {code}, report unreadable: {e}"))
            }
        },
        Some(2) => {
            let message = err
                .lines
                .iter()
                .find_map(|l| l.strip_prefix("hsmspec check: "))
                .or_else(|| {
                    err.lines
                        .iter()
                        .find(|l| l.starts_with("error:"))
                        .map(|l| l.as_str())
                })
                .or_else(|| err.lines.last().map(|l| l.as_str()))
                .unwrap_or("(no message)");
            point.status = Status::Invalid(message.to_string());
        }
        code => {
            let how = match code {
                Some(c) => format!("exit {c}"),
                None => "killed by a signal".to_string(),
            };
            let last = err.lines.last().cloned().unwrap_or_default();
            point.status = Status::Crashed(format!("{how} {last}").trim().to_string());
            point.seconds = wall;
            point.take_progress(err.progress);
        }
    }
    Ok(point)
}

/// How the polling of a child ended.
enum Ended {
    /// The child exited on its own.
    Exited(std::process::ExitStatus),
    /// It was killed, for this reason.
    Killed(Status),
}

fn wait_error(child: &mut Child, e: std::io::Error) -> String {
    let _ = child.kill();
    let _ = child.wait();
    format!("cannot wait for the check: {e}")
}

/// What failed in a configuration of a document of exit status 1.
fn failures(report: &serde_json::Value) -> String {
    let empty = Vec::new();
    let properties = report["properties"].as_array().unwrap_or(&empty);
    let count = |v: &str| {
        properties
            .iter()
            .filter(|p| p["verdict"].as_str() == Some(v))
            .count()
    };
    let mut parts = Vec::new();
    let violated = count("violated");
    if violated > 0 {
        parts.push(plural(
            violated,
            "invariant violated",
            "invariants violated",
        ));
    }
    let missing = count("missing");
    if missing > 0 {
        parts.push(plural(missing, "example missing", "examples missing"));
    }
    if report["cells_required"].as_bool() == Some(true) {
        let cells = report["cells"].as_array().unwrap_or(&empty);
        let unshown = cells
            .iter()
            .filter(|c| c["shown"].as_bool() == Some(false))
            .count();
        if unshown > 0 {
            parts.push(plural(
                unshown,
                "table cell not shown",
                "table cells not shown",
            ));
        }
    }
    if report["complete"].as_bool() == Some(false) {
        parts.push("incomplete".to_string());
    }
    if parts.is_empty() {
        "the check failed".to_string()
    } else {
        parts.join(", ")
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

// ---- formatting ---------------------------------------------------------------------------

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .rev()
        .map(|g| std::str::from_utf8(g).unwrap_or(""))
        .collect();
    groups.join(",")
}

fn seconds_text(s: f64) -> String {
    if s < 0.1 {
        format!("{s:.3}")
    } else if s < 10.0 {
        format!("{s:.2}")
    } else {
        thousands(s.round() as u64)
    }
}

fn mb_text(bytes: u64) -> String {
    let mb = bytes as f64 / 1e6;
    if mb < 100.0 {
        format!("{mb:.1}")
    } else {
        thousands(mb.round() as u64)
    }
}

fn symmetry_text(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

fn verdict_text(p: &Point, limits: &RunLimits) -> String {
    let figures = || {
        if p.unique_states == 0 {
            format!("no progress reported after {} s", seconds_text(p.seconds))
        } else {
            format!(
                "> {} states at depth {} after {} s",
                thousands(p.unique_states as u64),
                p.max_depth,
                seconds_text(p.seconds)
            )
        }
    };
    match &p.status {
        Status::Pending => "pending".into(),
        Status::Finished => "ok".into(),
        Status::Failed(what) => format!("exit 1: {what}"),
        Status::TimedOut => format!(
            "cut at the {} s limit: {}",
            seconds_text(limits.limit.as_secs_f64()),
            figures()
        ),
        Status::OutOfMemory => format!(
            "cut at the {} MB cap: {}",
            thousands(limits.max_memory_bytes / 1_000_000),
            figures()
        ),
        Status::Invalid(m) => format!("invalid: {m}"),
        Status::Crashed(m) if p.unique_states > 0 => format!("error: {m} ({})", figures()),
        Status::Crashed(m) => format!("error: {m}"),
        Status::NotRun => "not run".into(),
    }
}

/// The measured cells of a point, as the console line and the table show them: seconds
/// (a lower bound, `> `, when cut), peak memory in MB, bytes per state, states per second;
/// a dash where there is no figure.
fn figure_cells(p: &Point) -> [String; 4] {
    let dash = || "—".to_string();
    let figures = p.has_figures();
    let lower = if p.status.cut() { "> " } else { "" };
    [
        if figures {
            format!("{lower}{}", seconds_text(p.seconds))
        } else {
            dash()
        },
        p.peak_memory_bytes
            .filter(|_| figures)
            .map(mb_text)
            .unwrap_or_else(dash),
        p.bytes_per_state()
            .map(|b| thousands(b.round() as u64))
            .unwrap_or_else(dash),
        p.states_per_second()
            .map(|r| thousands(r.round() as u64))
            .unwrap_or_else(dash),
    ]
}

/// The one-line summary printed when a run ends.
fn print_point(p: &Point, limits: &RunLimits) {
    let states = if p.has_figures() {
        format!(
            "{}{} states",
            if p.status.cut() { "> " } else { "" },
            thousands(p.unique_states as u64)
        )
    } else {
        String::new()
    };
    let [seconds, memory, per_state, rate] = figure_cells(p);
    println!(
        "{:<7} {:>2}  symmetry {:<3}  {:>17}  {:>7} s  {:>7} MB  {:>6} B/state  {:>9} states/s  {}",
        p.bound.name(),
        p.value,
        symmetry_text(p.symmetry),
        states,
        seconds,
        memory,
        per_state,
        rate,
        verdict_text(p, limits)
    );
}

// ---- the machine --------------------------------------------------------------------------

/// The machine the measurement ran on, in one sentence's worth of words.
fn machine() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get().to_string())
        .unwrap_or_else(|_| "?".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?.to_string();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map(|kb| format!("{:.1} GiB", kb as f64 / (1024.0 * 1024.0)))
        .unwrap_or_else(|| "unknown".into());
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|c| {
        let line = c.lines().find(|l| l.starts_with("model name"))?;
        Some(line.split_once(':')?.1.trim().to_string())
    });
    format!(
        "{cores} cores{}, {memory} of memory, {}",
        cpu.map(|c| format!(" ({c})")).unwrap_or_default(),
        utc_now()
    )
}

/// The current UTC time as `YYYY-MM-DD HH:MM UTC` (humantime formats the date).
fn utc_now() -> String {
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    format!(
        "{} UTC",
        stamp.get(..16).unwrap_or(&stamp).replace('T', " ")
    )
}

/// The command line as typed, for the first line of the page.
fn command_line() -> String {
    let mut words = vec!["hsmspec".to_string()];
    for a in std::env::args().skip(1) {
        let plain = !a.is_empty()
            && a.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_=,./:+".contains(c));
        words.push(if plain {
            a
        } else {
            format!("'{}'", a.replace('\'', r"'\''"))
        });
    }
    words.join(" ")
}

// ---- the page -----------------------------------------------------------------------------

/// Everything the page and the plot say.
pub struct Measurement {
    /// The command line that produced it.
    pub command: String,
    /// The machine and date.
    pub machine: String,
    /// The base preset's configuration.
    pub base: Config,
    /// The limits of every run.
    pub limits: RunLimits,
    /// The bounds grown, in order.
    pub bounds: Vec<(Bound, usize)>,
    /// Every point, measured or not.
    pub points: Vec<Point>,
}

impl Measurement {
    fn series(&self, bound: Bound, symmetry: bool) -> impl Iterator<Item = &Point> {
        self.points
            .iter()
            .filter(move |p| p.bound == bound && p.symmetry == symmetry)
    }

    fn symmetry_settings(&self) -> Vec<bool> {
        if self.base.symmetry {
            vec![true, false]
        } else {
            vec![false]
        }
    }
}

/// The Markdown page: how it was made, the machine, then one table per bound.
pub fn write_markdown(m: &Measurement) -> String {
    let c = &m.base;
    let l = &m.limits;
    let mut s = String::new();
    s.push_str(&format!(
        "<!-- Generated by `{}`: do not edit by hand; run the command again to regenerate. -->\n\n",
        m.command
    ));
    s.push_str("# How the exhaustive check grows with each bound\n\n");
    s.push_str(&format!("Machine: {}.\n\n", m.machine));
    s.push_str(&format!(
        "Base configuration `{}`: {}, {}, {} beside admin and app_user, {}, families {}, \
         symmetry {} in the preset. Every run is `hsmspec check \
         --config {} --<bound> <value> [--no-symmetry] --engine {} --threads {} --json` in its \
         own process, killed after {} s or above {} MB of resident memory.\n\n",
        c.name,
        plural(c.hsms.into(), "HSM", "HSMs"),
        plural(c.clients.into(), "client", "clients"),
        plural(c.names.len(), "name", "names"),
        plural(c.key_ids.into(), "key id", "key ids"),
        c.families.to_string().replace(',', ", "),
        symmetry_text(c.symmetry),
        c.name,
        l.engine,
        l.threads,
        seconds_text(l.limit.as_secs_f64()),
        thousands(l.max_memory_bytes / 1_000_000),
    ));
    if !c.symmetry {
        s.push_str(&format!(
            "`{}` has the symmetry reduction off in its preset and `hsmspec check` has no \
             option to switch it on, so only runs without symmetry are measured.\n\n",
            c.name
        ));
    }
    s.push_str(
        "Each table grows one bound from 1 with the other bounds as in the base; a bound stops \
         growing (for that symmetry setting) after the first run cut at the limit or the cap \
         (or ended abnormally), and the values above it are not run. *Growth* is the unique \
         states over those of the previous value with the same symmetry setting (a lower \
         bound, `>`, when this run was cut). Seconds are the checker's own for a finished run \
         and wall-clock until the kill for a cut one; peak memory is the child's whole \
         resident peak (`VmHWM`), so bytes per state include the process's fixed cost and are \
         large for small runs. A verdict of `exit 1` is a finished check with a failed \
         verdict, e.g. an example out of reach at a small bound.\n",
    );
    for &(bound, max) in &m.bounds {
        s.push_str(&format!(
            "\n## {} (`{}`: {}, 1 to {max}; {} in the base)\n\n",
            bound.name(),
            bound.flag(),
            bound.what(),
            bound.value_in(c)
        ));
        s.push_str(
            "| value | symmetry | unique states | growth | seconds | peak memory MB \
             | bytes/state | states/s | verdict |\n",
        );
        s.push_str("|---:|---|---:|---:|---:|---:|---:|---:|---|\n");
        let settings = m.symmetry_settings();
        for value in 1..=max {
            for &symmetry in &settings {
                let series: Vec<&Point> = m.series(bound, symmetry).collect();
                let Some(p) = series.iter().find(|p| p.value == value) else {
                    continue;
                };
                let previous = series
                    .iter()
                    .find(|q| q.value + 1 == value)
                    .filter(|q| q.status.finished() && q.unique_states > 0);
                s.push_str(&table_row(p, previous.copied(), bound.value_in(c), l));
            }
        }
    }
    s
}

fn table_row(p: &Point, previous: Option<&Point>, base_value: usize, l: &RunLimits) -> String {
    let dash = || "—".to_string();
    let lower = if p.status.cut() { "> " } else { "" };
    let figures = p.has_figures();
    let growth = previous
        .filter(|_| figures && p.unique_states > 0)
        .map(|q| {
            format!(
                "{lower}{:.2}×",
                p.unique_states as f64 / q.unique_states as f64
            )
        })
        .unwrap_or_else(dash);
    let [seconds, memory, per_state, rate] = figure_cells(p);
    format!(
        "| {}{} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        p.value,
        if p.value == base_value { " (base)" } else { "" },
        symmetry_text(p.symmetry),
        if figures {
            format!("{lower}{}", thousands(p.unique_states as u64))
        } else {
            dash()
        },
        growth,
        seconds,
        memory,
        per_state,
        rate,
        verdict_text(p, l).replace('|', "\\|")
    )
}

// ---- the plot -----------------------------------------------------------------------------

const PANEL: (u32, u32) = (380, 300);
const TITLE_HEIGHT: u32 = 56;

/// The SVG plot: one column per bound, unique states in the top row and seconds in the
/// bottom one, both on log scales; a series per symmetry setting, finished runs as filled
/// markers, runs cut short as hollow markers at their lower bound.
pub fn draw_svg(m: &Measurement) -> Result<String, Error> {
    let columns = m.bounds.len().max(1) as u32;
    let size = (PANEL.0 * columns, PANEL.1 * 2 + TITLE_HEIGHT);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let (title, body) = root.split_vertically(TITLE_HEIGHT);
        let heading = format!(
            "hsmspec scale: base `{}`, {} engine, {} thread(s), limit {} s",
            m.base.name,
            m.limits.engine,
            m.limits.threads,
            seconds_text(m.limits.limit.as_secs_f64())
        );
        draw_legend(&title, heading, &m.symmetry_settings()).map_err(|e| e.to_string())?;
        let panels = body.split_evenly((2, columns as usize));
        for (i, &(bound, max)) in m.bounds.iter().enumerate() {
            for (row, metric) in [Metric::States, Metric::Seconds].into_iter().enumerate() {
                let area = &panels[row * columns as usize + i];
                draw_panel(area, m, bound, max, metric).map_err(|e| e.to_string())?;
            }
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// The heading, and one legend for every panel: a line per symmetry setting, the markers.
fn draw_legend(
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    heading: String,
    settings: &[bool],
) -> DrawResult {
    let text = |t: &str, x: i32, y: i32, size: u32| {
        Text::new(t.to_string(), (x, y), ("sans-serif", size).into_font())
    };
    area.draw(&text(&heading, 12, 8, 20))?;
    let y = 38;
    let mut x = 12;
    for &symmetry in settings {
        let color = series_color(symmetry);
        area.draw(&PathElement::new(
            [(x, y), (x + 24, y)],
            color.stroke_width(2),
        ))?;
        area.draw(&Circle::new((x + 12, y), 4, color.filled()))?;
        let label = format!("symmetry {}", symmetry_text(symmetry));
        area.draw(&text(&label, x + 30, y - 7, 15))?;
        x += 150;
    }
    area.draw(&Circle::new((x + 6, y), 4, BLACK.filled()))?;
    area.draw(&text("finished", x + 16, y - 7, 15))?;
    x += 100;
    area.draw(&Circle::new((x + 6, y), 4, BLACK.stroke_width(2)))?;
    area.draw(&text(
        "cut at the limit or the memory cap (a lower bound)",
        x + 16,
        y - 7,
        15,
    ))?;
    Ok(())
}

fn series_color(symmetry: bool) -> RGBColor {
    if symmetry {
        BLUE
    } else {
        RED
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Metric {
    States,
    Seconds,
}

impl Metric {
    fn of(self, p: &Point) -> f64 {
        match self {
            Metric::States => p.unique_states as f64,
            Metric::Seconds => p.seconds,
        }
    }
}

type DrawResult = Result<(), DrawingAreaErrorKind<std::io::Error>>;

fn draw_panel(
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    m: &Measurement,
    bound: Bound,
    max: usize,
    metric: Metric,
) -> DrawResult {
    let measured = |symmetry: bool| -> Vec<&Point> {
        m.series(bound, symmetry)
            .filter(|p| p.has_figures() && metric.of(p) > 0.0)
            .collect()
    };
    let settings = m.symmetry_settings();
    let values: Vec<f64> = settings
        .iter()
        .flat_map(|&s| measured(s))
        .map(|p| metric.of(p))
        .collect();
    let (lo, hi) = decades(&values);
    let (label, caption) = match metric {
        Metric::States => ("unique states", format!("{}: unique states", bound.name())),
        Metric::Seconds => ("seconds", format!("{}: seconds", bound.name())),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 19))
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(58)
        .build_cartesian_2d(
            0.5f64..(max as f64 + 0.5),
            (power_of_ten(lo)..power_of_ten(hi))
                .log_scale()
                .with_key_points(log_ticks(lo, hi)),
        )?;
    chart
        .configure_mesh()
        .x_labels(max + 1)
        .x_label_formatter(&|x| {
            if (x - x.round()).abs() < 1e-6 {
                format!("{}", x.round() as i64)
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| short_number(*y))
        .x_desc(bound.flag())
        .y_desc(label)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for &symmetry in &settings {
        let color = series_color(symmetry);
        let points = measured(symmetry);
        let line: Vec<(f64, f64)> = points
            .iter()
            .map(|p| (p.value as f64, metric.of(p)))
            .collect();
        chart.draw_series(LineSeries::new(line, color.stroke_width(2)))?;
        chart.draw_series(points.iter().map(|p| {
            let style = if p.status.cut() {
                color.stroke_width(2)
            } else {
                color.filled()
            };
            Circle::new((p.value as f64, metric.of(p)), 5, style)
        }))?;
    }
    Ok(())
}

/// The whole decades around some positive values, as exponents of ten: (lo, hi), lo < hi.
fn decades(values: &[f64]) -> (i32, i32) {
    let lo = values.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = values.iter().cloned().fold(0.0, f64::max);
    if !(lo.is_finite() && lo > 0.0 && hi.is_finite()) {
        return (0, 1);
    }
    // A point on a decade stays off the frame.
    let lo = (lo / 1.01).log10().floor() as i32;
    let hi = ((hi * 1.01).log10().ceil() as i32).max(lo + 1);
    (lo, hi)
}

/// Ten to the power `e`, exactly as its decimal text reads.
fn power_of_ten(e: i32) -> f64 {
    format!("1e{e}").parse().unwrap_or(1.0)
}

/// Labelled ticks of a log axis from 10^lo to 10^hi: every decade, and 2× and 5× when the
/// axis spans at most two decades.
fn log_ticks(lo: i32, hi: i32) -> Vec<f64> {
    let mut ticks = Vec::new();
    for e in lo..=hi {
        ticks.push(power_of_ten(e));
        if hi - lo <= 2 && e < hi {
            ticks.push(2.0 * power_of_ten(e));
            ticks.push(5.0 * power_of_ten(e));
        }
    }
    ticks
}

/// A log axis label: 2, 50, 200, 5k, 20k, 1M, 0.0001.
fn short_number(y: f64) -> String {
    let (v, unit) = if y >= 1e9 {
        (y / 1e9, "G")
    } else if y >= 1e6 {
        (y / 1e6, "M")
    } else if y >= 1e3 {
        (y / 1e3, "k")
    } else {
        (y, "")
    };
    let text = if v >= 1.0 {
        format!("{}", (v * 10.0).round() / 10.0)
    } else {
        let t = format!("{v:.6}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    format!("{text}{unit}")
}

// ---- the command --------------------------------------------------------------------------

fn parse_max(text: Option<&str>) -> Result<Vec<(Bound, usize)>, Error> {
    let mut out = Vec::new();
    for item in text
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.trim().is_empty())
    {
        let (name, value) = item
            .split_once('=')
            .ok_or_else(|| format!("--max takes <bound>=<n>, not `{item}`"))?;
        let bound = Bound::parse(name)?;
        let value: usize = value
            .trim()
            .parse()
            .map_err(|_| format!("--max {name}: `{value}` is not a number"))?;
        if !(1..=bound.model_max()).contains(&value) {
            return Err(format!(
                "--max {name} must be 1..={}, the model's maximum",
                bound.model_max()
            )
            .into());
        }
        out.push((bound, value));
    }
    Ok(out)
}

/// The base configuration, the limits of every run, and the bounds with their maxima.
type Plan = (Config, RunLimits, Vec<(Bound, usize)>);

/// Checks the options: the base preset, the limits, the bounds with their maxima.
fn plan(args: &ScaleArgs) -> Result<Plan, Error> {
    let base = Config::preset(&args.base).ok_or_else(|| {
        format!(
            "unknown base preset `{}` (known: {})",
            args.base,
            Config::PRESETS.join(", ")
        )
    })?;
    if !(args.limit_secs.is_finite() && args.limit_secs > 0.0) {
        return Err("--limit-secs must be a positive number of seconds".into());
    }
    if args.max_memory_mb == 0 {
        return Err("--max-memory-mb must be at least 1".into());
    }
    if args.threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    let maxima = parse_max(args.max.as_deref())?;
    let mut bounds: Vec<(Bound, usize)> = Vec::new();
    for name in args.bounds.split(',').filter(|s| !s.trim().is_empty()) {
        let bound = Bound::parse(name)?;
        if bounds.iter().any(|(b, _)| *b == bound) {
            return Err(format!("bound `{}` named twice", bound.name()).into());
        }
        let max = maxima
            .iter()
            .rev()
            .find(|(b, _)| *b == bound)
            .map_or(bound.model_max(), |(_, v)| *v);
        bounds.push((bound, max));
    }
    if bounds.is_empty() {
        return Err("--bounds names no bound".into());
    }
    let limits = RunLimits {
        base: args.base.clone(),
        engine: args.engine.clone(),
        threads: args.threads,
        limit: Duration::from_secs_f64(args.limit_secs),
        max_memory_bytes: args.max_memory_mb.saturating_mul(1_000_000),
    };
    Ok((base, limits, bounds))
}

fn write_outputs(m: &Measurement, out: &Path) -> Result<(), Error> {
    let md = out.join("scaling.md");
    std::fs::write(&md, write_markdown(m))
        .map_err(|e| format!("cannot write {}: {e}", md.display()))?;
    let svg_path = out.join("scaling.svg");
    let svg = draw_svg(m).map_err(|e| format!("cannot draw {}: {e}", svg_path.display()))?;
    std::fs::write(&svg_path, svg)
        .map_err(|e| Error::Usage(format!("cannot write {}: {e}", svg_path.display())))
}

/// Runs `hsmspec scale`.
pub fn scale(args: &ScaleArgs) -> ExitCode {
    match scale_inner(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hsmspec scale: {e}");
            ExitCode::from(hsm_conformance::verdict::USAGE_EXIT)
        }
    }
}

fn scale_inner(args: &ScaleArgs) -> Result<(), Error> {
    let (base, limits, bounds) = plan(args)?;
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find the hsmspec executable to run the checks: {e}"))?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let mut m = Measurement {
        command: command_line(),
        machine: machine(),
        base,
        limits,
        bounds,
        points: Vec::new(),
    };
    let settings = m.symmetry_settings();
    if !m.base.symmetry {
        eprintln!(
            "note: `{}` has symmetry off in its preset and check cannot switch it on: \
             only runs without symmetry",
            m.base.name
        );
    }
    for &(bound, max) in &m.bounds {
        for &symmetry in &settings {
            for value in 1..=max {
                m.points.push(Point::new(bound, value, symmetry));
            }
        }
    }
    write_outputs(&m, &args.out)?;
    for i in 0..m.points.len() {
        let (bound, value, symmetry) = (m.points[i].bound, m.points[i].value, m.points[i].symmetry);
        let stopped = m.points[..i].iter().any(|p| {
            p.bound == bound
                && p.symmetry == symmetry
                && (p.status.cut() || matches!(p.status, Status::Crashed(_)))
        });
        if stopped {
            m.points[i].status = Status::NotRun;
        } else {
            m.points[i] = run_point(&exe, &m.limits, bound, value, symmetry)?;
        }
        print_point(&m.points[i], &m.limits);
        write_outputs(&m, &args.out)?;
    }
    eprintln!(
        "wrote {} and {}",
        args.out.join("scaling.md").display(),
        args.out.join("scaling.svg").display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_lines_parse() {
        let line = ProgressLine {
            unique_states: 67396,
            total_states: 399093,
            depth: 18,
        };
        assert_eq!(ProgressLine::parse(&line.json()), Some(line));
        assert_eq!(ProgressLine::parse("checking `keys` …"), None);
        assert_eq!(ProgressLine::parse("{\"progress\": 3}"), None);
    }

    #[test]
    fn numbers_have_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    #[test]
    fn maxima_are_checked() {
        assert_eq!(
            parse_max(Some("names=2,keys=3")),
            Ok(vec![(Bound::Names, 2), (Bound::Keys, 3)])
        );
        assert!(parse_max(Some("names=9")).is_err());
        assert!(parse_max(Some("names")).is_err());
        assert!(parse_max(Some("nodes=1")).is_err());
        assert!(parse_max(Some("names=0")).is_err());
    }

    #[test]
    fn the_date_is_a_date() {
        let d = utc_now();
        assert_eq!(d.len(), "2026-11-28 12:34 UTC".len(), "{d}");
        assert!(d.starts_with("20"), "{d}");
    }
}

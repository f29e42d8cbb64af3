//! `--log-protocol FILE`: the conversation with every process of a run, recorded.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// `--log-protocol FILE`: every line sent to and received from every process of a run, in the
/// order sent and received, each with the time since the log was opened and the number of the
/// process (1, 2, … in the order started), and what happened to each process (started, broken,
/// ended). Shared by every factory and client of a run; each line is one write.
#[derive(Clone)]
pub struct ProtocolLog {
    inner: Arc<LogInner>,
}

struct LogInner {
    file: Mutex<std::fs::File>,
    next: AtomicU64,
    start: Instant,
}

impl ProtocolLog {
    /// Creates (truncates) the log file.
    pub fn create(path: &std::path::Path) -> std::io::Result<ProtocolLog> {
        let file = std::fs::File::create(path)?;
        let log = ProtocolLog {
            inner: Arc::new(LogInner {
                file: Mutex::new(file),
                next: AtomicU64::new(1),
                start: Instant::now(),
            }),
        };
        log.write(0, '#', "hsmspec protocol log: seconds, process, > sent to it, < received from it, # what happened");
        Ok(log)
    }

    pub(crate) fn process(&self) -> u64 {
        self.inner.next.fetch_add(1, Ordering::SeqCst)
    }

    fn write(&self, process: u64, dir: char, text: &str) {
        let line = format!(
            "{:.6} {process} {dir} {}\n",
            self.inner.start.elapsed().as_secs_f64(),
            text.strip_suffix('\n').unwrap_or(text)
        );
        if let Ok(mut f) = self.inner.file.lock() {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// A client's handle on the log: the log and its process number.
#[derive(Clone)]
pub(crate) struct Logged(pub(crate) ProtocolLog, pub(crate) u64);

impl Logged {
    pub(crate) fn write(&self, dir: char, text: &str) {
        self.0.write(self.1, dir, text);
    }
}

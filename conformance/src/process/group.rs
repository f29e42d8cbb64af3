//! Process hygiene (D30): a child process that leads its own process group, killed and reaped
//! with everything it started on every path, and on SIGINT, SIGTERM and SIGHUP of `hsmspec`.

use rustix::process::{kill_process_group, waitid, Pid, Signal, WaitId, WaitIdOptions};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A child process that leads its own process group (`process_group(0)`): the `sh -c` of a
/// `--sut-cmd` and everything it starts, unless they leave the group themselves (D30).
///
/// [`ProcessGroup::finish`] (and dropping it) kills the whole group with SIGKILL and reaps the
/// child. The group is only ever signalled before the child is reaped, so its id cannot have
/// been given to another process. Grandchildren, killed too, are reaped by whoever inherits
/// them (init or a subreaper). While the group lives it is also registered with a handler of
/// SIGINT, SIGTERM and SIGHUP that kills it before `hsmspec` dies of the signal.
pub struct ProcessGroup {
    child: Child,
    pgid: Pid,
    slot: Option<usize>,
    ended: Option<String>,
}

impl ProcessGroup {
    /// Starts `cmd` as the leader of a new process group.
    pub fn spawn(cmd: &mut Command) -> std::io::Result<ProcessGroup> {
        let child = cmd.process_group(0).spawn()?;
        let pgid = Pid::from_child(&child);
        let slot = interrupt::register(pgid.as_raw_nonzero().get());
        Ok(ProcessGroup {
            child,
            pgid,
            slot,
            ended: None,
        })
    }

    /// The child's process id, which is also the group's id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The child, to take its pipes.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// How the child ended (`exit status: 3`, `signal: 9`), if it has, without reaping it.
    pub fn exited(&self) -> Option<String> {
        if let Some(e) = &self.ended {
            return Some(e.clone());
        }
        let opts = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
        match waitid(WaitId::Pid(self.pgid), opts) {
            Ok(Some(st)) => Some(match (st.exit_status(), st.terminating_signal()) {
                (Some(c), _) => format!("exit status: {c}"),
                (None, Some(sig)) => format!("signal: {sig}"),
                _ => "ended".to_string(),
            }),
            _ => None,
        }
    }

    /// Waits up to `grace` for the child to exit by itself, then kills the whole group and
    /// reaps the child: how the child ended. Only the first call does anything.
    pub fn finish(&mut self, grace: Duration) -> String {
        if let Some(e) = &self.ended {
            return e.clone();
        }
        let deadline = Instant::now() + grace;
        while self.exited().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        let by_itself = self.exited();
        // The child is not reaped yet: the group id is still ours.
        let _ = kill_process_group(self.pgid, Signal::KILL);
        if let Some(slot) = self.slot.take() {
            interrupt::unregister(slot);
        }
        let st = self.child.wait();
        let how = match (by_itself, st) {
            (Some(e), _) => format!("{e}; its process group killed"),
            (None, Ok(st)) => format!("{st}; its process group killed"),
            (None, Err(e)) => format!("cannot reap it: {e}"),
        };
        self.ended = Some(how.clone());
        how
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.finish(Duration::ZERO);
    }
}

/// The process groups to kill when `hsmspec` is interrupted (SIGINT, SIGTERM, SIGHUP), since a
/// process in its own group no longer gets the terminal's Ctrl-C. The handler only calls
/// `kill` (async-signal-safe) on the registered groups, restores the default action and
/// raises the signal again, so `hsmspec` still dies of it. It is installed on the first
/// process started, for each signal whose action is still the default (an ignored or already
/// handled signal is left alone). SIGKILL of `hsmspec` cannot be caught: see D30.
mod interrupt {
    use std::sync::atomic::{AtomicI32, Ordering};
    use std::sync::Once;

    const SLOTS: usize = 256;
    static GROUPS: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];
    static INSTALL: Once = Once::new();

    /// Registers a live group: its slot, or `None` when every slot is taken (the group is
    /// still killed on every return path, just not on a signal).
    pub fn register(pgid: i32) -> Option<usize> {
        INSTALL.call_once(install);
        GROUPS.iter().position(|s| {
            s.compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        })
    }

    /// Forgets a group (before its leader is reaped, so the handler never signals a reused id).
    pub fn unregister(slot: usize) {
        GROUPS[slot].store(0, Ordering::SeqCst);
    }

    extern "C" fn on_signal(sig: libc::c_int) {
        for s in &GROUPS {
            let pgid = s.load(Ordering::SeqCst);
            if pgid > 0 {
                // SAFETY: kill, signal and raise are async-signal-safe.
                unsafe {
                    libc::kill(-pgid, libc::SIGKILL);
                }
            }
        }
        // SAFETY: as above; the signal is blocked while its handler runs, so it is delivered
        // with the default action as soon as the handler returns.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        }
    }

    fn install() {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: sigaction with a zeroed (empty-mask) struct and a handler that only makes
            // async-signal-safe calls.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, std::ptr::null(), &mut old) != 0
                    || old.sa_sigaction != libc::SIG_DFL
                {
                    continue;
                }
                let mut new: libc::sigaction = std::mem::zeroed();
                new.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
                libc::sigemptyset(&mut new.sa_mask);
                libc::sigaction(sig, &new, std::ptr::null_mut());
            }
        }
    }
}

//! A tmux session as a real pseudo-terminal for end-to-end tests: send keys or lines, read the
//! screen, wait for text. The session is killed when dropped.

use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux session, by name.
pub struct Tmux(pub String);

impl Tmux {
    /// Runs `tmux ARGS`; returns its stdout.
    pub fn run(args: &[&str]) -> String {
        let out = Command::new("tmux").args(args).output().expect("tmux is installed (.ci/run installs it)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    /// Sends tmux key names (`Enter`, `Space`, `q`…).
    pub fn keys(&self, keys: &[&str]) {
        let mut a = vec!["send-keys", "-t", self.0.as_str()];
        a.extend_from_slice(keys);
        Self::run(&a);
    }
    /// Types `text` literally.
    pub fn literal(&self, text: &str) {
        Self::run(&["send-keys", "-t", &self.0, "-l", text]);
    }
    /// Types `text` and Enter.
    pub fn line(&self, text: &str) {
        self.literal(text);
        self.keys(&["Enter"]);
    }
    /// The visible screen, plus up to 200 lines of history when `history` (a shell's output).
    pub fn capture(&self, history: bool) -> String {
        if history {
            Self::run(&["capture-pane", "-p", "-J", "-S", "-200", "-t", &self.0])
        } else {
            Self::run(&["capture-pane", "-p", "-t", &self.0])
        }
    }
    /// The visible screen.
    pub fn screen(&self) -> String {
        self.capture(false)
    }
    /// Waits up to `secs` until the screen shows `needle`; returns the screen.
    pub fn wait_for(&self, needle: &str, secs: u64) -> String {
        self.wait_for_in(needle, secs, false)
    }
    /// [`Tmux::wait_for`], also looking in the history when `history`.
    pub fn wait_for_in(&self, needle: &str, secs: u64, history: bool) -> String {
        let end = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.capture(history);
            if s.contains(needle) {
                return s;
            }
            assert!(Instant::now() < end, "timed out waiting for {needle:?}; screen:\n{s}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    /// Waits until the session is gone (the program in it quit).
    pub fn wait_gone(&self, secs: u64) {
        let end = Instant::now() + Duration::from_secs(secs);
        while Self::run(&["list-sessions"]).lines().any(|l| l.starts_with(&format!("{}:", self.0))) {
            assert!(Instant::now() < end, "the session did not end");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        Self::run(&["kill-session", "-t", &self.0]);
    }
}

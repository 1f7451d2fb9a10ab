//! The task lock: one lock that every operation mutating a task holds — a codegen run from its
//! start to its final state.json, and each accept, undo, re-diff, recovery and hunk-state change
//! of the review engine ([`crate::review`]). All of them rewrite state.json and code/diff.patch,
//! so they must never interleave.
//!
//! Mechanism: an OS file lock (`flock(2)` through [`std::fs::File::try_lock`]) on
//! `<task>/.lock`, opened with `O_NOFOLLOW`, so it is released when the holder ends or its
//! process dies, and never lands outside the task through a planted symlink. Every acquire
//! also runs [`TaskDir::check_layout`] under the lock.
//!
//! Invariants:
//! - between processes the lock is exclusive: a second process waits (up to its patience) and
//!   then gets [`TaskError::Busy`];
//! - within one process it is shared: an acquire while this process already holds the task's
//!   lock returns another handle on the same hold (released when the last handle drops). Inside
//!   a process, the orchestrator's actor serializes a task's operations (a review command is
//!   refused while a run is active), and a run that accepts its own output (`codegen --apply`)
//!   calls the review engine while it holds the lock: sharing is what lets it do that.

use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::task::{TaskDir, TaskError};

/// The lock file's name, directly under the task root.
pub const LOCK_FILE: &str = ".lock";

/// How long the review engine's operations wait for another holder (a codegen run holds the
/// lock for its whole run, so they give up after this and report [`TaskError::Busy`]).
pub const REVIEW_WAIT: Duration = Duration::from_secs(3);

/// One process's hold on one task's lock; the file lock lives as long as this does.
#[derive(Debug)]
struct Hold {
    _file: fs::File,
}

/// Holds, by canonical task root, that this process has open.
static HELD: Mutex<Vec<(PathBuf, Weak<Hold>)>> = Mutex::new(Vec::new());

/// A held task lock (see the module docs). Dropping the last handle in the process releases it.
#[derive(Debug, Clone)]
pub struct TaskLock {
    hold: Arc<Hold>,
    root: PathBuf,
}

/// The name the codegen run has used for the task lock since before it was shared with the
/// review engine; the same type.
pub type RunLock = TaskLock;

impl TaskLock {
    /// Takes the task's lock without waiting (how a codegen run takes it).
    ///
    /// # Errors
    /// [`TaskError::Busy`] when another process holds it; [`TaskError::Unsafe`] when the task
    /// layout holds a symlink; [`TaskError::Io`] on I/O failure.
    pub fn acquire(task: &TaskDir) -> Result<Self, TaskError> {
        Self::acquire_within(task, Duration::ZERO)
    }

    /// Takes the task's lock, waiting up to `patience` for another process to release it.
    ///
    /// # Errors
    /// As [`TaskLock::acquire`].
    pub fn acquire_within(task: &TaskDir, patience: Duration) -> Result<Self, TaskError> {
        let key = fs::canonicalize(task.root()).unwrap_or_else(|_| task.root().to_path_buf());
        let until = Instant::now() + patience;
        loop {
            if let Some(lock) = Self::try_once(task, &key)? {
                task.check_layout()?;
                return Ok(lock);
            }
            if Instant::now() >= until {
                return Err(TaskError::Busy(task.root().to_path_buf()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn try_once(task: &TaskDir, key: &PathBuf) -> Result<Option<Self>, TaskError> {
        let mut held = HELD.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        held.retain(|(_, w)| w.strong_count() > 0);
        if let Some(hold) = held.iter().find(|(k, _)| k == key).and_then(|(_, w)| w.upgrade()) {
            return Ok(Some(Self { hold, root: task.root().to_path_buf() }));
        }
        let path = task.checked(LOCK_FILE)?;
        let io = |source| TaskError::Io { path: path.clone(), source };
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {
                let hold = Arc::new(Hold { _file: file });
                held.push((key.clone(), Arc::downgrade(&hold)));
                Ok(Some(Self { hold, root: task.root().to_path_buf() }))
            }
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }

    /// The root of the task this lock holds.
    pub fn task_root(&self) -> &std::path::Path {
        &self.root
    }

    /// How many handles share this process's hold (for tests and diagnostics).
    pub fn handles(&self) -> usize {
        Arc::strong_count(&self.hold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn shared_within_a_process_and_released_with_the_last_handle() {
        let t = tempfile::tempdir().unwrap();
        let task = TaskDir::new(t.path());
        let a = TaskLock::acquire(&task).unwrap();
        let b = TaskLock::acquire(&task).unwrap();
        assert_eq!(a.handles(), 2);
        drop(a);
        drop(b);
        // A fresh open of the file can take the OS lock again: it was released.
        let f = fs::OpenOptions::new().write(true).open(t.path().join(LOCK_FILE)).unwrap();
        f.try_lock().unwrap();
    }

    #[test]
    fn refuses_a_symlinked_layout_entry_and_lock_file() {
        let t = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::create_dir_all(t.path().join("code")).unwrap();
        symlink(outside.path(), t.path().join("code/base")).unwrap();
        let err = TaskLock::acquire(&TaskDir::new(t.path())).unwrap_err();
        assert!(matches!(err, TaskError::Unsafe { .. }), "{err}");

        let t = tempfile::tempdir().unwrap();
        symlink(outside.path().join("x"), t.path().join(LOCK_FILE)).unwrap();
        let err = TaskLock::acquire(&TaskDir::new(t.path())).unwrap_err();
        assert!(matches!(err, TaskError::Unsafe { .. }), "{err}");
        assert!(!outside.path().join("x").exists(), "the lock file was not created through the symlink");
    }
}

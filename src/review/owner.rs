//! Which accept journals this machine wrote. A task dir can be committed and cloned, so an
//! `accepts/<n>/accept.json` on disk may be anyone's: replaying it (crash recovery) or undoing
//! it would write whatever its `before/` snapshots hold into the working tree. Every record
//! ai-tools writes carries a random nonce that is also registered in the user's state dir
//! (`$AI_TOOLS_STATE_DIR`, else the platform's state dir: `accept-journals/<key>`, where the
//! key is the SHA-256 of the canonical task path and the nonce). Only registered records are
//! recovered, listed and undone; the rest are left on disk, untouched and unused.
//!
//! Consequences: a task moved to another path, or journals written before this rule, cannot be
//! undone by ai-tools (restore from `accepts/<n>/before/` by hand); a nonce copied from a public
//! repo does not help a hostile clone, because the key also binds the task's path.

use std::path::{Path, PathBuf};

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::trust::STATE_DIR_ENV;
use crate::review::ReviewError;
use crate::task::TaskDir;

/// The registry dir, `None` when neither `$AI_TOOLS_STATE_DIR` nor a home dir exists.
fn registry() -> Option<PathBuf> {
    let base = match std::env::var_os(STATE_DIR_ENV).filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => {
            let dirs = directories::ProjectDirs::from("", "", "ai-tools")?;
            dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir()).to_path_buf()
        }
    };
    Some(base.join("accept-journals"))
}

fn key(task: &TaskDir, nonce: &str) -> String {
    let root = task.root().canonicalize().unwrap_or_else(|_| task.root().to_path_buf());
    let mut h = Sha256::new();
    h.update(root.as_os_str().as_encoded_bytes());
    h.update([0]);
    h.update(nonce.as_bytes());
    format!("{:x}", h.finalize())
}

/// A fresh nonce for a record of `task`, registered before the record is published.
///
/// # Errors
/// [`ReviewError::Journal`] when the registry cannot be written (the accept does not start).
pub fn register(task: &TaskDir) -> Result<String, ReviewError> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let nonce: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let dir = registry().ok_or_else(|| ReviewError::Journal {
        path: task.accepts_dir(),
        message: format!("no state dir to register the accept in: set ${STATE_DIR_ENV} or HOME"),
    })?;
    let fail =
        |path: &Path, e: std::io::Error| ReviewError::Journal { path: path.to_path_buf(), message: e.to_string() };
    std::fs::create_dir_all(&dir).map_err(|e| fail(&dir, e))?;
    let file = dir.join(key(task, &nonce));
    std::fs::write(&file, task.root().to_string_lossy().as_bytes()).map_err(|e| fail(&file, e))?;
    Ok(nonce)
}

/// Whether a record with `nonce` (none: written elsewhere, or before this rule) was written by
/// ai-tools on this machine for `task`.
pub fn owned(task: &TaskDir, nonce: Option<&str>) -> bool {
    match (nonce, registry()) {
        (Some(n), Some(dir)) if n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()) => {
            dir.join(key(task, n)).is_file()
        }
        _ => false,
    }
}

/// Forgets `nonce` (its record was discarded). Best effort.
pub fn forget(task: &TaskDir, nonce: Option<&str>) {
    if let (Some(n), Some(dir)) = (nonce, registry()) {
        let _ = std::fs::remove_file(dir.join(key(task, n)));
    }
}

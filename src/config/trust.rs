//! Trust for a repo's `.ai-tools.toml`, like `direnv allow`: a cloned repo is data, so the keys
//! that can send data or secrets somewhere or run something ([`TRUST_REQUIRED`]) come only from
//! the user's own config, environment and flags, unless the user ran `ai-tools trust` on the
//! file as it is now.
//!
//! Invariants:
//! - the store ([`TrustStore`], `<state dir>/ai-tools/trusted-configs.json`, outside every
//!   repo) maps a repo file's canonical path to the sha256 of its bytes; a file is trusted only
//!   while its bytes hash to the recorded value, so any edit (by a `git pull`, a model, a
//!   collaborator) revokes it;
//! - the bytes that are hashed are the bytes that are parsed (the file is read once);
//! - an unreadable or corrupt store trusts nothing.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The keys a repo file may set only when trusted, as dotted paths; `*` matches any one key (a
/// provider's name). A table key covers everything under it. To guard a new key, add it here:
/// the loader, the notice, `ai-tools trust` and the README's list follow.
pub const TRUST_REQUIRED: &[&str] = &[
    // Where requests go, which key they carry, and what speaks the protocol.
    "providers.*.kind",
    "providers.*.base_url",
    "providers.*.api_key_env",
    // Model files loaded into the process.
    "model_path",
    "providers.*.model_path",
    // Sandbox opt-outs.
    "sandbox.allow_unsandboxed",
    // Which provider and key get the code: a repo may not route it to another configured one.
    "provider",
    "roles",
    // What a run may cost: a repo may not raise (or hide) the spend of the user's key.
    "max_tokens",
    "providers.*.max_tokens",
    "context_budget_tokens",
    "providers.*.context_budget_tokens",
    "providers.*.deadline_secs",
    "providers.*.max_retries",
    "providers.*.max_reply_bytes",
    "providers.*.max_concurrency",
    "providers.*.price_input_per_mtok",
    "providers.*.price_output_per_mtok",
    "concurrency",
    "retry",
    "repair.max_attempts",
    "repair.candidates",
    "generate.candidates",
    "quality.max_iterations",
    // What runs, and what checks the generated code: a repo may not pick the test command or
    // switch validation (and with it the security rules) off.
    "test.command",
    "test.enabled",
    "validate.enabled",
    "validate.skip",
    // Files read into the process: a theme is a path.
    "theme",
];

/// Environment variable naming the state dir (default: the platform's, e.g.
/// `~/.local/state/ai-tools`).
pub const STATE_DIR_ENV: &str = "AI_TOOLS_STATE_DIR";

/// The trust store's file name in the state dir.
pub const STORE_FILE: &str = "trusted-configs.json";

/// A trust store that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The repo file or the store could not be read.
    #[error("{path}: {source}")]
    Io {
        /// Which file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The store could not be written.
    #[error("cannot write the trust store: {0}")]
    Write(String),
    /// Neither `$AI_TOOLS_STATE_DIR` nor a home directory is available.
    #[error("no state directory: set ${STATE_DIR_ENV}")]
    NoStateDir,
}

/// Keys of a repo file that were ignored because the file is not trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// The repo file.
    pub file: PathBuf,
    /// The dotted keys ignored, sorted.
    pub keys: Vec<String>,
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ignoring settings in {} that need trust: {}\n  hint: review the file, then run `ai-tools trust` to apply them (any later edit needs trusting again)",
            self.file.display(),
            self.keys.join(", ")
        )
    }
}

/// Where a repo file stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustStatus {
    /// There is no such file.
    Missing,
    /// Never trusted (or revoked).
    Untrusted,
    /// Trusted, and unchanged since.
    Trusted,
    /// Trusted once, but edited since.
    Changed,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StoreDoc {
    version: u32,
    /// Canonical path → record.
    files: BTreeMap<String, Record>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    sha256: String,
    trusted_at: String,
}

/// The user's record of trusted repo files (see the module invariants).
#[derive(Debug, Clone)]
pub struct TrustStore {
    path: PathBuf,
}

/// The sha256 of `bytes`, hex.
pub fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl TrustStore {
    /// A store kept in the file `path`.
    pub fn at(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The user's store: `$AI_TOOLS_STATE_DIR/trusted-configs.json`, else in the platform's
    /// state dir (its data dir where there is none).
    ///
    /// # Errors
    /// [`TrustError::NoStateDir`].
    pub fn user() -> Result<Self, TrustError> {
        if let Some(d) = std::env::var_os(STATE_DIR_ENV).filter(|d| !d.is_empty()) {
            return Ok(Self::at(PathBuf::from(d).join(STORE_FILE)));
        }
        let dirs = directories::ProjectDirs::from("", "", "ai-tools").ok_or(TrustError::NoStateDir)?;
        let dir = dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir());
        Ok(Self::at(dir.join(STORE_FILE)))
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<StoreDoc, TrustError> {
        match std::fs::read(&self.path) {
            Ok(b) => Ok(serde_json::from_slice(&b).unwrap_or_default()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StoreDoc::default()),
            Err(source) => Err(TrustError::Io { path: self.path.clone(), source }),
        }
    }

    fn write(&self, doc: &StoreDoc) -> Result<(), TrustError> {
        crate::task::fsio::write_json_atomic(&self.path, doc).map_err(|e| TrustError::Write(e.to_string()))
    }

    fn key(file: &Path) -> String {
        file.canonicalize().unwrap_or_else(|_| file.to_path_buf()).to_string_lossy().into_owned()
    }

    /// Whether `file`, whose bytes are `contents`, is trusted. Fails closed.
    pub fn is_trusted(&self, file: &Path, contents: &[u8]) -> bool {
        let Ok(doc) = self.read() else { return false };
        doc.files.get(&Self::key(file)).is_some_and(|r| r.sha256 == digest(contents))
    }

    /// Where `file` stands.
    ///
    /// # Errors
    /// [`TrustError::Io`] when the file or the store cannot be read.
    pub fn status(&self, file: &Path) -> Result<TrustStatus, TrustError> {
        let contents = match std::fs::read(file) {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(TrustStatus::Missing),
            Err(source) => return Err(TrustError::Io { path: file.to_path_buf(), source }),
        };
        Ok(match self.read()?.files.get(&Self::key(file)) {
            None => TrustStatus::Untrusted,
            Some(r) if r.sha256 == digest(&contents) => TrustStatus::Trusted,
            Some(_) => TrustStatus::Changed,
        })
    }

    /// Trusts `file` while its bytes are `contents` (the bytes the caller read and checked).
    ///
    /// # Errors
    /// [`TrustError`] when the store cannot be read or written.
    pub fn trust(&self, file: &Path, contents: &[u8]) -> Result<(), TrustError> {
        let mut doc = self.read()?;
        doc.version = 1;
        let record = Record { sha256: digest(contents), trusted_at: chrono::Utc::now().to_rfc3339() };
        doc.files.insert(Self::key(file), record);
        self.write(&doc)
    }

    /// Forgets `file`; `false` when it was not trusted.
    ///
    /// # Errors
    /// [`TrustError`] when the store cannot be read or written.
    pub fn revoke(&self, file: &Path) -> Result<bool, TrustError> {
        let mut doc = self.read()?;
        let had = doc.files.remove(&Self::key(file)).is_some();
        if had {
            self.write(&doc)?;
        }
        Ok(had)
    }
}

fn matches(pattern: &str, path: &[&str]) -> bool {
    let pat: Vec<&str> = pattern.split('.').collect();
    pat.len() <= path.len() && pat.iter().zip(path).all(|(p, k)| *p == "*" || p == k)
}

/// The keys of `table` that need trust, as dotted paths, sorted.
pub fn guarded_keys(table: &toml::Table) -> Vec<String> {
    let mut out = Vec::new();
    walk(table, &mut Vec::new(), &mut |path| {
        if TRUST_REQUIRED.iter().any(|p| matches(p, path)) {
            out.push(path.join("."));
            return true;
        }
        false
    });
    out
}

/// Removes the keys that need trust from `table`; returns them as dotted paths.
pub fn strip_guarded(table: &mut toml::Table) -> Vec<String> {
    let keys = guarded_keys(table);
    for k in &keys {
        let parts: Vec<&str> = k.split('.').collect();
        remove(table, &parts);
    }
    keys
}

/// Calls `f` on every key path (tables first, then their keys, unless `f` returns `true`).
fn walk<'a>(table: &'a toml::Table, path: &mut Vec<&'a str>, f: &mut dyn FnMut(&[&str]) -> bool) {
    for (k, v) in table {
        path.push(k);
        if !f(path)
            && let toml::Value::Table(t) = v
        {
            walk(t, path, f);
        }
        path.pop();
    }
}

fn remove(table: &mut toml::Table, parts: &[&str]) {
    match parts {
        [] => {}
        [last] => {
            table.remove(*last);
        }
        [first, rest @ ..] => {
            if let Some(toml::Value::Table(t)) = table.get_mut(*first) {
                remove(t, rest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarded_keys_are_found_and_stripped() {
        let mut t: toml::Table = toml::from_str(
            "model = \"m\"\nmodel_path = \"/x.gguf\"\nmax_tokens = 99999\ntemperature = 0.2\n[providers.evil]\nkind = \"openai\"\nbase_url = \"http://e\"\napi_key_env = \"GITHUB_TOKEN\"\nmodel = \"gpt\"\ndeadline_secs = 1e9\n[sandbox]\nallow_unsandboxed = true\n[repair]\nmax_attempts = 50\nenabled = true\n[test]\ncommand = \"make\"\ntimeout_secs = 30\n",
        )
        .unwrap();
        let keys = strip_guarded(&mut t);
        assert_eq!(
            keys,
            [
                "max_tokens",
                "model_path",
                "providers.evil.api_key_env",
                "providers.evil.base_url",
                "providers.evil.deadline_secs",
                "providers.evil.kind",
                "repair.max_attempts",
                "sandbox.allow_unsandboxed",
                "test.command"
            ]
        );
        assert_eq!(t["temperature"].as_float(), Some(0.2));
        assert_eq!(t["repair"]["enabled"].as_bool(), Some(true));
        assert_eq!(t["test"]["timeout_secs"].as_integer(), Some(30));
        assert_eq!(t["model"].as_str(), Some("m"));
        assert_eq!(t["providers"]["evil"]["model"].as_str(), Some("gpt"));
        assert!(t["providers"]["evil"].get("base_url").is_none());
    }

    #[test]
    fn trust_follows_the_bytes() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join(".ai-tools.toml");
        std::fs::write(&f, "model = \"a\"\n").unwrap();
        let s = TrustStore::at(d.path().join("state/trusted.json"));
        assert_eq!(s.status(&f).unwrap(), TrustStatus::Untrusted);
        s.trust(&f, b"model = \"a\"\n").unwrap();
        assert_eq!(s.status(&f).unwrap(), TrustStatus::Trusted);
        assert!(s.is_trusted(&f, b"model = \"a\"\n"));
        std::fs::write(&f, "model = \"b\"\n").unwrap();
        assert_eq!(s.status(&f).unwrap(), TrustStatus::Changed);
        assert!(!s.is_trusted(&f, b"model = \"b\"\n"));
        assert!(s.revoke(&f).unwrap());
        assert_eq!(s.status(&f).unwrap(), TrustStatus::Untrusted);
        std::fs::write(s.path(), "not json").unwrap();
        assert!(!s.is_trusted(&f, b"model = \"b\"\n"), "a corrupt store trusts nothing");
    }
}

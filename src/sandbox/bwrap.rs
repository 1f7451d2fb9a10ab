//! The bubblewrap command line: what a sandboxed process sees.
//!
//! - the system read-only: `/usr`, `/etc`, and `/bin`, `/sbin`, `/lib`, `/lib32`, `/lib64`
//!   (bound, or recreated as the same symlinks on merged-/usr systems); a fresh `/proc`, a
//!   minimal `/dev`, an empty tmpfs `/tmp`;
//! - read-only: the install roots of the program and its interpreter (`…/bin/x` → `…`, after
//!   following symlinks, a `#!` line, `#!/usr/bin/env NAME` and a venv's `pyvenv.cfg home`), the
//!   repo's dependency dirs the view links to, and the paths a job names;
//! - read-write: only the scratch area and the paths a job names (e.g. a cargo target cache);
//! - `--unshare-net --unshare-pid --unshare-ipc --die-with-parent --new-session --cap-drop ALL
//!   --clearenv`, then the job's allowlisted environment.
//!
//! Nothing under `$HOME` is visible except install roots and named paths. Every bind, read-only
//! or writable, goes through one rule ([`bindable`]): `/`, any top-level dir, the system dirs,
//! `/proc`, `/sys`, `/dev`, `/run`, `/var/run`, and `$HOME` or one of its ancestors are never
//! bound, whatever path (or symlink to them) a job, a repo or a `pyvenv.cfg` names.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Top-level system dirs bound read-only (or recreated as symlinks) when present.
const SYSTEM: &[&str] = &["/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/// Trees never bound below (kernel interfaces, runtime sockets and per-user secrets).
const NEVER_BELOW: &[&str] = &["/proc", "/sys", "/dev", "/run", "/var/run"];

fn is_system(p: &Path) -> bool {
    SYSTEM.iter().any(|s| p.starts_with(s))
}

/// Whether `p` may be bound into the sandbox (read-only or writable): judged on its canonical
/// path (a symlink counts as its target) and on `p` itself. False for `/`, every top-level dir
/// (`/tmp`, `/home`, `/root`, `/opt`, …), the system dirs and anything under them (they are
/// bound already), anything under `/proc`, `/sys`, `/dev`, `/run`, `/var/run`, and `home` or
/// any of its ancestors (canonical too).
pub fn bindable(p: &Path, home: Option<&Path>) -> bool {
    let homes: Vec<PathBuf> =
        home.into_iter().flat_map(|h| [h.to_path_buf(), h.canonicalize().unwrap_or_default()]).collect();
    [Some(p.to_path_buf()), p.canonicalize().ok()].into_iter().flatten().all(|q| {
        let shallow = q.components().count() <= 2;
        let under = is_system(&q) || NEVER_BELOW.iter().any(|n| q.starts_with(n));
        let home_or_above = homes.iter().any(|h| !h.as_os_str().is_empty() && h.starts_with(&q));
        q.is_absolute() && !shallow && !under && !home_or_above
    })
}

/// The install root of an executable at `p`: the parent of its `bin`/`.bin`/`sbin` dir, else
/// its dir. `None` for system paths, `/` and `home`.
fn root_of(p: &Path, home: Option<&Path>) -> Option<PathBuf> {
    let dir = p.parent()?;
    let named_bin = dir.file_name().is_some_and(|n| n == "bin" || n == ".bin" || n == "sbin");
    let root = if named_bin { dir.parent()? } else { dir };
    bindable(root, home).then(|| root.to_path_buf())
}

fn push_roots(p: &Path, home: Option<&Path>, out: &mut Vec<PathBuf>) {
    for q in [Some(p.to_path_buf()), p.canonicalize().ok()].into_iter().flatten() {
        if let Some(r) = root_of(&q, home)
            && !out.contains(&r)
        {
            out.push(r);
        }
    }
}

/// The `#!` interpreter of `p` (resolving `/usr/bin/env NAME` on `path_dirs`), if any.
fn interpreter(p: &Path, path_dirs: &[PathBuf]) -> Option<PathBuf> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(p).and_then(|mut f| f.read(&mut head)).ok()?;
    let line = std::str::from_utf8(&head[..n]).ok()?.strip_prefix("#!")?.lines().next()?.to_owned();
    let mut words = line.split_whitespace();
    let first = PathBuf::from(words.next()?);
    if first.file_name().is_some_and(|n| n == "env") {
        let name = words.find(|w| !w.starts_with('-'))?;
        return path_dirs.iter().map(|d| d.join(name)).find(|c| c.is_file());
    }
    Some(first)
}

/// The read-only install roots for running `program` (see the module docs).
pub fn tool_roots(program: &Path, path_dirs: &[PathBuf], home: Option<&Path>) -> Vec<PathBuf> {
    let mut out = Vec::new();
    push_roots(program, home, &mut out);
    let canonical = program.canonicalize().unwrap_or_else(|_| program.to_path_buf());
    if let Some(interp) = interpreter(&canonical, path_dirs) {
        push_roots(&interp, home, &mut out);
        // A venv interpreter: its base installation (pyvenv.cfg `home = …/bin`).
        for r in out.clone() {
            let cfg = std::fs::read_to_string(r.join("pyvenv.cfg")).unwrap_or_default();
            let home_line = cfg.lines().find_map(|l| l.strip_prefix("home").map(|v| v.trim_start_matches([' ', '='])));
            if let Some(bin) = home_line {
                push_roots(&Path::new(bin.trim()).join("python"), home, &mut out);
            }
        }
    }
    out
}

/// What one bwrap invocation binds and sets.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// Read-only binds (absolute, existing; missing ones are skipped).
    pub ro: Vec<PathBuf>,
    /// Read-write binds (the scratch area first).
    pub rw: Vec<PathBuf>,
    /// Working directory inside the sandbox.
    pub chdir: PathBuf,
    /// The whole environment.
    pub env: Vec<(String, String)>,
}

/// The bwrap arguments for `layout`, ending with `--` (the program and its args follow).
pub fn args(layout: &Layout) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |xs: &[&std::ffi::OsStr]| a.extend(xs.iter().map(|x| x.to_os_string()));
    for s in SYSTEM {
        let p = Path::new(s);
        match std::fs::symlink_metadata(p) {
            Ok(m) if m.file_type().is_symlink() => {
                if let Ok(target) = std::fs::read_link(p) {
                    push(&["--symlink".as_ref(), target.as_os_str(), p.as_os_str()]);
                }
            }
            Ok(m) if m.is_dir() => push(&["--ro-bind".as_ref(), p.as_os_str(), p.as_os_str()]),
            _ => {}
        }
    }
    push(&[
        "--proc".as_ref(),
        "/proc".as_ref(),
        "--dev".as_ref(),
        "/dev".as_ref(),
        "--tmpfs".as_ref(),
        "/tmp".as_ref(),
    ]);
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let ok = |p: &&PathBuf| p.exists() && bindable(p, home.as_deref());
    for p in layout.ro.iter().filter(ok) {
        push(&["--ro-bind".as_ref(), p.as_os_str(), p.as_os_str()]);
    }
    for p in layout.rw.iter().filter(ok) {
        push(&["--bind".as_ref(), p.as_os_str(), p.as_os_str()]);
    }
    for flag in [
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--clearenv",
    ] {
        push(&[flag.as_ref()]);
    }
    for (k, v) in &layout.env {
        push(&["--setenv".as_ref(), k.as_ref(), v.as_ref()]);
    }
    push(&["--chdir".as_ref(), layout.chdir.as_os_str(), "--".as_ref()]);
    a
}

/// Runs `bwrap` once with the real flags and `true` as the program: `Err` with bwrap's own
/// message when it cannot start here (no user namespaces, not permitted, …).
pub fn probe(bwrap: &Path) -> Result<(), String> {
    let layout = Layout { chdir: PathBuf::from("/"), ..Layout::default() };
    let out = std::process::Command::new(bwrap)
        .args(args(&layout))
        .arg("true")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bwrap.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        Err(if msg.is_empty() { format!("bwrap exited with {}", out.status) } else { msg })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_skip_system_home_and_slash() {
        let home = Path::new("/home/u");
        assert_eq!(root_of(Path::new("/usr/bin/node"), Some(home)), None);
        assert_eq!(root_of(Path::new("/home/u/bin/x"), Some(home)), None);
        assert_eq!(root_of(Path::new("/x"), Some(home)), None);
        assert_eq!(root_of(Path::new("/r/.venv/bin/ruff"), Some(home)), Some(PathBuf::from("/r/.venv")));
        assert_eq!(root_of(Path::new("/r/node_modules/.bin/tsc"), None), Some(PathBuf::from("/r/node_modules")));
        assert_eq!(root_of(Path::new("/home/u/.cargo/bin/cargo"), Some(home)), Some(PathBuf::from("/home/u/.cargo")));
        assert_eq!(root_of(Path::new("/run/user/0/bin/x"), Some(home)), None);
        assert_eq!(root_of(Path::new("/opt/bin/x"), Some(home)), None);
    }

    #[test]
    fn no_bind_exposes_the_host() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("home/u");
        std::fs::create_dir_all(home.join("proj/.venv")).unwrap();
        let slash = t.path().join("slash");
        std::os::unix::fs::symlink("/", &slash).unwrap();
        let h = Some(home.as_path());
        for bad in ["/", "/tmp", "/root", "/home", "/var/run/x", "/run/user/0", "/etc/ssl", "/proc/1", "/usr/lib"] {
            assert!(!bindable(Path::new(bad), h), "{bad}");
        }
        assert!(!bindable(&slash, h), "a symlink to / counts as /");
        assert!(!bindable(&home, h) && !bindable(&t.path().join("home"), h) && !bindable(t.path(), h));
        assert!(bindable(&home.join("proj/.venv"), h));
        let l = Layout { ro: vec![slash.clone(), PathBuf::from("/run")], ..Layout::default() };
        let a: Vec<String> = args(&l).iter().map(|s| s.to_string_lossy().into_owned()).collect();
        assert!(!a.iter().any(|s| s == "/run" || *s == slash.display().to_string()), "{a:?}");
    }

    #[test]
    fn shebang_and_env_resolve_to_interpreter_roots() {
        let t = tempfile::tempdir().unwrap();
        let tool = t.path().join("venv/bin/tool");
        let py = t.path().join("py/bin/python3");
        for p in [&tool, &py] {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        }
        std::fs::write(&py, "").unwrap();
        std::fs::write(&tool, format!("#!{}\nprint()\n", py.display())).unwrap();
        let roots = tool_roots(&tool, &[], None);
        assert!(roots.contains(&t.path().join("venv").canonicalize().unwrap()), "{roots:?}");
        assert!(roots.contains(&t.path().join("py").canonicalize().unwrap()), "{roots:?}");
        std::fs::write(&tool, "#!/usr/bin/env -S python3 -u\n").unwrap();
        assert_eq!(interpreter(&tool, &[t.path().join("py/bin")]), Some(py.clone()));
    }

    #[test]
    fn layout_flags_end_with_the_separator() {
        let l = Layout {
            ro: vec![PathBuf::from("/definitely/missing")],
            rw: vec![std::env::temp_dir()],
            chdir: std::env::temp_dir(),
            env: vec![("HOME".into(), "/h".into())],
        };
        let a: Vec<String> = args(&l).iter().map(|s| s.to_string_lossy().into_owned()).collect();
        assert_eq!(a.last().map(String::as_str), Some("--"));
        assert!(!a.iter().any(|s| s == "/definitely/missing"), "missing binds are skipped");
        for f in ["--unshare-net", "--unshare-pid", "--die-with-parent", "--new-session", "--clearenv", "ALL"] {
            assert!(a.iter().any(|s| s == f), "{f}");
        }
    }
}

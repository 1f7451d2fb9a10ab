//! `ai-tools trust [--revoke | --status]`: trust the repo's `.ai-tools.toml` as it is now (its
//! sha256 recorded in the user's state dir, like `direnv allow`), forget it, or show where it
//! stands. See `ai_tools::config::trust` for what trust unlocks.

use std::path::Path;

use anyhow::{Context, Result};

use ai_tools::config::trust::{self, TrustStatus, TrustStore};

use super::args::TrustArgs;

/// The settings of `file`'s TOML that need trust, comma-separated ("none" when there are none
/// or it does not parse).
fn guarded_in(text: &[u8]) -> String {
    let keys = std::str::from_utf8(text)
        .ok()
        .and_then(|t| toml::from_str::<toml::Table>(t).ok())
        .map(|t| trust::guarded_keys(&t))
        .unwrap_or_default();
    if keys.is_empty() { "none".to_owned() } else { keys.join(", ") }
}

/// Runs the command on `repo`'s `.ai-tools.toml`; returns the exit code (0; 2 when there is no
/// file to trust).
///
/// # Errors
/// When the file or the trust store cannot be read or written.
pub fn run(repo: &Path, a: &TrustArgs) -> Result<i32> {
    let file = repo.join(".ai-tools.toml");
    let store = TrustStore::user()?;
    if a.revoke {
        let had = store.revoke(&file)?;
        println!("{} {}", if had { "no longer trusted:" } else { "was not trusted:" }, file.display());
        return Ok(0);
    }
    let status = store.status(&file)?;
    if status == TrustStatus::Missing {
        eprintln!("no {} to trust", file.display());
        return Ok(2);
    }
    if a.status {
        let text = std::fs::read(&file).with_context(|| file.display().to_string())?;
        let word = match status {
            TrustStatus::Trusted => "trusted",
            TrustStatus::Changed => "not trusted (changed since it was trusted)",
            _ => "not trusted",
        };
        println!("{}: {word}", file.display());
        println!("settings that need trust: {}", guarded_in(&text));
        return Ok(0);
    }
    // The bytes checked are the bytes trusted; a file that is not a valid config is refused.
    let text = std::fs::read(&file).with_context(|| file.display().to_string())?;
    let utf8 = String::from_utf8_lossy(&text);
    ai_tools::config::parse_table(&file, &utf8)?;
    store.trust(&file, &text)?;
    println!("trusted {} (sha256 {})", file.display(), &trust::digest(&text)[..16]);
    println!("settings that now apply: {}", guarded_in(&text));
    println!("recorded in {}", store.path().display());
    Ok(0)
}

//! The environment a sandboxed process gets: built from an allowlist, never inherited.
//!
//! Always set: `PATH` (the caller's), `LANG` (the caller's, else `C.UTF-8`), `TERM` (`dumb`
//! unless set), `HOME` and `TMPDIR` (inside the scratch area), `NO_COLOR=1`, `FORCE_COLOR=0`.
//! A job may add variables its tool documents that it needs (`CARGO_HOME`, `RUSTUP_HOME`,
//! `CARGO_TARGET_DIR`, …); every added name still passes [`is_denied`], so a secret cannot be
//! passed even by mistake.
//!
//! Invariant: no variable whose name ends in `_KEY`, `_TOKEN`, `_SECRET` or `_PASSWORD`, nor any
//! the broker reads (`ANTHROPIC_*`, `OPENAI_*`, `OLLAMA_*`, `AI_TOOLS_*`), nor a name in the
//! config's extra deny list, ever reaches a child process.
//!
//! Host tools that must run outside the sandbox with the network (pip in `model pull`,
//! `tools pull`, `demo`; `--version` probes) get [`host_command`]: an allowlisted environment
//! ([`for_host_tool`]) and a working directory the caller names, never the repo's.

use std::path::Path;

/// Name suffixes that mark a secret.
const DENY_SUFFIXES: &[&str] = &["_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_CREDENTIALS"];
/// Name prefixes the broker and ai-tools read.
const DENY_PREFIXES: &[&str] = &["ANTHROPIC_", "OPENAI_", "OLLAMA_", "AI_TOOLS_"];

/// Whether `name` may never be passed to a sandboxed process (see the module invariant);
/// `extra` lists further names (e.g. every provider's `api_key_env`).
pub fn is_denied(name: &str, extra: &[String]) -> bool {
    let upper = name.to_ascii_uppercase();
    DENY_SUFFIXES.iter().any(|s| upper.ends_with(s))
        || DENY_PREFIXES.iter().any(|p| upper.starts_with(p))
        || extra.iter().any(|e| e.eq_ignore_ascii_case(name))
}

/// The environment for a job: the allowlisted base (see the module docs) plus `added` minus
/// every denied name. `host` reads the caller's environment.
pub fn build(
    host: &dyn Fn(&str) -> Option<String>,
    home: &Path,
    tmp: &Path,
    added: &[(String, String)],
    deny: &[String],
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vec![
        ("PATH".into(), host("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into())),
        ("LANG".into(), host("LANG").unwrap_or_else(|| "C.UTF-8".into())),
        ("TERM".into(), host("TERM").unwrap_or_else(|| "dumb".into())),
        ("HOME".into(), home.display().to_string()),
        ("TMPDIR".into(), tmp.display().to_string()),
        ("NO_COLOR".into(), "1".into()),
        ("FORCE_COLOR".into(), "0".into()),
    ];
    for (k, v) in added {
        if is_denied(k, deny) {
            continue;
        }
        match env.iter_mut().find(|(ek, _)| ek == k) {
            Some(slot) => slot.1.clone_from(v),
            None => env.push((k.clone(), v.clone())),
        }
    }
    env
}

/// Key variable names this process was configured with (each provider's `api_key_env`),
/// registered once the configuration is loaded ([`deny_also`]); [`scrub`] removes them too.
static CONFIGURED: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Registers `names` (the configured providers' `api_key_env`) as secret for every later
/// [`scrub`] in this process, so a key held in a variable with an unusual name (`MY_LLM`) is
/// kept from git hooks and editors like the built-in patterns are.
pub fn deny_also(names: impl IntoIterator<Item = String>) {
    if let Ok(mut v) = CONFIGURED.lock() {
        for n in names {
            if !v.contains(&n) {
                v.push(n);
            }
        }
    }
}

/// Removes from `cmd` every variable of this process that [`is_denied`] matches (`extra`:
/// further names; the names registered with [`deny_also`] always), keeping the rest — for host
/// children that need the user's environment (git, whose hooks, `core.fsmonitor` and config
/// may run anything; the editor): no key reaches them.
pub fn scrub(cmd: &mut std::process::Command, extra: &[String]) {
    let mut deny: Vec<String> = CONFIGURED.lock().map(|v| v.clone()).unwrap_or_default();
    deny.extend_from_slice(extra);
    for (k, _) in std::env::vars_os() {
        if k.to_str().is_none_or(|name| is_denied(name, &deny)) {
            cmd.env_remove(&k);
        }
    }
}

/// Host variables a host tool gets (besides `PIP_*`): what pip needs to find its interpreter,
/// a locale, a proxy and CA certificates.
const HOST_TOOL_ALLOW: &[&str] = &[
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TERM",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "PIP_CERT",
];

/// The environment for a host tool run outside the sandbox: from `vars` (the host's, as
/// name/value pairs) only [`HOST_TOOL_ALLOW`] names and `PIP_*`, never a denied name
/// ([`is_denied`], so `PIP_PASSWORD` or an API key never passes).
pub fn for_host_tool(vars: impl IntoIterator<Item = (String, String)>) -> Vec<(String, String)> {
    vars.into_iter()
        .filter(|(k, _)| HOST_TOOL_ALLOW.contains(&k.as_str()) || k.starts_with("PIP_"))
        .filter(|(k, _)| !is_denied(k, &[]))
        .collect()
}

/// A [`std::process::Command`] for a host tool `program`, run in `cwd` (a directory ai-tools
/// owns, or `/`; never the repo, so a repo's `pip/__main__.py` or `rust-toolchain.toml` is not
/// picked up) with the [`for_host_tool`] environment of this process; stdin is null.
pub fn host_command(program: impl AsRef<std::ffi::OsStr>, cwd: &Path) -> std::process::Command {
    let vars = std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    let mut c = std::process::Command::new(program);
    c.current_dir(cwd).env_clear().envs(for_host_tool(vars)).stdin(std::process::Stdio::null());
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_pass_and_the_base_is_scratch() {
        let host = |k: &str| match k {
            "PATH" => Some("/usr/bin".to_owned()),
            "OPENAI_API_KEY" => Some("sk-x".to_owned()),
            _ => None,
        };
        let added = [
            ("CARGO_HOME".to_owned(), "/c".to_owned()),
            ("OPENAI_API_KEY".to_owned(), "sk-x".to_owned()),
            ("GITHUB_TOKEN".to_owned(), "t".to_owned()),
            ("aws_secret".to_owned(), "s".to_owned()),
            ("ANTHROPIC_BASE_URL".to_owned(), "u".to_owned()),
            ("MY_LLM".to_owned(), "k".to_owned()),
            ("TERM".to_owned(), "xterm".to_owned()),
        ];
        let env = build(&host, Path::new("/s/home"), Path::new("/s/tmp"), &added, &["my_llm".to_owned()]);
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["PATH", "LANG", "TERM", "HOME", "TMPDIR", "NO_COLOR", "FORCE_COLOR", "CARGO_HOME"]);
        assert!(env.contains(&("HOME".into(), "/s/home".into())));
        assert!(env.contains(&("TERM".into(), "xterm".into())));
        assert!(env.contains(&("LANG".into(), "C.UTF-8".into())));
    }

    #[test]
    fn a_host_tool_gets_only_the_allowlist() {
        let vars = [
            "PATH",
            "HOME",
            "https_proxy",
            "PIP_INDEX_URL",
            "PIP_PASSWORD",
            "OPENAI_API_KEY",
            "GITHUB_TOKEN",
            "PYTHONPATH",
            "LD_PRELOAD",
            "SSL_CERT_FILE",
        ]
        .map(|k| (k.to_owned(), "v".to_owned()));
        let names: Vec<String> = for_host_tool(vars).into_iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["PATH", "HOME", "https_proxy", "PIP_INDEX_URL", "SSL_CERT_FILE"]);
    }
}

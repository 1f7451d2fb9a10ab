//! The slash commands both interactive front ends (TUI and REPL) understand, their parser and
//! their Tab completion.
//!
//! Invariant: the TUI and the REPL accept exactly the same command set, parsed here.

/// A parsed slash command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlashCommand {
    /// `/codegen`: run the codegen phase.
    Codegen,
    /// `/redo codegen`: archive the previous outputs and run again from context.
    RedoCodegen,
    /// `/cancel`: stop the active run.
    Cancel,
    /// `/accept`: apply the accepted hunks to the working tree.
    Accept,
    /// `/reject [path]`: reject every hunk (of `path`, or of all files).
    Reject(Option<String>),
    /// `/undo`: undo the last accept.
    Undo,
    /// `/files`: focus the files pane.
    Files,
    /// `/errors`: focus the validation panel.
    Errors,
    /// `/diff [path]`: select `path` and focus the diff pane.
    Diff(Option<String>),
    /// `/log`: focus the log pane.
    Log,
    /// `/provider [name]`: show or set the provider.
    Provider(Option<String>),
    /// `/model [id]`: show or set the model.
    Model(Option<String>),
    /// `/theme [name]`: show or set the theme.
    Theme(Option<String>),
    /// `/help`: list commands and keys.
    Help,
    /// `/quit`.
    Quit,
}

/// Every command with its one-line help, in the order `/help` lists them.
pub const COMMANDS: &[(&str, &str)] = &[
    ("/codegen", "run the codegen phase (plan → waves → code/files → diff.patch → validate → repair)"),
    ("/redo codegen", "archive code/files and diff.patch to code/archive/<run-id>/ and run again"),
    ("/cancel", "stop the active run"),
    ("/accept", "apply the accepted hunks to the working tree (undo with /undo)"),
    ("/reject [path]", "reject every hunk of path, or of all files"),
    ("/undo", "restore the files the last accept changed"),
    ("/files", "focus the files pane"),
    ("/errors", "focus the validation panel"),
    ("/diff [path]", "select path and focus the diff pane"),
    ("/log", "focus the log pane"),
    ("/provider [name]", "show or set the provider (a configured name or anthropic, openai, ollama, local)"),
    ("/model [id]", "show or set the model"),
    ("/theme [name]", "show or set the theme (dark, light, or a themes/*.toml file)"),
    ("/help", "this list"),
    ("/quit", "leave (asks first when accepted hunks were not applied)"),
];

/// A line that is not a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Empty input.
    #[error("type a command, e.g. /codegen; /help lists them")]
    Empty,
    /// Unknown command.
    #[error("unknown command `{0}`; /help lists the commands")]
    Unknown(String),
    /// Wrong arguments.
    #[error("usage: {0}")]
    Usage(&'static str),
}

/// Parses one command line (the leading `/` or `:` is optional).
///
/// # Errors
/// [`ParseError`] naming the problem.
pub fn parse(line: &str) -> Result<SlashCommand, ParseError> {
    let line = line.trim();
    let line = line.strip_prefix('/').or_else(|| line.strip_prefix(':')).unwrap_or(line);
    let mut words = line.split_whitespace();
    let Some(cmd) = words.next() else { return Err(ParseError::Empty) };
    let rest: Vec<&str> = words.collect();
    let one = |usage: &'static str| -> Result<Option<String>, ParseError> {
        match rest.as_slice() {
            [] => Ok(None),
            [x] => Ok(Some((*x).to_owned())),
            _ => Err(ParseError::Usage(usage)),
        }
    };
    let none =
        |c: SlashCommand, usage: &'static str| if rest.is_empty() { Ok(c) } else { Err(ParseError::Usage(usage)) };
    match cmd {
        "codegen" => none(SlashCommand::Codegen, "/codegen"),
        "redo" => match rest.as_slice() {
            ["codegen"] => Ok(SlashCommand::RedoCodegen),
            _ => Err(ParseError::Usage("/redo codegen")),
        },
        "cancel" => none(SlashCommand::Cancel, "/cancel"),
        "accept" => none(SlashCommand::Accept, "/accept"),
        "reject" => one("/reject [path]").map(SlashCommand::Reject),
        "undo" => none(SlashCommand::Undo, "/undo"),
        "files" => none(SlashCommand::Files, "/files"),
        "errors" => none(SlashCommand::Errors, "/errors"),
        "diff" => one("/diff [path]").map(SlashCommand::Diff),
        "log" => none(SlashCommand::Log, "/log"),
        "provider" => one("/provider [name]").map(SlashCommand::Provider),
        "model" => one("/model [id]").map(SlashCommand::Model),
        "theme" => one("/theme [name]").map(SlashCommand::Theme),
        "help" | "?" => none(SlashCommand::Help, "/help"),
        "quit" | "q" | "exit" => none(SlashCommand::Quit, "/quit"),
        other => Err(ParseError::Unknown(format!("/{other}"))),
    }
}

/// Completions for `line` (the text before the cursor): command names first, then arguments
/// (`paths` for `/diff` and `/reject`, `providers` for `/provider`, `themes` for `/theme`).
/// Each completion is the whole new line.
pub fn complete(line: &str, paths: &[String], providers: &[String], themes: &[String]) -> Vec<String> {
    let t = line.trim_start();
    let (prefix, body) = match t.chars().next() {
        Some(c @ ('/' | ':')) => (c.to_string(), &t[1..]),
        _ => ("/".to_owned(), t),
    };
    match body.split_once(' ') {
        None => {
            let mut names: Vec<String> = COMMANDS
                .iter()
                .map(|(c, _)| c.trim_start_matches('/').split(' ').next().unwrap_or(""))
                .filter(|n| n.starts_with(body))
                .map(|n| format!("{prefix}{n}"))
                .collect();
            names.dedup();
            names
        }
        Some((cmd, arg)) => {
            let pool: Vec<String> = match cmd {
                "diff" | "reject" => paths.to_vec(),
                "provider" => providers.to_vec(),
                "theme" => themes.to_vec(),
                "redo" => vec!["codegen".into()],
                _ => Vec::new(),
            };
            pool.into_iter().filter(|p| p.starts_with(arg.trim_start())).map(|p| format!("{prefix}{cmd} {p}")).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_command() {
        assert_eq!(parse("/codegen"), Ok(SlashCommand::Codegen));
        assert_eq!(parse("/redo codegen"), Ok(SlashCommand::RedoCodegen));
        assert_eq!(parse(":diff pkg/a.py"), Ok(SlashCommand::Diff(Some("pkg/a.py".into()))));
        assert_eq!(parse("/diff"), Ok(SlashCommand::Diff(None)));
        assert_eq!(parse("/provider openai"), Ok(SlashCommand::Provider(Some("openai".into()))));
        assert_eq!(parse("/reject"), Ok(SlashCommand::Reject(None)));
        assert_eq!(parse("  /quit "), Ok(SlashCommand::Quit));
        assert_eq!(parse("/redo"), Err(ParseError::Usage("/redo codegen")));
        assert_eq!(parse("/codegen now"), Err(ParseError::Usage("/codegen")));
        assert_eq!(parse("/frobnicate"), Err(ParseError::Unknown("/frobnicate".into())));
        assert_eq!(parse("/"), Err(ParseError::Empty));
    }

    #[test]
    fn completes_names_then_arguments() {
        let paths = vec!["pkg/a.py".to_owned(), "pkg/b.py".to_owned()];
        assert_eq!(complete("/co", &paths, &[], &[]), vec!["/codegen"]);
        assert_eq!(complete("/re", &paths, &[], &[]), vec!["/redo", "/reject"]);
        assert_eq!(complete("/diff pkg/b", &paths, &[], &[]), vec!["/diff pkg/b.py"]);
        assert_eq!(complete("/redo ", &paths, &[], &[]), vec!["/redo codegen"]);
        assert_eq!(complete("/theme l", &[], &[], &["dark".into(), "light".into()]), vec!["/theme light"]);
    }
}

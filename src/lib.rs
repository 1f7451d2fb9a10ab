//! ai-tools: the codegen phase of an AI development pipeline, as a library.
//!
//! A plan already exists (`planning/plan.md` and the per-file `planning/plan.files.json`).
//! ai-tools turns it into code changes a person can inspect, reverse and test: the
//! [`orchestrator`] actor loads and checks the plan ([`task`]), layers its files into waves
//! ([`plan`]), builds a context package per file ([`context`]), asks models through the
//! [`broker`] for each file wave by wave ([`codegen`]), writes the results to `code/files/`,
//! derives `code/diff.patch`, and publishes events that the front ends in [`ui`] render.
//!
//! Module map (one way data flow: command → actor → stages → events → front ends):
//! - [`task`] — the task directory, state.json, atomic path-checked writes
//! - [`plan`] — plan parsing and checks, the file DAG and its waves
//! - [`context`] — repo summary, per-file context packages, the token budget
//! - [`broker`] — the provider trait, Anthropic / OpenAI / Ollama / local providers, roles, retries
//! - [`codegen`] — prompts, reply parsing, SEARCH/REPLACE edits, materialize, diff
//! - [`validate`] — the shadow tree, the validators (ruff, pyright, tsc, cargo, mypy, syntax), finding categories
//! - [`repair`] — the bounded per-file repair loop
//! - [`report`] — findings, categories and repair attempts: the vocabulary validate, repair and runlog share
//! - [`runlog`] — the run log: steps, findings, repair attempts; `logs/run-<id>.json` and `.md`
//! - [`review`] — hunks and their review states, accept (drift-safe, journaled), undo, git
//! - [`orchestrator`] — the actor: commands in, events out, answers on reply channels; [`orchestrator::run`]
//!   is one run's state (`Run`) and its driver, [`orchestrator::stages`] one `impl Run` file per stage
//! - [`config`] — layered configuration
//! - [`models`] — the local model cache: GGUF checks, `model pull` / `model list`
//! - [`ui`] — headless, REPL and TUI front ends; [`ui::commands`] is the one slash-command table
//!
//! Where a new piece goes: a stage is an `impl Run` file in [`orchestrator::stages`] calling its
//! library module; a command is a [`orchestrator::Command`] variant the actor answers with events
//! (plus a row in [`ui::commands`] when people type it); a provider is a [`broker`] module
//! implementing the provider trait.

pub mod broker;
pub mod codegen;
pub mod config;
pub mod context;
pub mod models;
pub mod orchestrator;
pub mod plan;
pub mod repair;
pub mod report;
pub mod review;
pub mod runlog;
pub mod task;
pub mod ui;
pub mod validate;

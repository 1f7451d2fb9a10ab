//! The stages of a codegen run, one file each, every one an `impl Run` block
//! ([`crate::orchestrator::run::Run`]): a stage works on the run's state through the run
//! context's primitives (enter a stage, save, re-derive the diff, log a step) and never calls
//! into a sibling stage's file. The driver in [`crate::orchestrator::run`] sequences them.
//!
//! A new stage goes in a new file here: an `impl Run` method that enters its
//! [`crate::task::state::Stage`] with `self.enter(..)`, calls its library module (the work
//! itself lives in a library module such as [`crate::validate`], never here), publishes its
//! events, and is called from `Run::drive` in its place.

mod apply;
mod begin;
mod context;
mod diff;
mod format;
mod generate;
mod materialize;
mod plan;
mod quality;
pub mod resume;
mod test;
mod verify;

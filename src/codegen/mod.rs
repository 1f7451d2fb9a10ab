//! The generate, materialize and diff stages.
//!
//! - [`prompt`] renders minijinja templates from `prompts/`;
//! - [`generate`] asks the codegen role for one file and parses the reply ([`reply`], [`edit`]);
//!   [`best_of`] samples a file's candidates, autofixes and checks each, and keeps the best;
//! - [`materialize`] writes `code/files/` and the manifest, a `modify` target in its base
//!   file's line-ending style ([`eol`]);
//! - [`patch`] derives `code/diff.patch` with [`diff`] and records the base;
//! - [`feedback`] asks for a new version of one target with the reviewer's feedback (the
//!   review loop's regeneration, driven by [`crate::review::regen`]).

pub mod best_of;
pub mod diff;
pub mod edit;
pub mod eol;
pub mod feedback;
pub mod generate;
pub mod lang;
pub mod materialize;
pub mod patch;
pub mod prompt;
pub mod quality;
pub mod reply;

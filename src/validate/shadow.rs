//! The shadow tree validators run in: the sandbox's [`Scratch`] area under its historical
//! name, so the validate and repair stages keep their vocabulary. See
//! [`crate::sandbox::scratch`] for the invariants (a private copy of the repo, never
//! hard-linked, with `code/files` overlaid).

pub use crate::sandbox::scratch::{Scratch as ShadowTree, ScratchError as ShadowError};

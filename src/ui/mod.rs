//! Front ends. Each renders the orchestrator's event stream and sends it commands; none calls
//! a stage directly.

pub mod headless;

//! The `ai-tools` binary: parses the command line, builds the session, picks a front end.
//! `anyhow` lives only here and in `cli/`; exit codes: 0 ready/ok, 1 failed, 2 bad input,
//! 3 scope mismatch, 4 accept refused because the working tree drifted, 130 interrupted.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    let code = match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            let code = cli::exit_code_of(&e);
            eprintln!("error: {e:#}");
            code
        }
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

//! `moae`: inspect, run and benchmark libmoae models. One module per command; the command
//! line itself is in `args`.

#![cfg_attr(not(test), warn(clippy::too_many_lines))]

use anyhow::Result;
use args::{Cli, Cmd};
use clap::Parser;
use std::process::ExitCode;

mod args;
mod bench;
mod bench_matrix;
mod calib;
mod calibrate;
mod detect;
mod engine;
mod evaluate;
mod files;
mod info;
mod score;

fn main() -> ExitCode {
    // A closed stdout (`moae detect --json ... | head`) ends the process quietly, as for other
    // Unix tools, instead of a panic in println!.
    // SAFETY: setting a signal disposition to the default before any thread starts.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    match run(&Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:?}");
            // A distinct code lets `bench-matrix` (and scripts) tell "provider unavailable here"
            // apart from a real failure.
            let unavailable = e.chain().any(|c| {
                matches!(
                    c.downcast_ref::<moae_runtime::Error>(),
                    Some(moae_runtime::Error::ProviderUnavailable { .. })
                )
            });
            if unavailable {
                ExitCode::from(bench_matrix::EXIT_PROVIDER_UNAVAILABLE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run(cli: &Cli) -> Result<()> {
    let ort = &cli.ort;
    match &cli.cmd {
        Cmd::Info(a) => info::run(ort, a),
        Cmd::Detect(a) => detect::run(ort, a),
        Cmd::Calibrate(a) => calibrate::run(ort, a),
        Cmd::Score(a) => score::run(ort, a),
        Cmd::Evaluate(a) => evaluate::run(ort, a),
        Cmd::Bench(a) => bench::run(ort, a),
        Cmd::BenchMatrix(a) => bench_matrix::command(ort, a),
    }
}

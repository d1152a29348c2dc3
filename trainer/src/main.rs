//! `trainer`: the MoAE-CR command line (its clap types are in `cli/`; the work is in the
//! `moae_trainer` library).
use clap::Parser;

mod cli;

fn main() -> anyhow::Result<()> {
    // An interrupted write (Ctrl-C, kill) removes its temp file instead of leaving it behind.
    moae_trainer::atomic_file::remove_temps_on_signal();
    cli::run(cli::Cli::parse())
}

//! `trainer`: the MoAE-CR command line (its clap types are in `cli/`; the work is in the
//! `moae_trainer` library).
use clap::Parser;

mod cli;

fn main() -> anyhow::Result<()> {
    // A closed stdout (`trainer metrics ... | head`) ends the process quietly, as for other
    // Unix tools, instead of a panic in println!. Files are written whole or not at all
    // (atomic_file), so a process ended this way leaves no partial output.
    // SAFETY: setting a signal disposition to the default before any thread starts.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // An interrupted write (Ctrl-C, kill) removes its temp file instead of leaving it behind.
    moae_trainer::atomic_file::remove_temps_on_signal();
    cli::run(cli::Cli::parse())
}

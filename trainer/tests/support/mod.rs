//! What several of the trainer's test binaries share.

use std::process::Command;

/// Runs the `trainer` binary: whether it succeeded, and its stdout and stderr together (no
/// backtrace, so a message is judged as a user sees it).
pub fn trainer(args: &[&str]) -> (bool, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_trainer"))
        .args(args)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("running trainer");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

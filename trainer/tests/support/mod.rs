//! What several of the trainer's test binaries share (each binary uses part of it).
#![allow(dead_code)]

use moae_trainer::data::lists::Split;
use moae_trainer::runs::DataSource;
use moae_trainer::train::TrainData;
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

/// tch's RNG is global: students built by tests running in parallel would interleave their
/// draws (and two runs meant to start alike would not), so such tests hold this lock.
pub fn serial() -> MutexGuard<'static, ()> {
    static RNG: Mutex<()> = Mutex::new(());
    RNG.lock().unwrap_or_else(|e| e.into_inner())
}

/// The P1 train and dev lists of a synthetic set at `root` (one decoding worker), the train
/// list replaced by `train_list` when given.
pub fn p1_train_data(root: &Path, train_list: Option<&Path>) -> TrainData {
    let mut src = DataSource::protocol(root, "p1", 1);
    src.train_list = train_list.map(Path::to_path_buf);
    TrainData {
        train: src.split(Split::Train).unwrap().unwrap(),
        dev: src.split(Split::Dev).unwrap(),
        workers: 1,
        skip_bad: false,
    }
}

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

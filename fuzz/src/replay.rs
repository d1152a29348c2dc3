//! Stable-toolchain driver of the fuzz bodies: `replay TARGET [CORPUS_DIR|FILE]...` with
//! TARGET `detect`, `analyze`, `decode_image` or `create_model` replays the files (a cargo-fuzz corpus or
//! crash files), then runs inputs for `MOAE_FUZZ_SECONDS` (default 10) seconds: random bytes
//! for `analyze`, random mutations (byte flips, cuts, splices) of the seeds for the others.
//! `replay seeds TARGET DIR` writes the target's seed corpus for libFuzzer.
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        "usage: replay detect|analyze|decode_image|create_model [CORPUS]... | replay seeds TARGET DIR";
    let target = args.first().expect(usage).clone();
    if target == "seeds" {
        let (t, dir) = (args.get(1).expect(usage), args.get(2).expect(usage));
        std::fs::create_dir_all(dir).unwrap();
        for (i, s) in moae_ffi_fuzz::seeds(t).iter().enumerate() {
            std::fs::write(format!("{dir}/seed-{i}"), s).unwrap();
        }
        return;
    }
    let body = moae_ffi_fuzz::body(&target).expect(usage);
    let mut replayed = 0usize;
    for arg in &args[1..] {
        let path = std::path::PathBuf::from(arg);
        let files: Vec<_> = if path.is_dir() {
            std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect()
        } else {
            vec![path]
        };
        for f in files {
            body(&std::fs::read(&f).unwrap());
            replayed += 1;
        }
    }
    let secs: u64 = std::env::var("MOAE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut inputs = moae_ffi_fuzz::Generator::new(&target);
    let mut runs = 0u64;
    while Instant::now() < deadline {
        let data = inputs.next_input();
        if std::panic::catch_unwind(|| body(&data)).is_err() {
            // Kept as libFuzzer keeps a crash, to replay and to turn into a regression test.
            let dir = format!("fuzz/artifacts/{target}");
            let file = format!("{dir}/crash-replay-{runs}");
            let _ = std::fs::create_dir_all(&dir);
            std::fs::write(&file, &data).unwrap();
            panic!("{target}: generated input {runs} failed; written to {file}");
        }
        runs += 1;
    }
    println!(
        "{target}: replayed {replayed} inputs, ran {runs} generated inputs in {secs} s: no failure"
    );
}

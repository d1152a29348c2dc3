//! Stable-toolchain driver of the same fuzz body: replays files/directories given as
//! arguments (a cargo-fuzz corpus or crash files), then runs random inputs for
//! `MOAE_FUZZ_SECONDS` (default 10) seconds. Usage:
//!   cargo run --release --manifest-path fuzz/Cargo.toml --bin replay -- [CORPUS_DIR|FILE]...
use std::time::{Duration, Instant};

fn main() {
    let mut replayed = 0usize;
    for arg in std::env::args().skip(1) {
        let path = std::path::PathBuf::from(arg);
        let files: Vec<_> = if path.is_dir() {
            std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()).collect()
        } else {
            vec![path]
        };
        for f in files {
            moae_ffi_fuzz::run_one(&std::fs::read(&f).unwrap());
            replayed += 1;
        }
    }
    let secs: u64 = std::env::var("MOAE_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut runs = 0u64;
    while Instant::now() < deadline {
        let len = (next() % 4096) as usize;
        let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        moae_ffi_fuzz::run_one(&data);
        runs += 1;
    }
    println!("replayed {replayed} inputs, ran {runs} random inputs in {secs} s: no failure");
}

//! Stable-toolchain driver of the fuzz bodies: `replay TARGET [CORPUS_DIR|FILE]...` with
//! TARGET `detect`, `decode_image` or `create_model` replays the files (a cargo-fuzz corpus or
//! crash files), then runs inputs for `MOAE_FUZZ_SECONDS` (default 10) seconds: random bytes
//! for `detect`, random mutations (byte flips, cuts, splices) of the seeds for the others.
//! `replay seeds TARGET DIR` writes the target's seed corpus for libFuzzer.
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        "usage: replay detect|decode_image|create_model [CORPUS]... | replay seeds TARGET DIR";
    let target = args.first().expect(usage).clone();
    if target == "seeds" {
        let (t, dir) = (args.get(1).expect(usage), args.get(2).expect(usage));
        std::fs::create_dir_all(dir).unwrap();
        for (i, s) in seeds(t).iter().enumerate() {
            std::fs::write(format!("{dir}/seed-{i}"), s).unwrap();
        }
        return;
    }
    let body: fn(&[u8]) = match target.as_str() {
        "detect" => moae_ffi_fuzz::run_one,
        "decode_image" => moae_ffi_fuzz::decode_one,
        "create_model" => moae_ffi_fuzz::create_one,
        _ => panic!("{usage}"),
    };
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
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let seeds = seeds(&target);
    let mut runs = 0u64;
    while Instant::now() < deadline {
        let data: Vec<u8> = if seeds.is_empty() {
            let len = (next() % 4096) as usize;
            (0..len).map(|_| next() as u8).collect()
        } else {
            let mut d = seeds[(next() % seeds.len() as u64) as usize].clone();
            for _ in 0..1 + next() % 8 {
                if d.is_empty() {
                    break;
                }
                let at = (next() % d.len() as u64) as usize;
                match next() % 4 {
                    0 => d.truncate(at),
                    1 => d[at] = next() as u8,
                    2 => d.insert(at, next() as u8),
                    _ => d[at] ^= 1 << (next() % 8),
                }
            }
            d
        };
        body(&data);
        runs += 1;
    }
    println!(
        "{target}: replayed {replayed} inputs, ran {runs} generated inputs in {secs} s: no failure"
    );
}

fn seeds(target: &str) -> Vec<Vec<u8>> {
    match target {
        "decode_image" => moae_ffi_fuzz::decode_seeds(),
        "create_model" => moae_ffi_fuzz::create_seeds(),
        _ => Vec::new(),
    }
}

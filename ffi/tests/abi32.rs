//! The C ABI is 64-bit only, and says so at compile time: `include/moae.h` asserts 8-byte
//! pointers, so a 32-bit build stops with that message instead of failing every call at run
//! time with MOAE_ERR_STRUCT_SIZE (the version-1 sizes 80/96 are those of 64-bit targets).
//! Compiles tests/c/abi_sizes.c (0.1 and 0.2 layouts) with gcc -m64 (must pass, C99, C11 and
//! C++11) and gcc -m32 (must fail with the header's message; needs gcc-multilib).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn compile(compiler: &str, args: &[&str]) -> Output {
    Command::new(compiler)
        .args(args)
        .arg("-fsyntax-only")
        .arg("-I")
        .arg(root().join("include"))
        .arg(root().join("ffi/tests/c/abi_sizes.c"))
        .output()
        .expect("run the compiler")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn the_header_compiles_for_64_bit_and_its_sizes_hold() {
    if support::tool_missing("gcc") {
        return;
    }
    for std in ["-std=c99", "-std=c11", "-std=c17"] {
        let o = compile("gcc", &["-m64", std, "-Wall", "-Werror"]);
        assert!(o.status.success(), "gcc -m64 {std}:\n{}", text(&o));
    }
    let o = compile(
        "g++",
        &["-m64", "-std=c++11", "-x", "c++", "-Wall", "-Werror"],
    );
    assert!(o.status.success(), "g++ -m64 -std=c++11:\n{}", text(&o));
}

#[test]
fn a_32_bit_build_stops_at_the_headers_assertion() {
    if support::tool_missing("gcc") {
        return;
    }
    // gcc-multilib provides the 32-bit headers; without it -m32 fails for another reason.
    let probe = Command::new("gcc")
        .args(["-m32", "-fsyntax-only", "-x", "c", "-"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("gcc");
    let multilib = Command::new("sh")
        .arg("-c")
        .arg("echo '#include <stdint.h>' | gcc -m32 -fsyntax-only -x c -")
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !probe.status.success() || !multilib {
        assert!(
            std::env::var_os("CI").is_none(),
            "gcc -m32 cannot compile (install gcc-multilib)"
        );
        eprintln!("SKIPPED: gcc -m32 unavailable (apt-get install gcc-multilib)");
        return;
    }
    for (compiler, args) in [
        ("gcc", vec!["-m32", "-std=c99"]),
        ("gcc", vec!["-m32", "-std=c11"]),
        ("g++", vec!["-m32", "-std=c++11", "-x", "c++"]),
    ] {
        let o = compile(compiler, &args);
        let t = text(&o);
        assert!(
            !o.status.success(),
            "{compiler} {args:?} compiled a 32-bit build:\n{t}"
        );
        assert!(
            t.contains("64-bit only") || t.contains("64_bit_only"),
            "{compiler} {args:?} failed, but not at the header's assertion:\n{t}"
        );
    }
}

//! Java's and Swift's copies of the ABI numbers are checked against the one owner,
//! `moae_runtime::abi`: status codes and names (`MoaeException.Status`, `MoaeError.Status`,
//! `moae_status` in include/moae.h), their static messages (`moae_status_message`), and pixel
//! format codes (`ai.moae.PixelFormat`, Swift `PixelFormat`).

use moae_runtime::abi::{self, Status};
use moae_runtime::PixelFormat;
use std::collections::BTreeMap;
use std::path::Path;

fn read(rel: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The text between `start` and the next `end` after it.
fn section<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let a = text
        .find(start)
        .unwrap_or_else(|| panic!("`{start}` not found"));
    let rest = &text[a..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// `NAME(code` pairs of a Java enum body.
fn java_pairs(body: &str) -> BTreeMap<String, i32> {
    let re = regex::Regex::new(r"(?m)^\s*([A-Z][A-Z0-9_]*)\((-?\d+)").unwrap();
    re.captures_iter(body)
        .map(|c| (c[1].to_string(), c[2].parse().unwrap()))
        .collect()
}

/// `name = code` pairs of a Swift enum body (in `case a = 1, b = 2` lines).
fn swift_pairs(body: &str) -> BTreeMap<String, i32> {
    let re = regex::Regex::new(r"([a-z][A-Za-z0-9]*)\s*=\s*(-?\d+)").unwrap();
    body.lines()
        .filter(|l| l.trim_start().starts_with("case "))
        .flat_map(|l| re.captures_iter(l).collect::<Vec<_>>())
        .map(|c| (c[1].to_string(), c[2].parse().unwrap()))
        .collect()
}

fn upper_snake(camel: &str) -> String {
    let mut out = String::new();
    for ch in camel.chars() {
        if ch.is_ascii_uppercase() && !out.is_empty() {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

fn expected_statuses() -> BTreeMap<String, i32> {
    Status::ALL
        .iter()
        .filter(|s| **s != Status::Ok)
        .map(|s| (s.name().to_string(), s.code()))
        .collect()
}

#[test]
fn java_status_enum_is_the_abi_table() {
    let java = read("android/moae/src/main/java/ai/moae/MoaeException.java");
    let mut got = java_pairs(section(
        &java,
        "public enum Status",
        "public final int code",
    ));
    assert_eq!(
        got.remove("UNKNOWN"),
        Some(-1),
        "UNKNOWN(-1) is the catch-all"
    );
    // CLOSED(-2) is Java's and Swift's own (C frees its handle), the same number in both.
    assert_eq!(
        got.remove("CLOSED"),
        Some(-2),
        "CLOSED(-2) as Swift's .closed"
    );
    assert_eq!(got, expected_statuses());
}

#[test]
fn swift_status_enum_is_the_abi_table() {
    let swift = read("ios/Sources/Moae/Types.swift");
    let mut got: BTreeMap<String, i32> =
        swift_pairs(section(&swift, "public enum Status: Int32", "\n    }"))
            .into_iter()
            .map(|(k, v)| (upper_snake(&k), v))
            .collect();
    assert_eq!(got.remove("CLOSED"), Some(-2));
    assert_eq!(got.remove("UNKNOWN"), Some(-1));
    assert_eq!(got, expected_statuses());
}

#[test]
fn c_header_statuses_and_messages_are_the_abi_table() {
    let header = read("include/moae.h");
    let re = regex::Regex::new(r"MOAE_(?:ERR_)?([A-Z_]+) = (\d+)").unwrap();
    let body = section(&header, "enum moae_status", "};");
    let got: BTreeMap<String, i32> = re
        .captures_iter(body)
        .map(|c| (c[1].to_string(), c[2].parse().unwrap()))
        .collect();
    let want: BTreeMap<String, i32> = Status::ALL
        .iter()
        .map(|s| (s.name().to_string(), s.code()))
        .collect();
    assert_eq!(got, want);
    for s in Status::ALL {
        let m = unsafe { std::ffi::CStr::from_ptr(moae::moae_status_message(s.code())) };
        assert_eq!(m, s.message(), "{s:?}");
    }
}

#[test]
fn pixel_format_codes_agree() {
    let java = read("android/moae/src/main/java/ai/moae/PixelFormat.java");
    let mut got = java_pairs(&java);
    assert_eq!(got.remove("YUV_420_888"), Some(abi::PIXEL_YUV_420_888));
    let want: BTreeMap<String, i32> = PixelFormat::ALL
        .iter()
        .map(|&f| (f.to_string().to_uppercase(), abi::pixel_format_code(f)))
        .collect();
    assert_eq!(got, want);
    let swift = read("ios/Sources/Moae/Types.swift");
    let got: BTreeMap<String, i32> =
        swift_pairs(section(&swift, "public enum PixelFormat", "\n    var"))
            .into_iter()
            .map(|(k, v)| (k.to_uppercase(), v))
            .collect();
    assert_eq!(got, want);
}

/// `NAME(code` or `NAME(1 << n` pairs of a Java enum body.
fn java_shift_pairs(body: &str) -> BTreeMap<String, i64> {
    let re = regex::Regex::new(r"(?m)^\s*([A-Z][A-Z0-9_]*)\((\d+)(?:\s*<<\s*(\d+))?\)").unwrap();
    re.captures_iter(body)
        .map(|c| {
            let a: i64 = c[2].parse().unwrap();
            let v = c
                .get(3)
                .map_or(a, |s| a << s.as_str().parse::<i64>().unwrap());
            (c[1].to_string(), v)
        })
        .collect()
}

#[test]
fn java_decision_source_and_quality_flags_are_the_runtime_codes() {
    use moae_runtime::{Decision, FaceSource, QualityFlags};
    let java = read("android/moae/src/main/java/ai/moae/Decision.java");
    let got = java_shift_pairs(section(
        &java,
        "public enum Decision",
        "public final int code",
    ));
    let want: BTreeMap<String, i64> = [Decision::Live, Decision::Attack, Decision::Unsure]
        .iter()
        .map(|d| (d.name().to_uppercase(), i64::from(d.code())))
        .collect();
    assert_eq!(got, want);

    let java = read("android/moae/src/main/java/ai/moae/FaceResult.java");
    let got = java_shift_pairs(section(
        &java,
        "public enum Source",
        "public final int code",
    ));
    let want: BTreeMap<String, i64> = [
        ("DETECTOR", FaceSource::Detector),
        ("CALLER", FaceSource::Caller),
        ("WHOLE_FRAME", FaceSource::WholeFrame),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_string(), i64::from(moae_jni::pack::source_code(s))))
    .collect();
    assert_eq!(got, want);

    let java = read("android/moae/src/main/java/ai/moae/QualityFlag.java");
    let got = java_shift_pairs(section(
        &java,
        "public enum QualityFlag",
        "public final int bit",
    ));
    let want: BTreeMap<String, i64> = QualityFlags::ALL
        .iter()
        .map(|(f, n)| (n.to_uppercase(), i64::from(f.bits())))
        .collect();
    assert_eq!(got, want);
    assert_eq!(got.len(), 9);
}

#[test]
fn swift_decision_source_and_quality_flags_are_the_runtime_codes() {
    use moae_runtime::{Decision, FaceSource, QualityFlags};
    let swift = read("ios/Sources/Moae/Types.swift");
    let got = swift_pairs(section(&swift, "public enum Decision: Int32", "\n}"));
    let want: BTreeMap<String, i32> = [Decision::Live, Decision::Attack, Decision::Unsure]
        .iter()
        .map(|d| (d.name().to_string(), d.code()))
        .collect();
    assert_eq!(got, want);

    let got = swift_pairs(section(&swift, "public enum FaceSource: Int32", "\n}"));
    let want: BTreeMap<String, i32> = [
        ("detector", FaceSource::Detector),
        ("caller", FaceSource::Caller),
        ("wholeFrame", FaceSource::WholeFrame),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_string(), moae_jni::pack::source_code(s)))
    .collect();
    assert_eq!(got, want);

    // `public static let tooSmall = QualityFlags(rawValue: 1 << 2)`
    let re = regex::Regex::new(r"static let (\w+) = QualityFlags\(rawValue: 1 << (\d+)\)").unwrap();
    let got: BTreeMap<String, u32> = re
        .captures_iter(section(&swift, "public struct QualityFlags", "\n}"))
        .map(|c| (upper_snake(&c[1]), 1u32 << c[2].parse::<u32>().unwrap()))
        .collect();
    let want: BTreeMap<String, u32> = QualityFlags::ALL
        .iter()
        .map(|(f, n)| (n.to_uppercase(), f.bits()))
        .collect();
    assert_eq!(got, want);
}

/// The YUV matrix codes: Swift's `YuvMatrix`, the C header's `moae_yuv_matrix` and the value
/// `MoaeFrame.nativeInts()` sends for each Java `YuvMatrix`, against `abi::YUV_BT601/709`.
#[test]
fn yuv_matrix_codes_agree() {
    let want: BTreeMap<String, i32> = [
        ("BT601".to_string(), abi::YUV_BT601),
        ("BT709".to_string(), abi::YUV_BT709),
    ]
    .into();
    let swift = read("ios/Sources/Moae/Types.swift");
    let got: BTreeMap<String, i32> = swift_pairs(section(&swift, "public enum YuvMatrix", "}"))
        .into_iter()
        .map(|(k, v)| (k.to_uppercase(), v))
        .collect();
    assert_eq!(got, want, "Swift YuvMatrix");
    let header = read("include/moae.h");
    let re = regex::Regex::new(r"MOAE_YUV_(BT\d+) = (\d+)").unwrap();
    let got: BTreeMap<String, i32> = re
        .captures_iter(&header)
        .map(|c| (c[1].to_string(), c[2].parse().unwrap()))
        .collect();
    assert_eq!(got, want, "moae.h moae_yuv_matrix");
    let java = read("android/moae/src/main/java/ai/moae/MoaeFrame.java");
    assert!(
        java.contains("yuvMatrix == YuvMatrix.BT709 ? 1 : 0}")
            && abi::YUV_BT709 == 1
            && abi::YUV_BT601 == 0,
        "MoaeFrame.nativeInts() must send BT709 as 1, BT601 as 0"
    );
}

//! Every C struct's size, alignment and field offsets, printed and pinned: the Rust
//! definitions (`std::mem::offset_of!`) and a C compiler's reading of `include/moae.h`
//! (`offsetof`) must both give `tests/abi_layout.txt`, and the header must declare exactly the
//! fields listed here, in this order. A field added, moved or resized changes the table: if
//! that is intended (an appended field of a sized struct), update the table with
//! `MOAE_BLESS_LAYOUT=1 cargo test -p moae-ffi --test layout`.

mod support;

use moae::*;
use std::fmt::Write as _;
use std::mem::{align_of, offset_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Struct name, size, alignment, and (field, offset) in declaration order.
type Layout = (&'static str, usize, usize, Vec<(&'static str, usize)>);

macro_rules! layouts {
    ($($s:ident { $($f:ident),* $(,)? })*) => {
        vec![$((
            stringify!($s),
            size_of::<$s>(),
            align_of::<$s>(),
            vec![$((stringify!($f).trim_start_matches("r#"), offset_of!($s, $f))),*],
        )),*]
    };
}

fn rust_layouts() -> Vec<Layout> {
    layouts! {
        moae_quality_options {
            min_face_px, max_outside_fraction, min_brightness, max_brightness,
            max_overexposed_fraction, min_sharpness, max_roll_deg, max_yaw_deg,
            allow_several_faces,
        }
        moae_options {
            struct_size, abi_version, providers, provider_count, require_provider,
            intra_op_threads, max_sessions, ort_library_path, model_sha256, tensorrt_cache_dir,
            tensorrt_fp16, coreml_compute_units, threshold, crop_scale, face_detector_path,
            face_detector_data, face_detector_len, detector_min_score, whole_frame, quality,
        }
        moae_image {
            struct_size, format, width, height, planes, plane_sizes, strides, rotation,
            mirrored, yuv_range, yuv_matrix,
        }
        moae_engine_info {
            struct_size, provider, input_size, threshold, threshold_calibrated, model_sha256,
            precision, ort_version, ort_library_path, fallback_reason,
        }
        moae_box { x, y, width, height }
        moae_result {
            attack_score, live_score, is_attack, threshold, provider, latency_ms, has_attack_type,
            attack_type_probs,
        }
        moae_box_input { rect, space, units }
        moae_quality {
            face_px, outside_fraction, brightness, overexposed_fraction, sharpness, roll_deg,
            yaw_deg,
        }
        moae_face {
            r#box, keypoints, has_keypoints, source, detector_score, attack_score, live_score,
            threshold, decision, quality_flags, quality, latency_ms, has_attack_type, attack_type_probs,
        }
    }
}

fn table(layouts: &[Layout]) -> String {
    let mut t = String::new();
    for (name, size, align, fields) in layouts {
        writeln!(t, "{name} size {size} align {align}").unwrap();
        for (f, off) in fields {
            writeln!(t, "  {name}.{f} {off}").unwrap();
        }
    }
    t
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The same table as a C compiler lays the header's structs out.
fn c_table(layouts: &[Layout], dir: &Path) -> String {
    let mut src = String::from(
        "#include <stddef.h>\n#include <stdio.h>\n#include \"moae.h\"\nint main(void) {\n",
    );
    for (name, _, _, fields) in layouts {
        writeln!(
            src,
            "  printf(\"{name} size %zu align %zu\\n\", sizeof({name}), _Alignof({name}));"
        )
        .unwrap();
        for (f, _) in fields {
            writeln!(
                src,
                "  printf(\"  {name}.{f} %zu\\n\", offsetof({name}, {f}));"
            )
            .unwrap();
        }
    }
    src.push_str("  return 0;\n}\n");
    let (c, exe) = (dir.join("layout.c"), dir.join("layout"));
    std::fs::write(&c, src).unwrap();
    let out = Command::new("gcc")
        .args(["-std=c11", "-Wall", "-Werror", "-I"])
        .arg(root().join("include"))
        .arg(&c)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("run gcc");
    assert!(
        out.status.success(),
        "gcc:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&exe).output().expect("run the layout program");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// The field names of `typedef struct name { ... } name;` in the header, in order.
fn header_fields(header: &str, name: &str) -> Vec<String> {
    let start = header
        .find(&format!("typedef struct {name} {{"))
        .unwrap_or_else(|| panic!("include/moae.h has no struct {name}"));
    let body = &header[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find(&format!("}} {name};")).unwrap()];
    body.lines()
        .map(|l| l.split("//").next().unwrap().trim())
        .filter(|l| l.ends_with(';'))
        .map(|l| {
            let decl = l.trim_end_matches(';');
            let decl = decl.split('[').next().unwrap();
            let ident = decl.rsplit([' ', '*']).next().unwrap();
            ident.to_string()
        })
        .collect()
}

#[test]
fn struct_layouts_are_pinned_and_the_header_agrees() {
    let layouts = rust_layouts();
    let rust = table(&layouts);
    println!("{rust}");
    let header = std::fs::read_to_string(root().join("include/moae.h")).unwrap();
    let declared = header.matches("typedef struct moae_").count();
    // Every struct with a body is listed (moae_engine is opaque: no body).
    assert_eq!(
        declared - 1,
        layouts.len(),
        "include/moae.h declares a struct this test does not list"
    );
    for (name, _, _, fields) in &layouts {
        let want: Vec<&str> = fields.iter().map(|(f, _)| *f).collect();
        assert_eq!(header_fields(&header, name), want, "{name}'s fields");
    }
    let pinned_path = root().join("ffi/tests/abi_layout.txt");
    if std::env::var_os("MOAE_BLESS_LAYOUT").is_some() {
        std::fs::write(&pinned_path, &rust).unwrap();
    }
    let pinned = std::fs::read_to_string(&pinned_path).unwrap();
    assert_eq!(
        rust, pinned,
        "a C struct's layout changed (see the module docs if that is intended)"
    );
    if support::tool_missing("gcc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let c = c_table(&layouts, dir.path());
    assert_eq!(
        c, rust,
        "the C compiler lays include/moae.h out differently"
    );
}

//! Four fuzzed entry points (one libFuzzer target each, and the stable `replay` driver):
//! - [`run_one`] (`detect`): arbitrary bytes become a `moae_image` (format, size, strides,
//!   rotation, plane sizes, even struct_size), boxes and a results capacity, passed to
//!   `moae_detect_sized` on a tiny model, into a results array of a fuzzed element size
//!   (this header's, version 1's 24 bytes, sizes between, below and above). The property:
//!   libmoae never panics, never reads outside what the image claims (the sanitizers/valgrind
//!   check that), returns a known status, on success writes exactly the needed number of
//!   finite scores in [0, 1], and never writes a byte of an element past the whole fields
//!   that fit in its size, nor past the elements it reports.
//! - [`analyze_one`] (`analyze`): a frame built as `run_one`'s, boxes in every space and unit,
//!   a face struct size and capacity, passed to `moae_analyze` (on an engine with the face
//!   detector when its file is present); the answer must keep the header's contract.
//! - [`decode_one`] (`decode_image`): bytes decoded as an image file from memory
//!   (`moae_runtime::decode_image`, what `moae_decode_image_file` and the CLI use); an error
//!   or exactly `3 * w * h` bytes of a non-empty image, which then scores through `moae_detect`.
//! - [`create_one`] (`create_model`): bytes (raw, or edits to the tiny model) passed to
//!   `moae_engine_create_from_memory`; a known status, a detail on failure, and an engine that
//!   scores a frame with a finite score or a named error.

#[path = "../../ffi/tests/support/mod.rs"]
mod support;

use moae::*;
use std::sync::OnceLock;

struct Shared(*mut moae_engine);
// SAFETY: the engine is Sync (libmoae's documented contract); the pointer is never freed.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

fn engine() -> *const moae_engine {
    static E: OnceLock<Shared> = OnceLock::new();
    E.get_or_init(|| {
        let model = support::tiny_model();
        let mut opts: moae_options = unsafe { std::mem::zeroed() };
        moae_options_init_sized(&mut opts, std::mem::size_of::<moae_options>());
        opts.intra_op_threads = 1;
        opts.whole_frame = 1; // calls without boxes score the whole frame
        let mut e = std::ptr::null_mut();
        let st = moae_engine_create_from_memory(model.as_ptr(), model.len(), &opts, &mut e);
        assert_eq!(
            st,
            moae_status::MOAE_OK,
            "the tiny model must load (set ORT_DYLIB_PATH)"
        );
        Shared(e)
    })
    .0
}

struct Bytes<'a>(&'a [u8]);
impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let (b, rest) = self
            .0
            .split_first()
            .map(|(b, r)| (*b, r))
            .unwrap_or((0, &[]));
        self.0 = rest;
        b
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.u8(), self.u8()])
    }
    fn f32(&mut self) -> f32 {
        // Mostly plausible coordinates, sometimes raw bits (NaN, inf, huge).
        if self.u8() < 32 {
            f32::from_le_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
        } else {
            self.u16() as f32 / 512.0 - 16.0
        }
    }
}

/// A `moae_image` from fuzzed bytes, and the pixel bytes its planes point into.
struct FuzzImage {
    image: moae_image,
    _pixels: Vec<u8>,
}

/// Format, size, rotation, mirroring, range, struct size and strides from the first bytes of
/// `b`; the bytes left after `header` more are read by the caller become the pixels.
fn fuzzed_image(
    b: &mut Bytes<'_>,
    data_len: usize,
    header: impl FnOnce(&mut Bytes<'_>),
) -> FuzzImage {
    let format = match b.u8() {
        x if x < 240 => (x % 8) as i32,
        x => x as i32 - 250, // a few unknown formats, negative included
    };
    let width = (b.u8() % 48) as u32;
    let height = (b.u8() % 48) as u32;
    let rotation = [0, 90, 180, 270, 45, -90][(b.u8() % 6) as usize];
    // Mostly valid, sometimes garbage (must be INVALID_ARGUMENT, never read as "on").
    let mirrored = [0, 1, 0, 1, 7, -1][(b.u8() % 6) as usize];
    let yuv_range = [0, 1, 0, 3][(b.u8() % 4) as usize];
    let yuv_matrix = [0, 1, 0, -1][(b.u8() % 4) as usize];
    let struct_size = if b.u8() < 8 {
        b.u8() as u32
    } else {
        std::mem::size_of::<moae_image>() as u32
    };
    let mut strides = [0usize; 3];
    for s in &mut strides {
        let k = b.u8();
        *s = if k < 128 { 0 } else { (k as usize) % 200 };
    }
    header(b);
    // The rest is pixel data, split into three planes at fuzzed points; each plane's claimed
    // size is the bytes really there (claiming more would be the caller's undefined behaviour).
    let pixels = b.0.to_vec();
    let cut1 = if pixels.is_empty() {
        0
    } else {
        pixels.len() * (data_len % 7) / 7
    };
    let cut2 = cut1 + (pixels.len() - cut1) / 2;
    let (p0, rest) = pixels.split_at(if cut1 == 0 { pixels.len() } else { cut1 });
    let (p1, p2) = rest.split_at(cut2.saturating_sub(cut1).min(rest.len()));
    let plane = |p: &[u8]| {
        if p.is_empty() {
            std::ptr::null()
        } else {
            p.as_ptr()
        }
    };
    let image = moae_image {
        struct_size,
        format,
        width,
        height,
        planes: [plane(p0), plane(p1), plane(p2)],
        plane_sizes: [p0.len(), p1.len(), p2.len()],
        strides,
        rotation,
        mirrored,
        yuv_range,
        yuv_matrix,
    };
    FuzzImage {
        image,
        _pixels: pixels,
    }
}

/// A failed call's status is one of the frame/argument errors, with a detail.
fn assert_named_error(st: moae_status, what: &str) {
    use moae_status::*;
    match st {
        MOAE_ERR_NULL_ARGUMENT
        | MOAE_ERR_INVALID_ARGUMENT
        | MOAE_ERR_STRUCT_SIZE
        | MOAE_ERR_INVALID_FRAME
        | MOAE_ERR_INVALID_FACE_BOX
        | MOAE_ERR_UNKNOWN_FORMAT => {
            assert!(!detail().is_empty(), "{what}: no detail for {st:?}");
        }
        other => panic!("{what}: unexpected status {other:?}: {}", detail()),
    }
}

/// `moae_result`'s fields as (offset, size), from the struct itself: what a caller's element
/// of a given size can hold, whole fields only.
fn result_fields() -> [(usize, usize); 8] {
    use std::mem::{offset_of, size_of};
    [
        (offset_of!(moae_result, attack_score), size_of::<f32>()),
        (offset_of!(moae_result, live_score), size_of::<f32>()),
        (offset_of!(moae_result, is_attack), size_of::<i32>()),
        (offset_of!(moae_result, threshold), size_of::<f32>()),
        (offset_of!(moae_result, provider), size_of::<i32>()),
        (offset_of!(moae_result, latency_ms), size_of::<f32>()),
        (offset_of!(moae_result, has_attack_type), size_of::<i32>()),
        (
            offset_of!(moae_result, attack_type_probs),
            size_of::<[f32; 4]>(),
        ),
    ]
}

/// The caller's results array: `capacity` elements of `stride` bytes, filled with a byte that
/// no written field can leave behind unchanged in all its bytes.
const UNTOUCHED: u8 = 0xA7;

fn read_f32(b: &[u8], at: usize) -> f32 {
    f32::from_ne_bytes(b[at..at + 4].try_into().unwrap())
}
fn read_i32(b: &[u8], at: usize) -> i32 {
    i32::from_ne_bytes(b[at..at + 4].try_into().unwrap())
}

pub fn run_one(data: &[u8]) {
    let mut b = Bytes(data);
    let (mut box_count, mut capacity, mut size_pick) = (0, 0, 0);
    let mut boxes = Vec::new();
    let img = fuzzed_image(&mut b, data.len(), |b| {
        box_count = (b.u8() % 4) as usize;
        boxes = (0..box_count)
            .map(|_| moae_box {
                x: b.f32(),
                y: b.f32(),
                width: b.f32(),
                height: b.f32(),
            })
            .collect();
        capacity = (b.u8() % 5) as usize;
        size_pick = b.u8();
    });
    let image = img.image;
    let full = std::mem::size_of::<moae_result>();
    // Mostly this header's size; else version 1's (24), sizes between and around the
    // fields' ends, a newer header's larger struct, too small, and one no array can have.
    let stride = if size_pick < 128 {
        full
    } else {
        [
            0,
            1,
            4,
            23,
            24,
            25,
            27,
            28,
            31,
            full - 1,
            full + 1,
            full + 20,
            64,
            usize::MAX / 2,
        ][(size_pick as usize) % 14]
    };
    // The bytes the caller owns. A size no array can have comes with a capacity whose array
    // would overflow the address space (3 or more elements; refused before any write) or with
    // none; a smaller capacity would claim an array that cannot exist (the caller's error).
    let huge = stride > 4096;
    let capacity = if huge && capacity < 3 { 0 } else { capacity };
    let mut bytes = vec![UNTOUCHED; if huge { 8 } else { capacity * stride + 8 }];
    let mut count = usize::MAX;
    let st = moae_detect_sized(
        engine(),
        &image,
        if boxes.is_empty() {
            std::ptr::null()
        } else {
            boxes.as_ptr()
        },
        box_count,
        if capacity == 0 {
            std::ptr::null_mut()
        } else {
            bytes.as_mut_ptr().cast::<moae_result>()
        },
        stride,
        capacity,
        &mut count,
    );
    let needed = box_count.max(1);
    // Whole fields that fit in one element: the bytes a success may write in each.
    let fits = result_fields()
        .iter()
        .map(|&(at, size)| at + size)
        .filter(|&end| end <= stride)
        .max()
        .unwrap_or(0);
    let written = |i: usize, at: usize| i < count && at < fits && st == moae_status::MOAE_OK;
    for (k, &v) in bytes.iter().enumerate() {
        let (i, at) = (k / stride.max(1), k % stride.max(1));
        if !written(i, at) {
            assert_eq!(
                v, UNTOUCHED,
                "byte {at} of element {i} (element size {stride}, {count} written, {st:?}) changed"
            );
        }
    }
    use moae_status::*;
    if stride < 24 {
        assert_eq!(
            st,
            MOAE_ERR_STRUCT_SIZE,
            "element size {stride}: {}",
            detail()
        );
    }
    if huge && capacity > 0 {
        assert_eq!(
            st, MOAE_ERR_INVALID_ARGUMENT,
            "{capacity} elements of {stride} bytes"
        );
    }
    match st {
        MOAE_OK => {
            assert_eq!(count, needed);
            assert!(stride >= 24, "element size {stride} accepted");
            let fields = result_fields();
            for i in 0..count {
                let e = &bytes[i * stride..];
                let (attack, live) = (read_f32(e, fields[0].0), read_f32(e, fields[1].0));
                let (is_attack, threshold) = (read_i32(e, fields[2].0), read_f32(e, fields[3].0));
                let r = format!("element {i}: attack {attack} live {live} is_attack {is_attack} threshold {threshold}");
                assert!((0.0..=1.0).contains(&attack), "{r}");
                assert!((attack + live - 1.0).abs() < 1e-4, "{r}");
                assert_eq!(is_attack, (attack >= threshold) as i32, "{r}");
                // The tiny model has no attack-type head: "not available", no numbers.
                if fits >= fields[6].0 + 4 {
                    assert_eq!(read_i32(e, fields[6].0), 0, "{r}: has_attack_type");
                }
                if fits >= fields[7].0 + 16 {
                    for j in 0..4 {
                        assert_eq!(
                            read_f32(e, fields[7].0 + 4 * j),
                            0.0,
                            "{r}: probability {j}"
                        );
                    }
                }
            }
        }
        MOAE_ERR_BUFFER_TOO_SMALL => {
            assert!(stride >= 24, "element size {stride} passed the size check");
            assert_eq!(count, needed)
        }
        other => {
            assert_named_error(other, "detect");
            assert_eq!(count, 0);
        }
    }
}

/// The engine `moae_analyze` is fuzzed on: with the face detector when `MOAE_FACE_DIR` (or
/// the repository's `.venv/face`) has it, so that frames without boxes reach the detector;
/// else the whole-frame engine.
fn analyze_engine() -> *const moae_engine {
    static E: OnceLock<Shared> = OnceLock::new();
    E.get_or_init(|| {
        let dir = std::env::var_os("MOAE_FACE_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/face")
            });
        let detector = dir.join("face_detection_front_128x128.onnx");
        if !detector.is_file() {
            eprintln!(
                "analyze: {} missing: fuzzing without the face detector",
                detector.display()
            );
            return Shared(engine() as *mut moae_engine);
        }
        let model = support::tiny_model();
        let path = std::ffi::CString::new(detector.to_str().unwrap()).unwrap();
        let mut opts: moae_options = unsafe { std::mem::zeroed() };
        moae_options_init_sized(&mut opts, std::mem::size_of::<moae_options>());
        opts.intra_op_threads = 1;
        opts.face_detector_path = path.as_ptr();
        let mut e = std::ptr::null_mut();
        let st = moae_engine_create_from_memory(model.as_ptr(), model.len(), &opts, &mut e);
        assert_eq!(st, moae_status::MOAE_OK, "analyze engine: {}", detail());
        Shared(e)
    })
    .0
}

/// `moae_analyze` on a fuzzed frame (as `run_one`'s), fuzzed boxes in every space and unit
/// (valid and not), a fuzzed face struct size and capacity. A finding is a panic, an unknown
/// status, a failure without a detail, or an answer that breaks the header's contract: a face
/// count other than the boxes', a NO_FACE flag that disagrees with the count, a non-finite or
/// out-of-range value, a decision that is not UNSURE with a quality flag set (or that does not
/// follow score >= threshold without one), or a byte written past the faces' capacity.
pub fn analyze_one(data: &[u8]) {
    let mut b = Bytes(data);
    let (mut boxes, mut capacity, mut face_size) = (Vec::new(), 0, 0);
    let img = fuzzed_image(&mut b, data.len(), |b| {
        let n = (b.u8() % 4) as usize;
        boxes = (0..n)
            .map(|_| moae_box_input {
                rect: moae_box {
                    x: b.f32(),
                    y: b.f32(),
                    width: b.f32(),
                    height: b.f32(),
                },
                space: [0, 1, 0, 1, 2, -1][(b.u8() % 6) as usize],
                units: [0, 1, 0, 1, 2, -1][(b.u8() % 6) as usize],
            })
            .collect();
        capacity = (b.u8() % 5) as usize;
        let full = std::mem::size_of::<moae_face>();
        face_size = match b.u8() % 8 {
            0 => b.u8() as usize, // anything, small sizes included
            1 => full + 8,        // a newer, larger struct
            _ => full,
        };
    });
    // One guard byte pattern around the caller's faces: nothing may be written past capacity.
    let bytes = face_size.max(1) * (capacity + 1);
    let mut faces = vec![0xA5u8; bytes];
    let (mut count, mut flags) = (usize::MAX, u32::MAX);
    let st = moae_analyze(
        analyze_engine(),
        &img.image,
        if boxes.is_empty() {
            std::ptr::null()
        } else {
            boxes.as_ptr()
        },
        boxes.len(),
        if capacity == 0 {
            std::ptr::null_mut()
        } else {
            faces.as_mut_ptr() as *mut moae_face
        },
        face_size,
        capacity,
        &mut count,
        &mut flags,
    );
    assert!(
        faces[face_size * capacity..].iter().all(|&x| x == 0xA5),
        "analyze wrote past {capacity} faces of {face_size} bytes"
    );
    use moae_status::*;
    match st {
        MOAE_OK => {
            assert!(
                face_size >= std::mem::size_of::<moae_box>(),
                "{face_size}-byte faces accepted"
            );
            assert!(count <= capacity, "{count} faces > capacity {capacity}");
            if !boxes.is_empty() {
                assert_eq!(count, boxes.len(), "one face per caller box");
            }
            assert_eq!(
                flags & MOAE_QUALITY_NO_FACE != 0,
                count == 0,
                "flags {flags:#x}, {count} faces"
            );
            if face_size >= std::mem::size_of::<moae_face>() {
                for i in 0..count {
                    // SAFETY: inside `faces`, written by the call; read unaligned.
                    let f: moae_face = unsafe {
                        std::ptr::read_unaligned(
                            faces.as_ptr().add(i * face_size) as *const moae_face
                        )
                    };
                    check_face(&f);
                }
            }
        }
        MOAE_ERR_BUFFER_TOO_SMALL => assert!(count > capacity, "{count} <= capacity {capacity}"),
        other => assert_named_error(other, "analyze"),
    }
}

fn check_face(f: &moae_face) {
    let q = &f.quality;
    let values = [
        f.r#box.x,
        f.r#box.y,
        f.r#box.width,
        f.r#box.height,
        f.attack_score,
        f.live_score,
        f.threshold,
        q.face_px,
        q.outside_fraction,
        q.brightness,
        q.overexposed_fraction,
        q.sharpness,
        q.roll_deg,
        q.yaw_deg,
    ];
    assert!(
        values.iter().all(|v| v.is_finite()),
        "non-finite value in {f:?}"
    );
    assert!((0.0..=1.0).contains(&f.attack_score), "{f:?}");
    assert!((f.attack_score + f.live_score - 1.0).abs() < 1e-4, "{f:?}");
    assert!(f.r#box.width > 0.0 && f.r#box.height > 0.0, "{f:?}");
    let want = if f.quality_flags != 0 {
        moae_decision::MOAE_DECISION_UNSURE
    } else if f.attack_score >= f.threshold {
        moae_decision::MOAE_DECISION_ATTACK
    } else {
        moae_decision::MOAE_DECISION_LIVE
    };
    assert_eq!(f.decision, want as i32, "{f:?}");
}

fn detail() -> String {
    unsafe { std::ffi::CStr::from_ptr(moae_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// Scores a packed RGB frame on `e`; a finite score in [0, 1] or a named error.
fn check_scores(e: *const moae_engine, rgb: &[u8], w: u32, h: u32, model_may_fail: bool) {
    let image = moae_image {
        struct_size: std::mem::size_of::<moae_image>() as u32,
        format: moae_pixel_format::MOAE_PIXEL_RGB as i32,
        width: w,
        height: h,
        planes: [rgb.as_ptr(), std::ptr::null(), std::ptr::null()],
        plane_sizes: [rgb.len(), 0, 0],
        strides: [0; 3],
        rotation: 0,
        mirrored: 0,
        yuv_range: 0,
        yuv_matrix: 0,
    };
    let mut r = [moae_result {
        attack_score: -1.0,
        live_score: -1.0,
        is_attack: -1,
        threshold: -1.0,
        provider: -1,
        latency_ms: -1.0,
        has_attack_type: -1,
        attack_type_probs: [-1.0; 4],
    }];
    let mut count = 0usize;
    let st = moae_detect_sized(
        e,
        &image,
        std::ptr::null(),
        0,
        r.as_mut_ptr(),
        std::mem::size_of::<moae_result>(),
        1,
        &mut count,
    );
    match st {
        moae_status::MOAE_OK => {
            assert_eq!(count, 1);
            assert!((0.0..=1.0).contains(&r[0].attack_score), "{:?}", r[0]);
        }
        // A model that loads may still fail at run time (or give a non-finite score): named.
        moae_status::MOAE_ERR_INFERENCE if model_may_fail => assert!(!detail().is_empty()),
        other => panic!("detect: unexpected status {other:?}: {}", detail()),
    }
}

/// Pixels and size of a small test frame.
fn test_frame() -> (Vec<u8>, u32, u32) {
    let (w, h) = (24, 20);
    (support::test_image(3, w, h), w, h)
}

pub fn decode_one(data: &[u8]) {
    match moae_runtime::decode_image(data) {
        Ok((rgb, w, h)) => {
            assert!(w > 0 && h > 0, "empty image {w}x{h} decoded");
            assert_eq!(rgb.len() as u64, 3 * w as u64 * h as u64, "{w}x{h}");
            check_scores(engine(), &rgb, w, h, false);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// Seed inputs for `decode_image`: a PNG and JPEG of the test frame (and a gray one).
pub fn decode_seeds() -> Vec<Vec<u8>> {
    let (rgb, w, h) = test_frame();
    let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_raw(w, h, rgb).unwrap());
    let mut out = Vec::new();
    for (im, fmt) in [
        (img.clone(), image::ImageFormat::Png),
        (img.clone(), image::ImageFormat::Jpeg),
        (
            image::DynamicImage::ImageLuma8(img.to_luma8()),
            image::ImageFormat::Png,
        ),
    ] {
        let mut c = std::io::Cursor::new(Vec::new());
        im.write_to(&mut c, fmt).unwrap();
        out.push(c.into_inner());
    }
    out
}

/// `data[0]` even: the rest is a whole model file. Odd: the rest is edits to the tiny model,
/// 3 bytes each (a 16-bit position scaled over the file, an XOR mask); a last odd byte cuts
/// the file at a fuzzed length. Most edits land in the weights or metadata and keep the
/// protobuf parseable, so both the parser and the checks after it are reached.
pub fn create_one(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let model = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        let mut m = support::tiny_model();
        let len = m.len();
        for e in rest.chunks(3) {
            if let [a, b, x] = *e {
                let at = u16::from_le_bytes([a, b]) as usize * len / 65536;
                m[at] ^= x;
            } else {
                m.truncate(len * e[0] as usize / 256);
            }
        }
        m
    };
    let mut opts: moae_options = unsafe { std::mem::zeroed() };
    moae_options_init_sized(&mut opts, std::mem::size_of::<moae_options>());
    opts.intra_op_threads = 1;
    opts.whole_frame = 1;
    let mut e = std::ptr::null_mut();
    let st = moae_engine_create_from_memory(model.as_ptr(), model.len(), &opts, &mut e);
    match st {
        moae_status::MOAE_OK => {
            assert!(!e.is_null());
            let (rgb, w, h) = test_frame();
            check_scores(e, &rgb, w, h, true);
            moae_engine_destroy(e);
        }
        // An empty buffer is refused as an argument, before any parsing.
        moae_status::MOAE_ERR_INVALID_ARGUMENT if model.is_empty() => assert!(e.is_null()),
        moae_status::MOAE_ERR_NULL_ARGUMENT | moae_status::MOAE_ERR_MODEL => {
            assert!(e.is_null());
            assert!(!detail().is_empty(), "no detail for {st:?}");
        }
        other => panic!("create: unexpected status {other:?}: {}", detail()),
    }
}

/// Seed inputs for `create_model`: the tiny model itself, and one edit of it.
pub fn create_seeds() -> Vec<Vec<u8>> {
    let mut whole = vec![0u8];
    whole.extend(support::tiny_model());
    vec![whole, vec![1, 0x00, 0x80, 0x01]]
}

/// The body of a fuzz target by name: `detect`, `analyze`, `decode_image`, `create_model`.
pub fn body(target: &str) -> Option<fn(&[u8])> {
    Some(match target {
        "detect" => run_one,
        "analyze" => analyze_one,
        "decode_image" => decode_one,
        "create_model" => create_one,
        _ => return None,
    })
}

/// The seed inputs of a target (none for the frame targets: any bytes are a frame).
/// Valid `detect` inputs, one for each results element size `run_one` picks, with no box (the
/// whole frame), one box and three: a small RGB frame whose bytes all land in plane 0.
pub fn detect_seeds() -> Vec<Vec<u8>> {
    // `Bytes::f32`'s plausible form: a selector byte >= 32, then (v + 16) * 512 as u16.
    let coord = |v: f32| {
        let mut b = vec![255u8];
        b.extend_from_slice(&(((v + 16.0) * 512.0) as u16).to_le_bytes());
        b
    };
    let mut seeds = Vec::new();
    for size_pick in std::iter::once(0u8).chain(128..142) {
        for boxes in [0u8, 1, 3] {
            let header = 12 + 12 * boxes as usize + 2;
            // Plane 0 takes every pixel byte only when the input's length is a multiple of 7
            // (`fuzzed_image`), and must hold exactly 3 w h bytes: pick the frame size so.
            let (w, h) = (20u8..=30)
                .flat_map(|w| (20u8..=30).map(move |h| (w, h)))
                .find(|&(w, h)| (header + 3 * w as usize * h as usize).is_multiple_of(7))
                .unwrap();
            // format RGB, w x h, rotation 0, not mirrored, range/matrix defaults, this
            // header's struct_size, strides 0 (tight).
            let mut d = vec![0u8, w, h, 0, 0, 0, 0, 255, 0, 0, 0, boxes];
            for i in 0..boxes {
                for v in [1.0 + i as f32, 1.0, 16.0, 16.0 + i as f32] {
                    d.extend(coord(v));
                }
            }
            d.extend([4, size_pick]); // capacity 4, the element size
            d.extend((0..3 * w as usize * h as usize).map(|i| (i * 7 % 251) as u8));
            debug_assert!(
                d.len() == header + 3 * w as usize * h as usize && d.len().is_multiple_of(7)
            );
            seeds.push(d);
        }
    }
    seeds
}

pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    match target {
        "detect" => detect_seeds(),
        "decode_image" => decode_seeds(),
        "create_model" => create_seeds(),
        _ => Vec::new(),
    }
}

/// Deterministic inputs for the stable driver and the test suite (no libFuzzer): random bytes
/// for targets without seeds, random mutations (cuts, byte sets, inserts, bit flips) of the
/// seeds for the others.
pub struct Generator {
    state: u64,
    seeds: Vec<Vec<u8>>,
}

impl Generator {
    pub fn new(target: &str) -> Self {
        Generator {
            state: 0x2545_F491_4F6C_DD1D,
            seeds: seeds(target),
        }
    }

    fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    pub fn next_input(&mut self) -> Vec<u8> {
        if self.seeds.is_empty() {
            let len = (self.next() % 4096) as usize;
            return (0..len).map(|_| self.next() as u8).collect();
        }
        let pick = (self.next() % self.seeds.len() as u64) as usize;
        let mut d = self.seeds[pick].clone();
        for _ in 0..1 + self.next() % 8 {
            if d.is_empty() {
                break;
            }
            let at = (self.next() % d.len() as u64) as usize;
            match self.next() % 4 {
                0 => d.truncate(at),
                1 => d[at] = self.next() as u8,
                2 => {
                    let b = self.next() as u8;
                    d.insert(at, b)
                }
                _ => d[at] ^= 1 << (self.next() % 8),
            }
        }
        d
    }
}

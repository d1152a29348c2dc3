//! Three fuzzed entry points (one libFuzzer target each, and the stable `replay` driver):
//! - [`run_one`] (`detect`): arbitrary bytes become a `moae_image` (format, size, strides,
//!   rotation, plane sizes, even struct_size), boxes and a results capacity, passed to
//!   `moae_detect` on a tiny model. The property: libmoae never panics, never reads outside
//!   what the image claims (the sanitizers/valgrind check that), returns a known status, and
//!   on success writes exactly the needed number of finite scores in [0, 1].
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

pub fn run_one(data: &[u8]) {
    let mut b = Bytes(data);
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
    let box_count = (b.u8() % 4) as usize;
    let boxes: Vec<moae_box> = (0..box_count)
        .map(|_| moae_box {
            x: b.f32(),
            y: b.f32(),
            width: b.f32(),
            height: b.f32(),
        })
        .collect();
    let capacity = (b.u8() % 5) as usize;
    // The rest is pixel data, split into three planes at fuzzed points; each plane's claimed
    // size is the bytes really there (claiming more would be the caller's undefined behaviour).
    let pixels = b.0.to_vec();
    let cut1 = if pixels.is_empty() {
        0
    } else {
        pixels.len() * (data.len() % 7) / 7
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
    let mut results = vec![
        moae_result {
            attack_score: -1.0,
            live_score: -1.0,
            is_attack: -1,
            threshold: -1.0,
            provider: -1,
            latency_ms: -1.0
        };
        capacity
    ];
    let mut count = usize::MAX;
    let st = moae_detect(
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
            results.as_mut_ptr()
        },
        capacity,
        &mut count,
    );
    let needed = box_count.max(1);
    use moae_status::*;
    match st {
        MOAE_OK => {
            assert_eq!(count, needed);
            for r in &results[..count] {
                assert!((0.0..=1.0).contains(&r.attack_score), "{r:?}");
                assert!((r.attack_score + r.live_score - 1.0).abs() < 1e-4, "{r:?}");
                assert_eq!(r.is_attack, (r.attack_score >= r.threshold) as i32);
            }
        }
        MOAE_ERR_BUFFER_TOO_SMALL => assert_eq!(count, needed),
        MOAE_ERR_NULL_ARGUMENT
        | MOAE_ERR_INVALID_ARGUMENT
        | MOAE_ERR_STRUCT_SIZE
        | MOAE_ERR_INVALID_FRAME
        | MOAE_ERR_INVALID_FACE_BOX
        | MOAE_ERR_UNKNOWN_FORMAT => {
            assert_eq!(count, 0);
            let detail = unsafe { std::ffi::CStr::from_ptr(moae_last_error()) };
            assert!(!detail.to_bytes().is_empty(), "no detail for {st:?}");
        }
        other => panic!("unexpected status {other:?}: {:?}", unsafe {
            std::ffi::CStr::from_ptr(moae_last_error())
        }),
    }
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
    }];
    let mut count = 0usize;
    let st = moae_detect(
        e,
        &image,
        std::ptr::null(),
        0,
        r.as_mut_ptr(),
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

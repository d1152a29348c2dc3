//! The fuzzed frame entry point: arbitrary bytes become a `moae_image` (format, size, strides,
//! rotation, plane sizes, even struct_size), boxes and a results capacity, passed to
//! `moae_detect` on a tiny model. The property: libmoae never panics, never reads outside what
//! the image claims (the sanitizers/valgrind check that), returns a known status, and on
//! success writes exactly the needed number of finite scores in [0, 1].

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
        moae_options_init(&mut opts);
        opts.intra_op_threads = 1;
        let mut e = std::ptr::null_mut();
        let st = moae_engine_create_from_memory(model.as_ptr(), model.len(), &opts, &mut e);
        assert_eq!(st, moae_status::MOAE_OK, "the tiny model must load (set ORT_DYLIB_PATH)");
        Shared(e)
    })
    .0
}

struct Bytes<'a>(&'a [u8]);
impl Bytes<'_> {
    fn u8(&mut self) -> u8 {
        let (b, rest) = self.0.split_first().map(|(b, r)| (*b, r)).unwrap_or((0, &[]));
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
        .map(|_| moae_box { x: b.f32(), y: b.f32(), width: b.f32(), height: b.f32() })
        .collect();
    let capacity = (b.u8() % 5) as usize;
    // The rest is pixel data, split into three planes at fuzzed points; each plane's claimed
    // size is the bytes really there (claiming more would be the caller's undefined behaviour).
    let pixels = b.0.to_vec();
    let cut1 = if pixels.is_empty() { 0 } else { pixels.len() * (data.len() % 7) / 7 };
    let cut2 = cut1 + (pixels.len() - cut1) / 2;
    let (p0, rest) = pixels.split_at(if cut1 == 0 { pixels.len() } else { cut1 });
    let (p1, p2) = rest.split_at(cut2.saturating_sub(cut1).min(rest.len()));
    let plane = |p: &[u8]| if p.is_empty() { std::ptr::null() } else { p.as_ptr() };
    let image = moae_image {
        struct_size,
        format,
        width,
        height,
        planes: [plane(p0), plane(p1), plane(p2)],
        plane_sizes: [p0.len(), p1.len(), p2.len()],
        strides,
        rotation,
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
        if boxes.is_empty() { std::ptr::null() } else { boxes.as_ptr() },
        box_count,
        if capacity == 0 { std::ptr::null_mut() } else { results.as_mut_ptr() },
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
        MOAE_ERR_NULL_ARGUMENT | MOAE_ERR_INVALID_ARGUMENT | MOAE_ERR_STRUCT_SIZE
        | MOAE_ERR_INVALID_FRAME | MOAE_ERR_INVALID_FACE_BOX | MOAE_ERR_UNKNOWN_FORMAT => {
            assert_eq!(count, 0);
            let detail = unsafe { std::ffi::CStr::from_ptr(moae_last_error()) };
            assert!(!detail.to_bytes().is_empty(), "no detail for {st:?}");
        }
        other => panic!("unexpected status {other:?}: {:?}", unsafe {
            std::ffi::CStr::from_ptr(moae_last_error())
        }),
    }
}

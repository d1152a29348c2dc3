//! `moae_analyze` with too small a face array writes the faces that fit, returns the full
//! count with MOAE_ERR_BUFFER_TOO_SMALL, and runs detection once: the count and the faces come
//! from the same detection (a second call could find a different number of faces).
//! One test binary of its own: detector runs are counted through the process-wide log.

mod support;

use moae::*;
use std::ffi::{c_char, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

static DETECTOR_RUNS: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn count_runs(_level: i32, message: *const c_char, _user_data: *mut c_void) {
    if CStr::from_ptr(message)
        .to_string_lossy()
        .contains("face detector run")
    {
        DETECTOR_RUNS.fetch_add(1, Ordering::SeqCst);
    }
}

fn face_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("MOAE_FACE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/face"));
    if dir.join("face_detection_front_128x128.onnx").exists() && dir.join("astronaut.png").exists()
    {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set and {} lacks the face detector (scripts/setup-face.sh)",
        dir.display()
    );
    eprintln!("SKIPPED: no face detector in {}", dir.display());
    None
}

fn cstr(p: &Path) -> CString {
    CString::new(p.to_str().unwrap()).unwrap()
}

/// The astronaut's face (the photo's 200x200 crop at (120, 40)) twice, side by side: a 400x200
/// frame with two faces (as the runtime's own two-face test composes it).
fn two_face_frame(photo: &Path) -> (Vec<u8>, u32, u32) {
    let (mut rgb, mut w, mut h) = (std::ptr::null_mut(), 0u32, 0u32);
    let st = moae_decode_image_file(cstr(photo).as_ptr(), &mut rgb, &mut w, &mut h);
    assert_eq!(st as i32, 0, "decode {}", photo.display());
    let src = unsafe { std::slice::from_raw_parts(rgb, (w * h * 3) as usize) }.to_vec();
    moae_image_free(rgb);
    let (x0, y0, side) = (120usize, 40usize, 200usize);
    assert!(
        w as usize >= x0 + side && h as usize >= y0 + side,
        "photo {w}x{h}"
    );
    let row = w as usize * 3;
    let mut out = Vec::with_capacity(2 * side * side * 3);
    for y in y0..y0 + side {
        let face = &src[y * row + x0 * 3..y * row + (x0 + side) * 3];
        out.extend_from_slice(face);
        out.extend_from_slice(face);
    }
    (out, 2 * side as u32, side as u32)
}

fn analyze(
    engine: *const moae_engine,
    image: &moae_image,
    boxes: &[moae_box_input],
    faces: &mut [moae_face],
) -> (i32, usize) {
    let mut n = usize::MAX;
    let st = moae_analyze(
        engine,
        image,
        if boxes.is_empty() {
            std::ptr::null()
        } else {
            boxes.as_ptr()
        },
        boxes.len(),
        faces.as_mut_ptr(),
        std::mem::size_of::<moae_face>(),
        faces.len(),
        &mut n,
        std::ptr::null_mut(),
    );
    (st as i32, n)
}

#[test]
fn a_too_small_array_gets_the_faces_that_fit_and_the_full_count_from_one_detection() {
    let Some(dir) = face_dir() else { return };
    moae_set_log_level(moae_log_level::MOAE_LOG_DEBUG as i32);
    moae_set_log_callback(Some(count_runs), std::ptr::null_mut());

    let work = tempfile::tempdir().unwrap();
    let model = work.path().join("tiny.onnx");
    std::fs::write(&model, support::tiny_model()).unwrap();
    let detector = cstr(&dir.join("face_detection_front_128x128.onnx"));
    let mut opts: moae_options = unsafe { std::mem::zeroed() };
    moae_options_init_sized(&mut opts, std::mem::size_of::<moae_options>());
    opts.face_detector_path = detector.as_ptr();
    opts.quality.allow_several_faces = 1;
    let mut engine: *mut moae_engine = std::ptr::null_mut();
    let st = moae_engine_create_from_file(cstr(&model).as_ptr(), &opts, &mut engine);
    assert_eq!(st as i32, 0, "create: {:?}", unsafe {
        CStr::from_ptr(moae_last_error())
    });

    let (pixels, w, h) = two_face_frame(&dir.join("astronaut.png"));
    let mut image: moae_image = unsafe { std::mem::zeroed() };
    moae_image_init_sized(&mut image, std::mem::size_of::<moae_image>());
    image.format = moae_pixel_format::MOAE_PIXEL_RGB as i32;
    image.width = w;
    image.height = h;
    image.planes[0] = pixels.as_ptr();
    image.plane_sizes[0] = pixels.len();

    let zero: moae_face = unsafe { std::mem::zeroed() };
    let mut all = vec![zero; 8];
    let (st, n) = analyze(engine, &image, &[], &mut all);
    assert_eq!(
        (st, n),
        (0, 2),
        "the composed frame must have two detector faces"
    );
    assert_eq!(
        DETECTOR_RUNS.load(Ordering::SeqCst),
        1,
        "one call, one detector run"
    );

    // Capacity 1: one face written (the first of the two), count 2, still one detector run.
    let mut one = vec![zero; 1];
    let (st, n) = analyze(engine, &image, &[], &mut one);
    assert_eq!(st, moae_status::MOAE_ERR_BUFFER_TOO_SMALL as i32);
    assert_eq!(n, 2, "the full count");
    assert_eq!(
        DETECTOR_RUNS.load(Ordering::SeqCst),
        2,
        "BUFFER_TOO_SMALL ran detection again"
    );
    let (a, b) = (&one[0], &all[0]);
    assert_eq!(
        (
            a.r#box.x,
            a.r#box.y,
            a.r#box.width,
            a.r#box.height,
            a.source
        ),
        (
            b.r#box.x,
            b.r#box.y,
            b.r#box.width,
            b.r#box.height,
            b.source
        ),
        "the written face is not the first face"
    );
    assert_eq!(a.attack_score, b.attack_score);

    // Capacity 0 with a NULL array still asks the count (nothing written).
    let (st, n) = analyze(engine, &image, &[], &mut []);
    assert_eq!((st, n), (moae_status::MOAE_ERR_BUFFER_TOO_SMALL as i32, 2));

    // Caller boxes: two boxes, capacity 1 -> the first box's face, count 2.
    let bx = |x: f32| moae_box_input {
        rect: moae_box {
            x,
            y: 20.0,
            width: 150.0,
            height: 150.0,
        },
        space: moae_box_space::MOAE_BOX_UPRIGHT as i32,
        units: moae_box_units::MOAE_UNITS_PIXELS as i32,
    };
    let boxes = [bx(20.0), bx(220.0)];
    let (st, n) = analyze(engine, &image, &boxes, &mut one);
    assert_eq!((st, n), (moae_status::MOAE_ERR_BUFFER_TOO_SMALL as i32, 2));
    assert_eq!((one[0].r#box.x, one[0].r#box.width), (20.0, 150.0));

    moae_set_log_callback(None, std::ptr::null_mut());
    moae_engine_destroy(engine);
}

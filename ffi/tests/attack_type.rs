//! The attack-type head through the C ABI (spec §9): `moae_face` and `moae_result`'s
//! `has_attack_type` and `attack_type_probs` carry the model's probabilities unchanged (a
//! distribution), a model without the head says "not available" (0, zeros), a head of the
//! wrong width is refused at load, and a caller of the 0.2 header (128-byte `moae_face`,
//! 24-byte `moae_result`, or the exported `moae_detect` symbol) gets neither field written.

mod support;

use moae::*;
use std::ffi::{CStr, CString};

fn create(model: &[u8]) -> Result<*mut moae_engine, (moae_status, String)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.onnx");
    std::fs::write(&path, model).unwrap();
    let path = CString::new(path.to_str().unwrap()).unwrap();
    let mut o = std::mem::MaybeUninit::<moae_options>::uninit();
    moae_options_init_sized(o.as_mut_ptr(), std::mem::size_of::<moae_options>());
    let mut o = unsafe { o.assume_init() };
    o.intra_op_threads = 1;
    o.whole_frame = 1;
    let mut e = std::ptr::null_mut();
    let s = moae_engine_create_from_file(path.as_ptr(), &o, &mut e);
    if s != moae_status::MOAE_OK {
        let detail = unsafe { CStr::from_ptr(moae_last_error()) };
        return Err((s, detail.to_string_lossy().into_owned()));
    }
    Ok(e)
}

/// One whole-frame analysis into a face array whose stride is `face_size`, pre-filled with a
/// canary byte; returns the first face's bytes.
fn analyze(e: *mut moae_engine, face_size: usize) -> Vec<u8> {
    let (img, _rgb) = image();
    let mut buf = vec![0xa5u8; face_size];
    let (mut count, mut flags) = (0usize, 0u32);
    let s = moae_analyze(
        e,
        &img,
        std::ptr::null(),
        0,
        buf.as_mut_ptr() as *mut moae_face,
        face_size,
        1,
        &mut count,
        &mut flags,
    );
    let detail = unsafe { CStr::from_ptr(moae_last_error()) };
    assert_eq!(s, moae_status::MOAE_OK, "{detail:?}");
    assert_eq!(count, 1);
    buf
}

/// `moae_detect_sized` on two whole-frame-sized boxes into a result array whose stride is
/// `result_size`, pre-filled with a canary byte one element past the capacity too; returns
/// the array's bytes (the two results, then the untouched third element).
fn detect(e: *mut moae_engine, result_size: usize) -> Vec<u8> {
    detect_with(result_size, |results, capacity, count| {
        let (img, _rgb) = image();
        let boxes = two_boxes();
        moae_detect_sized(
            e,
            &img,
            boxes.as_ptr(),
            boxes.len(),
            results,
            result_size,
            capacity,
            count,
        )
    })
}

/// The deprecated exported `moae_detect` (0.1/0.2 binaries): as [`detect`] at its 24-byte
/// stride.
fn detect_legacy(e: *mut moae_engine) -> Vec<u8> {
    detect_with(MOAE_RESULT_V1_SIZE, |results, capacity, count| {
        let (img, _rgb) = image();
        let boxes = two_boxes();
        moae_detect(
            e,
            &img,
            boxes.as_ptr(),
            boxes.len(),
            results,
            capacity,
            count,
        )
    })
}

/// Runs `call(results, capacity 2, count)` on a canary-filled array of three elements.
fn detect_with(
    result_size: usize,
    call: impl FnOnce(*mut moae_result, usize, &mut usize) -> moae_status,
) -> Vec<u8> {
    let mut buf = vec![0xa5u8; 3 * result_size];
    let mut count = 0usize;
    let s = call(buf.as_mut_ptr() as *mut moae_result, 2, &mut count);
    let detail = unsafe { CStr::from_ptr(moae_last_error()) };
    assert_eq!(s, moae_status::MOAE_OK, "{detail:?}");
    assert_eq!(count, 2);
    buf
}

/// A 40 x 30 RGB image (its pixels are returned so they outlive the call).
fn image() -> (moae_image, Vec<u8>) {
    let (w, h) = (40u32, 30u32);
    let rgb = support::test_image(3, w, h);
    let mut img = std::mem::MaybeUninit::<moae_image>::uninit();
    moae_image_init_sized(img.as_mut_ptr(), std::mem::size_of::<moae_image>());
    let mut img = unsafe { img.assume_init() };
    img.format = 0;
    img.width = w;
    img.height = h;
    img.planes[0] = rgb.as_ptr();
    img.plane_sizes[0] = rgb.len();
    (img, rgb)
}

/// Two different boxes, so that the two results differ.
fn two_boxes() -> [moae_box; 2] {
    [
        moae_box {
            x: 0.0,
            y: 0.0,
            width: 24.0,
            height: 24.0,
        },
        moae_box {
            x: 12.0,
            y: 4.0,
            width: 26.0,
            height: 26.0,
        },
    ]
}

/// Element `i` of a result array of stride `size`, read into a full `moae_result` whose bytes
/// past `size` are the canary.
fn result_at(bytes: &[u8], size: usize, i: usize) -> (moae_result, Vec<u8>) {
    let mut full = vec![0xa5u8; std::mem::size_of::<moae_result>().max(size)];
    let n = size.min(full.len());
    full[..n].copy_from_slice(&bytes[i * size..i * size + n]);
    let r = unsafe { std::ptr::read_unaligned(full.as_ptr() as *const moae_result) };
    (r, full)
}

fn as_face(bytes: &[u8]) -> moae_face {
    assert!(bytes.len() >= std::mem::size_of::<moae_face>());
    unsafe { std::ptr::read_unaligned(bytes.as_ptr() as *const moae_face) }
}

#[test]
fn a_typed_model_reports_a_distribution_and_an_untyped_one_says_not_available() {
    let e = create(&support::tiny_typed_model(4)).unwrap();
    let f = as_face(&analyze(e, std::mem::size_of::<moae_face>()));
    assert_eq!(f.has_attack_type, 1);
    let sum: f32 = f.attack_type_probs.iter().sum();
    assert!((sum - 1.0).abs() < 1e-5, "{:?}", f.attack_type_probs);
    assert!(f.attack_type_probs.iter().all(|p| (0.0..=1.0).contains(p)));
    moae_engine_destroy(e);

    let e = create(&support::tiny_model()).unwrap();
    let f = as_face(&analyze(e, std::mem::size_of::<moae_face>()));
    assert_eq!((f.has_attack_type, f.attack_type_probs), (0, [0.0; 4]));
    moae_engine_destroy(e);
}

#[test]
fn a_face_caller_of_the_older_header_gets_no_attack_type_bytes_written() {
    let e = create(&support::tiny_typed_model(4)).unwrap();
    let old = 128;
    let bytes = analyze(e, old);
    assert_eq!(bytes.len(), old);
    let mut full = vec![0xa5u8; std::mem::size_of::<moae_face>()];
    full[..old].copy_from_slice(&bytes);
    let f = as_face(&full);
    assert!(f.attack_score.is_finite());
    // Bytes past the caller's 128 are its own: the canary is intact.
    assert!(full[old..].iter().all(|&b| b == 0xa5));
    moae_engine_destroy(e);
}

#[test]
fn a_type_head_of_the_wrong_width_is_refused_at_load() {
    let (status, msg) = create(&support::tiny_typed_model(3)).unwrap_err();
    assert_eq!(status, moae_status::MOAE_ERR_MODEL, "{msg}");
    assert!(
        msg.contains("attack_type") && msg.contains("[N, 4]"),
        "{msg}"
    );
}

#[test]
fn detect_results_carry_the_types_and_an_untyped_model_says_not_available() {
    let size = std::mem::size_of::<moae_result>();
    assert_eq!(
        moae_struct_size(moae_struct_kind::MOAE_STRUCT_RESULT as i32),
        size
    );
    let e = create(&support::tiny_typed_model(4)).unwrap();
    let bytes = detect(e, size);
    let (a, _) = result_at(&bytes, size, 0);
    let (b, _) = result_at(&bytes, size, 1);
    for r in [a, b] {
        assert_eq!(r.has_attack_type, 1, "{r:?}");
        let sum: f32 = r.attack_type_probs.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5, "{r:?}");
        assert!(r.attack_type_probs.iter().all(|p| (0.0..=1.0).contains(p)));
    }
    assert_ne!(
        a.attack_type_probs, b.attack_type_probs,
        "two boxes, one answer"
    );
    // The array's third element lies past the capacity: untouched.
    assert!(bytes[2 * size..].iter().all(|&b| b == 0xa5));
    moae_engine_destroy(e);

    let e = create(&support::tiny_model()).unwrap();
    let bytes = detect(e, size);
    for i in 0..2 {
        let (r, _) = result_at(&bytes, size, i);
        assert!(r.attack_score.is_finite());
        assert_eq!((r.has_attack_type, r.attack_type_probs), (0, [0.0; 4]));
    }
    moae_engine_destroy(e);
}

/// A 0.2 caller's 24-byte `moae_result`, through `moae_detect_sized` with its size and through
/// the exported `moae_detect` symbol: the same scores at a 24-byte stride, and nothing written
/// past the capacity's two 24-byte elements.
#[test]
fn a_caller_of_the_older_header_gets_no_attack_type_bytes_written() {
    let e = create(&support::tiny_typed_model(4)).unwrap();
    let full = detect(e, std::mem::size_of::<moae_result>());
    for old in [detect(e, MOAE_RESULT_V1_SIZE), detect_legacy(e)] {
        assert_eq!(old.len(), 3 * MOAE_RESULT_V1_SIZE);
        for i in 0..2 {
            let (r, bytes) = result_at(&old, MOAE_RESULT_V1_SIZE, i);
            let (want, _) = result_at(&full, std::mem::size_of::<moae_result>(), i);
            assert_eq!(
                (r.attack_score, r.is_attack, r.threshold, r.provider),
                (
                    want.attack_score,
                    want.is_attack,
                    want.threshold,
                    want.provider
                ),
                "result {i}"
            );
            assert!(bytes[MOAE_RESULT_V1_SIZE..].iter().all(|&b| b == 0xa5));
        }
        assert!(old[2 * MOAE_RESULT_V1_SIZE..].iter().all(|&b| b == 0xa5));
    }
    // A struct that holds the flag but not the probabilities gets the flag only.
    let partial = MOAE_RESULT_V1_SIZE + 4;
    let bytes = detect(e, partial);
    let (r, raw) = result_at(&bytes, partial, 1);
    assert_eq!(r.has_attack_type, 1);
    assert!(raw[partial..].iter().all(|&b| b == 0xa5));
    moae_engine_destroy(e);
}

#[test]
fn a_result_size_below_the_first_version_is_refused_before_anything_is_written() {
    let e = create(&support::tiny_typed_model(4)).unwrap();
    let (img, _rgb) = image();
    let boxes = two_boxes();
    let mut buf = vec![0xa5u8; 64];
    let mut count = 7usize;
    let s = moae_detect_sized(
        e,
        &img,
        boxes.as_ptr(),
        2,
        buf.as_mut_ptr() as *mut moae_result,
        MOAE_RESULT_V1_SIZE - 4,
        2,
        &mut count,
    );
    let detail = unsafe { CStr::from_ptr(moae_last_error()) }.to_string_lossy();
    assert_eq!(s, moae_status::MOAE_ERR_STRUCT_SIZE, "{detail}");
    assert!(
        detail.contains("result_struct_size is 20") && detail.contains("sizeof(moae_result)"),
        "{detail}"
    );
    assert_eq!(count, 0);
    assert!(buf.iter().all(|&b| b == 0xa5));
    moae_engine_destroy(e);
}

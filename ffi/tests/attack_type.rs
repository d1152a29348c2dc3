//! The attack-type head through the C ABI (spec §9): `moae_face.has_attack_type` and
//! `attack_type_probs` carry the model's probabilities unchanged (a distribution), a model
//! without the head says "not available" (0, zeros), a head of the wrong width is refused at
//! load, and a caller of the 0.2 header (128-byte `moae_face`) gets neither field written.

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
fn a_caller_of_the_older_header_gets_no_attack_type_bytes_written() {
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

//! `moae_engine_get_info`'s appended fields (issue 17: which ONNX Runtime was loaded, and why
//! a preferred provider was skipped), and the struct_size rule for callers of the old header.

mod support;

use moae::*;
use std::ffi::{CStr, CString};

fn text(field: &[std::os::raw::c_char]) -> String {
    unsafe { CStr::from_ptr(field.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

fn create(providers: &[i32]) -> *mut moae_engine {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.onnx");
    std::fs::write(&path, support::tiny_model()).unwrap();
    let path = CString::new(path.to_str().unwrap()).unwrap();
    let mut o = std::mem::MaybeUninit::<moae_options>::uninit();
    moae_options_init_sized(o.as_mut_ptr(), std::mem::size_of::<moae_options>());
    let mut o = unsafe { o.assume_init() };
    o.intra_op_threads = 1;
    o.providers = providers.as_ptr();
    o.provider_count = providers.len();
    let mut e = std::ptr::null_mut();
    let s = moae_engine_create_from_file(path.as_ptr(), &o, &mut e);
    let detail = unsafe { CStr::from_ptr(moae_last_error()) };
    assert_eq!(s, moae_status::MOAE_OK, "{detail:?}");
    e
}

fn info(e: *const moae_engine, struct_size: u32) -> moae_engine_info {
    // Filled with a canary so that bytes the library must not write can be checked.
    let mut i: moae_engine_info = unsafe { std::mem::transmute([0x5au8; 1664]) };
    i.struct_size = struct_size;
    assert_eq!(moae_engine_get_info(e, &mut i), moae_status::MOAE_OK);
    i
}

#[test]
fn info_names_the_loaded_ort_and_the_fallback_reason() {
    let e = create(&[]);
    let i = info(e, std::mem::size_of::<moae_engine_info>() as u32);
    let version = text(&i.ort_version);
    let parts: Vec<&str> = version.split('.').collect();
    assert!(
        parts.len() == 3 && parts[0] == "1" && parts.iter().all(|p| p.parse::<u32>().is_ok()),
        "ORT version `{version}`"
    );
    let path = text(&i.ort_library_path);
    assert!(path.contains("libonnxruntime"), "{path}");
    assert_eq!(text(&i.fallback_reason), "", "CPU was the first preference");
    moae_engine_destroy(e);

    // CoreML is never available on Linux: the engine falls back to CPU and says why.
    let e = create(&[moae_provider::MOAE_PROVIDER_COREML as i32]);
    let i = info(e, std::mem::size_of::<moae_engine_info>() as u32);
    assert_eq!(i.provider, moae_provider::MOAE_PROVIDER_CPU as i32);
    let reason = text(&i.fallback_reason);
    assert!(reason.contains("coreml"), "{reason}");
    moae_engine_destroy(e);
}

#[test]
fn an_old_callers_struct_gets_only_the_fields_it_has() {
    let e = create(&[]);
    // sizeof(moae_engine_info) in the header before the fields were appended.
    let i = info(e, 96);
    assert_eq!(i.struct_size, 96);
    assert_eq!(text(&i.model_sha256).len(), 64);
    assert!(
        i.ort_version.iter().all(|&c| c.to_ne_bytes() == [0x5a]),
        "ort_version lies past the old struct_size and must not be written"
    );
    moae_engine_destroy(e);
}

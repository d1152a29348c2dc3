#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| moae_ffi_fuzz::analyze_one(data));

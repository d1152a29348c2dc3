//! A convenience for C callers that have no image decoder: JPEG/PNG file -> packed upright RGB.

use crate::guard::guard;
use crate::ptr::{opt_c_str, try_out};
use crate::status::FfiError;
use crate::types::moae_status;
use std::os::raw::c_char;

/// Decodes the JPEG or PNG file at `path` into tightly packed RGB (3 bytes per pixel, rows of
/// `3 * width` bytes). On success `*out_rgb` owns `3 * width * height` bytes: free them with
/// `moae_image_free`. On failure `*out_rgb` is NULL.
#[no_mangle]
pub extern "C" fn moae_decode_image_file(
    path: *const c_char,
    out_rgb: *mut *mut u8,
    out_width: *mut u32,
    out_height: *mut u32,
) -> moae_status {
    guard("moae_decode_image_file", || {
        if out_rgb.is_null() || out_width.is_null() || out_height.is_null() {
            return Err(FfiError::null("out_rgb/out_width/out_height"));
        }
        // SAFETY: the header's contract: the out-parameters are writable (checked non-NULL).
        let (mut rgb_out, mut w_out, mut h_out) = unsafe {
            (
                try_out(out_rgb, "out_rgb")?,
                try_out(out_width, "out_width")?,
                try_out(out_height, "out_height")?,
            )
        };
        rgb_out.write(std::ptr::null_mut());
        // SAFETY: the header's contract: `path` is NULL or NUL-terminated.
        let path = unsafe { opt_c_str(path) }.ok_or_else(|| FfiError::null("path"))?;
        use std::os::unix::ffi::OsStrExt;
        let path = std::path::Path::new(std::ffi::OsStr::from_bytes(path.to_bytes()));
        // The runtime's decoder, as `moae detect` and the trainer use: EXIF orientation
        // applied, truncated files rejected.
        let (bytes, w, h) = moae_runtime::decode_image(path)?;
        // malloc, so that C callers could also free() it; moae_image_free is the documented way.
        // SAFETY: malloc has no preconditions; the result is checked for NULL below.
        let buf = unsafe { libc::malloc(bytes.len().max(1)) } as *mut u8;
        if buf.is_null() {
            return Err(FfiError::invalid(format!(
                "out of memory for a {w}x{h} image ({} bytes)",
                bytes.len()
            )));
        }
        // SAFETY: `buf` was just allocated with at least `bytes.len()` bytes.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, bytes.len()) };
        rgb_out.write(buf);
        w_out.write(w);
        h_out.write(h);
        Ok(())
    })
}

/// Frees pixels returned by `moae_decode_image_file`. NULL is ignored.
#[no_mangle]
pub extern "C" fn moae_image_free(rgb: *mut u8) {
    crate::guard::guard_value("moae_image_free", (), || {
        // SAFETY: `rgb` came from malloc in moae_decode_image_file (or is NULL).
        unsafe { libc::free(rgb as *mut _) }
    })
}

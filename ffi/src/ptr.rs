//! A C caller's raw pointers turned into Rust references in one place, each with its NULL
//! check and message, so that the exported functions read as safe Rust (after rustls-ffi's
//! `try_ref_from_ptr!` / `try_slice!` / `Castable`). Every function here is `unsafe` with the
//! one promise the C header documents for the argument; the exported function states, in its
//! SAFETY comment, that the caller made it.

use crate::status::{FfiError, FfiResult};
use std::ffi::CStr;
use std::os::raw::c_char;

/// `p` as `&T`; NULL is the NULL-argument error naming `what`.
///
/// # Safety
/// A non-NULL `p` points to a valid, aligned `T` that is not written during `'a`.
pub(crate) unsafe fn try_ref<'a, T>(p: *const T, what: &str) -> FfiResult<&'a T> {
    // SAFETY: the caller's promise for a non-NULL `p`; `as_ref` checks NULL.
    unsafe { p.as_ref() }.ok_or_else(|| FfiError::null(what))
}

/// `len` elements at `p` as a slice; NULL is an error unless `len` is 0 (then empty), and a
/// length whose byte size exceeds `isize::MAX` is refused (it cannot be a real buffer).
///
/// # Safety
/// A non-NULL `p` points to `len` valid, aligned `T`s that are not written during `'a`.
pub(crate) unsafe fn try_slice<'a, T>(p: *const T, len: usize, what: &str) -> FfiResult<&'a [T]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(FfiError::null(what));
    }
    if len.saturating_mul(std::mem::size_of::<T>()) > isize::MAX as usize {
        return Err(FfiError::invalid(format!(
            "{what}: {len} elements is not a buffer size"
        )));
    }
    // SAFETY: non-NULL, and the caller's promise of `len` readable elements.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A NUL-terminated string argument; NULL is `None`.
///
/// # Safety
/// A non-NULL `p` points to a NUL-terminated string that is not written during `'a`.
pub(crate) unsafe fn opt_c_str<'a>(p: *const c_char) -> Option<&'a CStr> {
    // SAFETY: checked non-NULL; NUL-terminated by the caller's promise.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) })
}

/// An out-parameter: a checked, non-NULL place the function writes its result to.
pub(crate) struct Out<'a, T>(&'a mut T);

impl<T> Out<'_, T> {
    pub(crate) fn write(&mut self, value: T) {
        *self.0 = value;
    }
}

/// `p` as an out-parameter; NULL is the NULL-argument error naming `what`. Nothing is
/// written yet.
///
/// # Safety
/// A non-NULL `p` points to a writable, aligned `T` that nothing else uses during `'a`.
pub(crate) unsafe fn try_out<'a, T>(p: *mut T, what: &str) -> FfiResult<Out<'a, T>> {
    // SAFETY: the caller's promise for a non-NULL `p`; `as_mut` checks NULL.
    unsafe { p.as_mut() }
        .map(Out)
        .ok_or_else(|| FfiError::null(what))
}

/// A Rust value handed to C as an owned, opaque pointer (an engine): made by
/// [`Castable::into_raw`], borrowed by [`Castable::try_from_ptr`], freed by
/// [`Castable::free`].
pub(crate) trait Castable: Sized {
    /// Moves `self` to the heap; C owns the pointer until it passes it to `free`.
    fn into_raw(self) -> *mut Self {
        Box::into_raw(Box::new(self))
    }

    /// The value behind a handle; NULL is the NULL-argument error naming `what`.
    ///
    /// # Safety
    /// A non-NULL `p` came from [`Castable::into_raw`] and has not been freed.
    unsafe fn try_from_ptr<'a>(p: *const Self, what: &str) -> FfiResult<&'a Self> {
        // SAFETY: a live handle is a valid `Self` (the caller's promise).
        unsafe { try_ref(p, what) }
    }

    /// Drops the value behind a handle; NULL is ignored.
    ///
    /// # Safety
    /// A non-NULL `p` came from [`Castable::into_raw`], has not been freed, and is not used
    /// again.
    unsafe fn free(p: *mut Self) {
        if !p.is_null() {
            // SAFETY: made by `Box::into_raw`; the caller gives up ownership.
            drop(unsafe { Box::from_raw(p) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_is_an_error_naming_the_argument() {
        // SAFETY: NULL and a live local only.
        unsafe {
            let e = try_ref::<u32>(std::ptr::null(), "engine").unwrap_err();
            assert!(e.detail.contains("engine"), "{}", e.detail);
            let x = 7u32;
            assert_eq!(*try_ref(&x, "x").unwrap(), 7);
            assert!(try_out::<u32>(std::ptr::null_mut(), "out").is_err());
            let mut y = 0u32;
            try_out(&mut y, "out").unwrap().write(5);
            assert_eq!(y, 5);
            assert!(opt_c_str(std::ptr::null()).is_none());
            assert_eq!(opt_c_str(c"ab".as_ptr()).unwrap().to_bytes(), b"ab");
        }
    }

    #[test]
    fn slices_check_null_and_size() {
        let v = [1u8, 2, 3];
        // SAFETY: NULL, empty, or the live array with its length.
        unsafe {
            assert_eq!(
                try_slice::<u8>(std::ptr::null(), 0, "data").unwrap(),
                &[] as &[u8]
            );
            assert!(try_slice::<u8>(std::ptr::null(), 3, "data").is_err());
            assert_eq!(try_slice(v.as_ptr(), 3, "data").unwrap(), &v);
            let huge = try_slice(v.as_ptr() as *const u64, usize::MAX / 4, "boxes");
            assert!(huge.is_err());
        }
    }
}

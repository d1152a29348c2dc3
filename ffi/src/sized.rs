//! Reading and writing caller structs whose `struct_size` may differ from ours.
//!
//! Rule: a field is read (or written) only when it lies wholly inside the caller's
//! `struct_size` bytes; fields past it keep their defaults (or are left untouched). Bytes past
//! the fields we know (a newer, larger struct) are never touched.

use crate::status::{FfiError, FfiResult};
use crate::types::moae_status::MOAE_ERR_STRUCT_SIZE;

/// End offsets of a struct's fields, in declaration order, e.g. `field_ends!(T; a: u32, b: f32)`.
#[macro_export]
#[doc(hidden)]
macro_rules! field_ends {
    ($t:ty; $($f:ident : $ft:ty),+ $(,)?) => {
        [$(::core::mem::offset_of!($t, $f) + ::core::mem::size_of::<$ft>()),+]
    };
}

/// `(offset, end)` of a struct's fields, e.g. `field_spans!(T; a: u32, b: f32)`: the bytes a
/// value's fields occupy (padding between them excluded).
#[macro_export]
#[doc(hidden)]
macro_rules! field_spans {
    ($t:ty; $($f:ident : $ft:ty),+ $(,)?) => {
        [$((
            ::core::mem::offset_of!($t, $f),
            ::core::mem::offset_of!($t, $f) + ::core::mem::size_of::<$ft>(),
        )),+]
    };
}

/// How many leading bytes of a `size`-byte caller struct hold whole known fields.
pub(crate) fn known_prefix(size: usize, ends: &[usize]) -> usize {
    ends.iter()
        .copied()
        .filter(|&e| e <= size)
        .max()
        .unwrap_or(0)
}

/// Copies the caller's struct into `defaults`, field by field as far as its size allows.
///
/// # Safety
/// `ptr` must be non-NULL and point to at least `struct_size` readable bytes, where
/// `struct_size` is the `u32` at offset 0.
pub unsafe fn read_sized<T: Copy>(
    ptr: *const T,
    name: &str,
    min_size: usize,
    ends: &[usize],
    defaults: T,
) -> FfiResult<T> {
    // SAFETY: the caller's promise: `ptr` is non-NULL and its first 4 bytes are readable.
    let size = unsafe { std::ptr::read_unaligned(ptr as *const u32) } as usize;
    if size < min_size {
        return Err(FfiError::new(
            MOAE_ERR_STRUCT_SIZE,
            format!(
                "{name}.struct_size is {size}, at least {min_size} is needed (this library's \
                 sizeof({name}) is {}); set it with sizeof({name}) or the _init function",
                std::mem::size_of::<T>()
            ),
        ));
    }
    let n = known_prefix(size.min(std::mem::size_of::<T>()), ends);
    let mut out = defaults;
    // SAFETY: n <= size (caller-readable) and n <= size_of::<T>(); T is plain data (ints,
    // floats, raw pointers) for which every bit pattern is valid.
    unsafe { std::ptr::copy_nonoverlapping(ptr as *const u8, &mut out as *mut T as *mut u8, n) };
    Ok(out)
}

/// Writes `value` into the caller's struct, only the fields that fit its `struct_size`
/// (which is left as the caller set it).
///
/// # Safety
/// `ptr` must be non-NULL and point to at least `struct_size` writable bytes.
pub unsafe fn write_sized<T: Copy>(
    ptr: *mut T,
    name: &str,
    ends: &[usize],
    value: &T,
) -> FfiResult<()> {
    // SAFETY: the caller's promise: `ptr` is non-NULL and its first 4 bytes are readable.
    let size = unsafe { std::ptr::read_unaligned(ptr as *const u32) } as usize;
    let first = ends.first().copied().unwrap_or(0);
    if size < first {
        return Err(FfiError::new(
            MOAE_ERR_STRUCT_SIZE,
            format!("{name}.struct_size is {size}: set it to sizeof({name}) before the call"),
        ));
    }
    let n = known_prefix(size.min(std::mem::size_of::<T>()), ends);
    // Skip the struct_size field itself (the first `first` bytes).
    // SAFETY: first <= n <= size (caller-writable) and n <= size_of::<T>(), so both ranges
    // lie inside their structs; `value` is a distinct Rust value.
    unsafe {
        std::ptr::copy_nonoverlapping(
            (value as *const T as *const u8).add(first),
            (ptr as *mut u8).add(first),
            n - first,
        )
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(C)]
    #[derive(Clone, Copy, Debug, PartialEq)]
    struct S {
        size: u32,
        a: u32,
        p: *const u8,
        b: f32,
    }

    const ENDS: [usize; 4] = field_ends!(S; size: u32, a: u32, p: *const u8, b: f32);

    #[test]
    fn partial_fields_are_not_read() {
        let d = S {
            size: 0,
            a: 1,
            p: std::ptr::null(),
            b: 2.0,
        };
        // A caller buffer whose size ends in the middle of `p`: only `size` and `a` are read.
        let mut buf = [0xffu8; 24];
        buf[..4].copy_from_slice(&12u32.to_ne_bytes());
        // SAFETY: `buf` holds 24 readable bytes, more than the 12 its struct_size says.
        let s = unsafe { read_sized(buf.as_ptr() as *const S, "S", 8, &ENDS, d) }.unwrap();
        assert_eq!(s.a, u32::MAX);
        assert!(s.p.is_null());
        assert_eq!(s.b, 2.0);
        buf[..4].copy_from_slice(&4u32.to_ne_bytes());
        // SAFETY: as above; struct_size 4.
        let e = unsafe { read_sized(buf.as_ptr() as *const S, "S", 8, &ENDS, d) }.unwrap_err();
        assert_eq!(e.status, MOAE_ERR_STRUCT_SIZE);
    }

    #[test]
    fn writes_stop_at_the_callers_size() {
        let v = S {
            size: 99,
            a: 5,
            p: std::ptr::null(),
            b: 3.0,
        };
        let mut out = S {
            size: 8,
            a: 0,
            p: std::ptr::null(),
            b: -1.0,
        };
        // SAFETY: `out` is a whole, writable S.
        unsafe { write_sized(&mut out, "S", &ENDS, &v) }.unwrap();
        assert_eq!((out.size, out.a, out.b), (8, 5, -1.0));
    }
}

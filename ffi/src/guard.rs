//! The panic boundary around every exported function, and the thread-local last error.

use crate::status::{FfiError, FfiResult};
use crate::types::moae_status::{self, *};
use std::cell::RefCell;
use std::ffi::CString;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    /// Detail of this thread's last failure; stays until the next failure on this thread.
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

pub fn set_last_error(detail: &str) {
    // Interior NULs would truncate the C string; they cannot come from our messages, but
    // runtime/ORT text is foreign, so replace them rather than drop the message.
    let c = CString::new(detail.replace('\0', "\\0")).unwrap_or_default();
    // During thread teardown the slot may be gone: then there is no one to read it anyway.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = c);
}

/// Pointer to this thread's last-error string; valid until the next failing call on this thread.
pub fn last_error_ptr() -> *const std::os::raw::c_char {
    LAST_ERROR
        .try_with(|slot| slot.borrow().as_ptr())
        .unwrap_or(c"".as_ptr())
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".into()
    }
}

/// Runs `f`, turning its error or panic into a status (and the last-error detail).
pub fn guard(function: &str, f: impl FnOnce() -> FfiResult<()>) -> moae_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => MOAE_OK,
        Ok(Err(FfiError { status, detail })) => {
            set_last_error(&format!("{function}: {detail}"));
            status
        }
        Err(payload) => {
            set_last_error(&format!(
                "{function}: internal panic: {}",
                panic_text(payload.as_ref())
            ));
            MOAE_ERR_PANIC
        }
    }
}

/// For functions without a status: run `f`, and on panic return `fallback`.
pub fn guard_value<T>(function: &str, fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        set_last_error(&format!(
            "{function}: internal panic: {}",
            panic_text(payload.as_ref())
        ));
        fallback
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    #[test]
    fn panics_become_a_status_and_a_message() {
        let status = guard("moae_test", || panic!("boom {}", 42));
        assert_eq!(status, MOAE_ERR_PANIC);
        // SAFETY: last_error_ptr is never NULL and NUL-terminated (this thread's string).
        let msg = unsafe { CStr::from_ptr(last_error_ptr()) }
            .to_str()
            .unwrap();
        assert!(
            msg.contains("moae_test") && msg.contains("boom 42"),
            "{msg}"
        );
        assert_eq!(guard_value("f", 7, || panic!("x")), 7);
    }

    #[test]
    fn errors_set_the_thread_local_detail_only_on_that_thread() {
        let status = guard("moae_x", || Err(FfiError::null("engine")));
        assert_eq!(status, MOAE_ERR_NULL_ARGUMENT);
        // SAFETY: last_error_ptr is never NULL and NUL-terminated.
        let here = unsafe { CStr::from_ptr(last_error_ptr()) }.to_owned();
        assert!(here.to_str().unwrap().contains("`engine` is NULL"));
        let there = std::thread::spawn(|| {
            // SAFETY: as above, on the other thread.
            unsafe { CStr::from_ptr(last_error_ptr()) }.to_owned()
        })
        .join()
        .unwrap();
        assert!(there.is_empty());
        // A success does not erase the detail of the last failure.
        assert_eq!(guard("moae_y", || Ok(())), MOAE_OK);
        // SAFETY: as above.
        let again = unsafe { CStr::from_ptr(last_error_ptr()) };
        assert_eq!(again, here.as_c_str());
    }
}

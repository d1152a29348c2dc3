//! `moae_set_log_callback` returns only when no call is inside the previous callback, so the
//! caller may free the previous `user_data` right after it returns. One test binary of its own:
//! the callback is process-wide.

use moae::{
    moae_engine, moae_engine_create_from_file, moae_log_level, moae_set_log_callback,
    moae_set_log_level,
};
use std::ffi::{c_char, c_void, CString};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// State the slow callback reaches through `user_data`; freed by the test after the swap.
struct Slow {
    inside: AtomicBool,
    finished: AtomicUsize,
}

/// Set by the test just before it swaps the callback: the slow callback stays inside until
/// then (and a little after), so the swap always starts while a call is inside.
static SWAP_STARTED: AtomicBool = AtomicBool::new(false);
static SLOW_CALLS_AFTER_SWAP: AtomicUsize = AtomicUsize::new(0);
static QUIET_CALLS: AtomicUsize = AtomicUsize::new(0);
static REENTRANT_CALLS: AtomicUsize = AtomicUsize::new(0);

unsafe extern "C" fn slow(_level: i32, _message: *const c_char, user_data: *mut c_void) {
    if SWAP_STARTED.load(Ordering::SeqCst) && user_data.is_null() {
        SLOW_CALLS_AFTER_SWAP.fetch_add(1, Ordering::SeqCst);
        return;
    }
    let s = &*(user_data as *const Slow);
    s.inside.store(true, Ordering::SeqCst);
    let start = Instant::now();
    while !SWAP_STARTED.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(1));
    }
    // Still inside for a while after the swap began: a swap that did not wait returns now.
    std::thread::sleep(Duration::from_millis(100));
    s.finished.fetch_add(1, Ordering::SeqCst);
    s.inside.store(false, Ordering::SeqCst);
}

unsafe extern "C" fn quiet(_level: i32, _message: *const c_char, _user_data: *mut c_void) {
    QUIET_CALLS.fetch_add(1, Ordering::SeqCst);
}

/// Swaps the callback from inside itself: must neither deadlock nor be lost.
unsafe extern "C" fn reentrant(_level: i32, _message: *const c_char, _user_data: *mut c_void) {
    REENTRANT_CALLS.fetch_add(1, Ordering::SeqCst);
    moae_set_log_callback(Some(quiet), std::ptr::null_mut());
}

/// One failing engine creation: libmoae logs it at MOAE_LOG_ERROR.
fn log_one_error() {
    let path = CString::new("/nonexistent/moae-log-swap.onnx").unwrap();
    let mut out: *mut moae_engine = std::ptr::null_mut();
    let st = moae_engine_create_from_file(path.as_ptr(), std::ptr::null(), &mut out);
    assert_ne!(st as i32, 0, "a missing model was loaded");
}

#[test]
fn swapping_the_callback_waits_for_calls_inside_the_old_one() {
    moae_set_log_level(moae_log_level::MOAE_LOG_ERROR as i32);
    let state = Box::into_raw(Box::new(Slow {
        inside: AtomicBool::new(false),
        finished: AtomicUsize::new(0),
    }));
    moae_set_log_callback(Some(slow), state as *mut c_void);
    let logger = std::thread::spawn(log_one_error);
    // SAFETY: `state` stays allocated until after the swap below.
    let s = unsafe { &*state };
    let start = Instant::now();
    while !s.inside.load(Ordering::SeqCst) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the callback was never called"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    SWAP_STARTED.store(true, Ordering::SeqCst);
    moae_set_log_callback(Some(quiet), std::ptr::null_mut());
    assert!(
        !s.inside.load(Ordering::SeqCst) && s.finished.load(Ordering::SeqCst) == 1,
        "moae_set_log_callback returned while a call was inside the old callback"
    );
    // Now the old user_data may be freed: nothing can reach it any more.
    drop(unsafe { Box::from_raw(state) });
    logger.join().unwrap();
    let before = QUIET_CALLS.load(Ordering::SeqCst);
    log_one_error();
    assert!(
        QUIET_CALLS.load(Ordering::SeqCst) > before,
        "the new callback got nothing"
    );
    assert_eq!(SLOW_CALLS_AFTER_SWAP.load(Ordering::SeqCst), 0);

    // A callback that swaps the callback itself neither deadlocks nor is lost: the new one
    // takes over once the running call returns.
    moae_set_log_callback(Some(reentrant), std::ptr::null_mut());
    log_one_error();
    assert_eq!(REENTRANT_CALLS.load(Ordering::SeqCst), 1);
    let before = QUIET_CALLS.load(Ordering::SeqCst);
    log_one_error();
    assert_eq!(
        REENTRANT_CALLS.load(Ordering::SeqCst),
        1,
        "the swap inside was lost"
    );
    assert!(QUIET_CALLS.load(Ordering::SeqCst) > before);
    moae_set_log_callback(None, std::ptr::null_mut());
}

//! The log callback: libmoae's own messages and the runtime's `tracing` events (which include
//! ONNX Runtime's, routed by the `ort` crate) go to one C function, from any thread.
//!
//! Swapping the callback waits for the calls inside the old one: each call holds the read
//! side of `SINK` while it runs, `set_callback` takes the write side. So when
//! `moae_set_log_callback` returns, nothing is inside (or will enter) the previous callback,
//! and its `user_data` may be freed. A callback that logs again (a libmoae call inside it)
//! reuses the sink its thread already holds instead of locking twice; one that swaps the
//! callback from inside itself cannot wait for itself: the swap is queued and applied when the
//! outermost call on that thread returns.

use crate::types::{moae_log_fn, moae_log_level};
use std::cell::Cell;
use std::ffi::CString;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, Once, RwLock};

#[derive(Clone, Copy)]
struct Sink {
    callback: unsafe extern "C" fn(i32, *const std::os::raw::c_char, *mut std::ffi::c_void),
    user_data: usize,
}

static SINK: RwLock<Option<Sink>> = RwLock::new(None);
/// Most verbose level passed on; INFO by default so that ORT's chatter stays out.
static MAX_LEVEL: AtomicI32 = AtomicI32::new(moae_log_level::MOAE_LOG_INFO as i32);
static SUBSCRIBER: Once = Once::new();
/// A swap requested from inside a callback, applied when that call returns.
static QUEUED: Mutex<Option<Option<Sink>>> = Mutex::new(None);

thread_local! {
    /// The sink this thread is calling right now (it holds SINK's read side meanwhile).
    static ACTIVE: Cell<Option<Sink>> = const { Cell::new(None) };
}

pub fn set_callback(callback: moae_log_fn, user_data: *mut std::ffi::c_void) {
    let sink = callback.map(|callback| Sink {
        callback,
        user_data: user_data as usize,
    });
    if ACTIVE.with(Cell::get).is_some() {
        // Inside a callback on this thread: waiting for the write side would wait for itself.
        *QUEUED.lock().unwrap_or_else(|p| p.into_inner()) = Some(sink);
        return;
    }
    install(sink);
}

/// Replaces the sink once no call holds the read side (waits for calls inside the old one).
fn install(sink: Option<Sink>) {
    *SINK.write().unwrap_or_else(|p| p.into_inner()) = sink;
    if sink.is_some() {
        // A library should not own the process's tracing set-up: if the host already
        // installed a global subscriber, keep it and deliver only libmoae's own messages.
        SUBSCRIBER.call_once(|| {
            let _ = tracing::subscriber::set_global_default(CallbackSubscriber);
        });
    }
}

pub fn set_max_level(level: i32) {
    MAX_LEVEL.store(level, Ordering::Relaxed);
}

fn wanted(level: moae_log_level) -> bool {
    if (level as i32) > MAX_LEVEL.load(Ordering::Relaxed) {
        return false;
    }
    ACTIVE.with(Cell::get).is_some() || SINK.read().map(|s| s.is_some()).unwrap_or(false)
}

/// Marks this thread as inside the callback until dropped (also on unwinding).
struct Active;

impl Active {
    fn enter(s: Sink) -> Active {
        ACTIVE.with(|a| a.set(Some(s)));
        Active
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        ACTIVE.with(|a| a.set(None));
    }
}

fn call(s: Sink, level: moae_log_level, message: &str) {
    let c = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    // SAFETY: the caller registered a function with this signature; `c` outlives the call.
    unsafe {
        (s.callback)(
            level as i32,
            c.as_ptr(),
            s.user_data as *mut std::ffi::c_void,
        )
    };
}

/// Sends one message to the callback, if any, holding the read side for the call.
pub fn emit(level: moae_log_level, message: &str) {
    if !wanted(level) {
        return;
    }
    if let Some(s) = ACTIVE.with(Cell::get) {
        // A message from inside this thread's running callback: its read guard is held.
        call(s, level, message);
        return;
    }
    {
        let guard = SINK.read().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = *guard {
            let _active = Active::enter(s);
            call(s, level, message);
        }
    }
    let queued = QUEUED.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(sink) = queued {
        install(sink);
    }
}

fn level_of(l: &tracing::Level) -> moae_log_level {
    use moae_log_level::*;
    match *l {
        tracing::Level::ERROR => MOAE_LOG_ERROR,
        tracing::Level::WARN => MOAE_LOG_WARN,
        tracing::Level::INFO => MOAE_LOG_INFO,
        tracing::Level::DEBUG => MOAE_LOG_DEBUG,
        tracing::Level::TRACE => MOAE_LOG_TRACE,
    }
}

/// A minimal `tracing` subscriber: events become "target: message k=v ..." lines; spans are
/// not tracked (ids are handed out only because the trait requires them).
struct CallbackSubscriber;

struct Line(String);

impl tracing::field::Visit for Line {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        if field.name() == "message" {
            let _ = write!(self.0, " {value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

impl tracing::Subscriber for CallbackSubscriber {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        // The callback and level change at run time, so ask `enabled` every time.
        tracing::subscriber::Interest::sometimes()
    }
    fn enabled(&self, meta: &tracing::Metadata<'_>) -> bool {
        meta.is_event() && wanted(level_of(meta.level()))
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let meta = event.metadata();
        let mut line = Line(format!("{}:", meta.target()));
        event.record(&mut line);
        emit(level_of(meta.level()), &line.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

//! The one way a native method runs: inside `catch_unwind`, with every failure turned into a
//! Java exception and a default return value — never an unwind across the JNI boundary.

use crate::status::{BridgeError, Status};
use jni::objects::{JString, JThrowable};
use jni::{jni_sig, jni_str, Env, EnvUnowned, JValue};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `body`; on `Err` throws the matching Java exception, on panic a `MoaeException`
/// with status PANIC, and returns `T::default()` (Java ignores it: an exception is pending).
pub fn guarded<'local, T, F>(unowned: &mut EnvUnowned<'local>, body: F) -> T
where
    T: Default,
    F: FnOnce(&mut Env<'local>) -> Result<T, BridgeError>,
{
    unowned
        .with_env(|env| -> jni::errors::Result<T> {
            let err = match catch_unwind(AssertUnwindSafe(|| body(env))) {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(err)) => err,
                Err(payload) => BridgeError::Status(Status::Panic, panic_text(payload)),
            };
            throw(env, err);
            Ok(T::default())
        })
        // Only reached if throwing itself failed: jni's policy throws a RuntimeException.
        .resolve::<jni::errors::ThrowRuntimeExAndDefault>()
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    let detail = if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    };
    // Leak rather than risk a panicking Drop of the payload on this path.
    std::mem::forget(payload);
    format!("internal error in libmoae_jni (a bug, please report it): {detail}")
}

fn throw(env: &mut Env<'_>, err: BridgeError) {
    if env.exception_check() {
        // A JNI call already raised a Java exception (e.g. OutOfMemoryError): keep that one.
        return;
    }
    // `throw*` returns Err(JavaException) once the exception is pending, which is the goal:
    // success is judged by `exception_check` below, with a RuntimeException as last resort.
    let _ = match err {
        // A checked MoaeException (status CLOSED), not an unchecked IllegalStateException: a
        // frame still queued on an executor when the app closes the detector must not crash it.
        BridgeError::Closed => throw_moae_code(
            env,
            CLOSED_CODE,
            "MoaeDetector is closed: this frame was not analysed (create a new detector)",
        ),
        BridgeError::Status(status, msg) => throw_moae(env, status, &msg),
        BridgeError::Jni(e) => throw_moae(env, Status::InvalidArgument, &format!("JNI: {e}")),
    };
    if !env.exception_check() {
        let _ = env.throw_new(
            jni_str!("java/lang/RuntimeException"),
            jni_str!("libmoae_jni could not raise ai.moae.MoaeException"),
        );
    }
}

/// `ai.moae.MoaeException.Status.CLOSED` (Swift `MoaeError.Status.closed`): not a C status,
/// since C has no "closed" handle (`moae_engine_destroy` frees it).
pub const CLOSED_CODE: i32 = -2;

fn throw_moae(env: &mut Env<'_>, status: Status, msg: &str) -> jni::errors::Result<()> {
    throw_moae_code(env, status.code(), msg)
}

fn throw_moae_code(env: &mut Env<'_>, code: i32, msg: &str) -> jni::errors::Result<()> {
    let jmsg = JString::from_str(env, msg)?;
    let obj = env.new_object(
        jni_str!("ai/moae/MoaeException"),
        jni_sig!("(ILjava/lang/String;)V"),
        &[JValue::Int(code), JValue::Object(&jmsg)],
    )?;
    let throwable = JThrowable::cast_local(env, obj)?;
    env.throw(throwable)
}

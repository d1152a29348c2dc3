//! The session pool. ort's `Session::run` takes `&mut self`, so sessions sit behind a mutex +
//! condvar: a caller takes an idle session, or creates one if fewer than the pool's size
//! exist, or waits.

use super::model_file::{hex, read_file, sha256};
use super::session::{build_session, ModelInput, SessionOptions};
use crate::error::{Error, Result};
use crate::ort::provider::ExecutionProvider;
use ort::session::Session;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};

/// Where a new session's model comes from.
pub(crate) enum ModelSource {
    /// A pool of one never grows.
    None,
    Bytes(Arc<[u8]>),
    /// Re-read and checked against the first load's SHA-256.
    Path(PathBuf),
}

struct PoolState {
    idle: Vec<Session>,
    total: usize,
}

pub(crate) struct SessionPool {
    state: Mutex<PoolState>,
    cv: Condvar,
    max: usize,
    source: ModelSource,
    env: ort::environment::Environment,
    opts: SessionOptions,
    provider: ExecutionProvider,
    model_sha256: String,
}

impl SessionPool {
    pub(crate) fn new(
        first: Session,
        source: ModelSource,
        env: ort::environment::Environment,
        opts: &SessionOptions,
        provider: ExecutionProvider,
        model_sha256: String,
    ) -> Self {
        SessionPool {
            state: Mutex::new(PoolState {
                idle: vec![first],
                total: 1,
            }),
            cv: Condvar::new(),
            max: opts.pool_size,
            source,
            env,
            opts: opts.clone(),
            provider,
            model_sha256,
        }
    }

    /// Takes an idle session, creates one if the pool may grow, or waits for one.
    fn acquire(&self) -> Result<Session> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(s) = st.idle.pop() {
                return Ok(s);
            }
            if st.total < self.max {
                st.total += 1;
                drop(st);
                return self.new_session().inspect_err(|_| {
                    let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                    st.total -= 1;
                    self.cv.notify_one();
                });
            }
            st = self.cv.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Runs `f` with exclusive use of a pooled session.
    pub(crate) fn with_session<R>(&self, f: impl FnOnce(&mut Session) -> Result<R>) -> Result<R> {
        let session = self.acquire()?;
        // Return the session even if `f` panics.
        struct Back<'a> {
            pool: &'a SessionPool,
            s: Option<Session>,
        }
        impl Drop for Back<'_> {
            fn drop(&mut self) {
                if let Some(s) = self.s.take() {
                    let mut st = self.pool.state.lock().unwrap_or_else(|e| e.into_inner());
                    st.idle.push(s);
                    self.pool.cv.notify_one();
                }
            }
        }
        let mut back = Back {
            pool: self,
            s: Some(session),
        };
        f(back.s.as_mut().expect("the session was just put there"))
    }

    fn new_session(&self) -> Result<Session> {
        let owned;
        let bytes: &[u8] = match &self.source {
            ModelSource::None => {
                return Err(Error::Inference("the session pool cannot grow".into()));
            }
            ModelSource::Bytes(b) => b,
            ModelSource::Path(p) => {
                owned = read_file(p)?;
                let actual = hex(&sha256(&owned));
                if actual != self.model_sha256 {
                    return Err(Error::ModelHash {
                        expected: self.model_sha256.clone(),
                        actual,
                    });
                }
                &owned
            }
        };
        build_session(
            &self.env,
            &self.opts,
            self.provider,
            ModelInput::Bytes(bytes),
        )
        .map_err(|e| {
            Error::Inference(format!(
                "creating another {} session failed: {e}",
                self.provider
            ))
        })
    }
}

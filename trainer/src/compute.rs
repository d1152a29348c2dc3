//! Where libtorch computes: its CPU thread count and the device.

use anyhow::{bail, Result};
use tch::Device;

/// Most libtorch CPU threads a run may ask for (beyond it OpenMP fails or crawls).
pub const MAX_THREADS: usize = 256;
/// Most image-decoding workers.
pub const MAX_WORKERS: usize = 64;

/// libtorch CPU threads: `threads`, else the cores left after `workers` decoding threads (at
/// least 1) — libtorch's OpenMP threads spin while they wait and collapse when oversubscribed.
pub fn set_torch_threads(threads: Option<usize>, workers: usize) -> Result<()> {
    if let Some(t) = threads {
        if !(1..=MAX_THREADS).contains(&t) {
            bail!("threads must be in 1..={MAX_THREADS}, is {t}");
        }
    }
    if !(1..=MAX_WORKERS).contains(&workers) {
        bail!("workers must be in 1..={MAX_WORKERS}, is {workers}");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = threads.unwrap_or(cores.saturating_sub(workers)).max(1);
    tch::set_num_threads(n as i32);
    Ok(())
}

/// CUDA when available unless `cpu`.
pub fn device(cpu: bool) -> Device {
    if cpu {
        Device::Cpu
    } else {
        Device::cuda_if_available()
    }
}

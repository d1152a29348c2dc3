//! Execution providers: names, availability and registration on a session builder.

use crate::error::{Error, Result};
use ort::ep::{self, ExecutionProvider as _};
use ort::session::builder::SessionBuilder;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExecutionProvider {
    Cpu,
    Cuda,
    TensorRt,
    CoreMl,
}

impl ExecutionProvider {
    pub const ALL: [ExecutionProvider; 4] = [
        ExecutionProvider::TensorRt,
        ExecutionProvider::Cuda,
        ExecutionProvider::CoreMl,
        ExecutionProvider::Cpu,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ExecutionProvider::Cpu => "cpu",
            ExecutionProvider::Cuda => "cuda",
            ExecutionProvider::TensorRt => "tensorrt",
            ExecutionProvider::CoreMl => "coreml",
        }
    }

    /// Whether the loaded libonnxruntime was built with this provider (it may still fail to
    /// register, e.g. without a GPU or its CUDA libraries).
    pub fn is_compiled_in(self) -> bool {
        let r = match self {
            ExecutionProvider::Cpu => return true,
            ExecutionProvider::Cuda => ep::CUDA::is_available(),
            ExecutionProvider::TensorRt => ep::TensorRT::is_available(),
            ExecutionProvider::CoreMl => ep::CoreML::is_available(),
        };
        r.unwrap_or(false)
    }
}

impl fmt::Display for ExecutionProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ExecutionProvider {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let l = s.trim().to_ascii_lowercase();
        match l.as_str() {
            "cpu" => Ok(ExecutionProvider::Cpu),
            "cuda" => Ok(ExecutionProvider::Cuda),
            "tensorrt" | "trt" => Ok(ExecutionProvider::TensorRt),
            "coreml" => Ok(ExecutionProvider::CoreMl),
            _ => Err(Error::InvalidArgument(format!(
                "unknown execution provider `{s}` (expected cpu, cuda, tensorrt or coreml)"
            ))),
        }
    }
}

/// What to do when a preferred provider cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ProviderPolicy {
    /// Error if the FIRST preferred provider cannot be used.
    Require,
    /// Walk the preference list, end at CPU, and record why others were skipped.
    #[default]
    Fallback,
}

/// CoreML compute units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CoreMlUnits {
    #[default]
    All,
    CpuOnly,
    CpuAndGpu,
    CpuAndNeuralEngine,
}

/// Provider-specific settings taken from the engine options.
pub(crate) struct ProviderSettings<'a> {
    pub tensorrt_cache_dir: Option<&'a Path>,
    pub tensorrt_fp16: bool,
    pub coreml_units: CoreMlUnits,
}

/// Registers `p` on `builder`, failing (rather than silently falling back) if it cannot.
pub(crate) fn register(
    p: ExecutionProvider,
    builder: SessionBuilder,
    s: &ProviderSettings<'_>,
) -> std::result::Result<SessionBuilder, String> {
    if !p.is_compiled_in() {
        return Err(format!(
            "the loaded libonnxruntime was not built with the {p} execution provider"
        ));
    }
    let dispatch = match p {
        ExecutionProvider::Cpu => return Ok(builder),
        ExecutionProvider::Cuda => ep::CUDA::default().build(),
        ExecutionProvider::TensorRt => {
            let mut t = ep::TensorRT::default().with_fp16(s.tensorrt_fp16);
            if let Some(dir) = s.tensorrt_cache_dir {
                t = t
                    .with_engine_cache(true)
                    .with_engine_cache_path(dir.display().to_string())
                    .with_timing_cache(true)
                    .with_timing_cache_path(dir.display().to_string());
            }
            t.build()
        }
        ExecutionProvider::CoreMl => {
            use ort::ep::coreml::ComputeUnits as U;
            let units = match s.coreml_units {
                CoreMlUnits::All => U::All,
                CoreMlUnits::CpuOnly => U::CPUOnly,
                CoreMlUnits::CpuAndGpu => U::CPUAndGPU,
                CoreMlUnits::CpuAndNeuralEngine => U::CPUAndNeuralEngine,
            };
            ep::CoreML::default().with_compute_units(units).build()
        }
    };
    builder
        .with_execution_providers([dispatch.error_on_failure()])
        .map_err(|e| format!("registering {p} failed: {e}"))
}

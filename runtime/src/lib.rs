//! libmoae runtime: camera frames in, live/attack decisions out, on ONNX Runtime.
//!
//! ```no_run
//! use moae_runtime::{DetectorModel, Engine, EngineOptions, Frame, PixelFormat, Rotation};
//! let opts = EngineOptions {
//!     face_detector: Some(DetectorModel::Path("face_detection_front_128x128.onnx".into())),
//!     ..EngineOptions::default()
//! };
//! let engine = Engine::from_path("model.onnx", &opts)?;
//! # let (y, uv) = (vec![0u8; 1920 * 1080], vec![0u8; 1920 * 540]);
//! let frame = Frame::nv(PixelFormat::Nv21, &y, 1920, &uv, 1920, 1920, 1080)?
//!     .with_rotation(Rotation::R90)
//!     .with_mirrored(true); // a front camera's mirrored preview
//! let analysis = engine.analyze(&frame, &[])?;
//! for face in &analysis.faces {
//!     println!(
//!         "{:?}: attack score {}, quality flags {:?}",
//!         face.decision,
//!         face.detection.attack_score,
//!         face.quality.flags.names()
//!     );
//! }
//! # Ok::<(), moae_runtime::Error>(())
//! ```

#![cfg_attr(not(test), warn(clippy::too_many_lines))]

pub mod abi;
mod error;
pub mod face;
pub mod image;
pub(crate) mod liveness;
pub mod ort;
mod pipeline;
pub mod quality;

pub use crate::ort::provider::{CoreMlUnits, ExecutionProvider, ProviderPolicy};
pub use crate::ort::SessionSettings;
pub use error::{Error, Result};
pub use face::{
    DetectedFace, DetectorModel, DetectorOptions, FaceDetector, Keypoint, MAX_DETECTOR_BYTES,
};
pub use image::crop::{FaceBox, DEFAULT_CROP_SCALE, MAX_CROP_SCALE};
pub use image::decode::{decode_image, ImageSource, MAX_IMAGE_FILE_BYTES};
pub use image::frame::{Frame, PixelFormat, Rotation, YuvMatrix, YuvRange};
pub use image::geometry::{BoxInput, BoxSpace, BoxUnits, MIN_FACE_SIZE_PX};
pub use liveness::preprocess::{
    preprocess_into, resample_square_into, rgb_image_input, CropSquare,
};
pub use liveness::BOX_CHUNK;
pub use moae_onnx::meta::ATTACK_TYPES;
pub use moae_onnx::ModelMeta;
pub use pipeline::{
    Decision, Detection, Engine, EngineInfo, EngineOptions, FaceResult, FaceSource, FrameAnalysis,
    Scores, DEFAULT_MAX_SESSIONS, MAX_INTRA_OP_THREADS, MAX_SESSIONS,
};
pub use quality::{Quality, QualityFlags, QualityOptions, QualityValues};

/// The crate version, e.g. "0.1.0".
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

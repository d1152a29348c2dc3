//! C structs -> runtime values, with every pointer and range checked.

use crate::field_ends;
use crate::sized::read_sized;
use crate::status::{FfiError, FfiResult};
use crate::types::moae_status::*;
use crate::types::*;
use moae_runtime::{
    CoreMlUnits, EngineOptions, ExecutionProvider, FaceBox, Frame, PixelFormat, ProviderPolicy,
    Rotation,
};
use std::ffi::{CStr, OsStr};
use std::os::raw::c_char;
use std::path::PathBuf;

pub const ABI_VERSION: u32 = crate::MOAE_ABI_VERSION;

pub const OPTIONS_ENDS: [usize; 14] = field_ends!(moae_options;
    struct_size: u32, abi_version: u32, providers: *const i32, provider_count: usize,
    require_provider: i32, intra_op_threads: i32, max_sessions: i32,
    ort_library_path: *const c_char, model_sha256: *const u8, tensorrt_cache_dir: *const c_char,
    tensorrt_fp16: i32, coreml_compute_units: i32, threshold: f32, crop_scale: f32);

pub const IMAGE_ENDS: [usize; 8] = field_ends!(moae_image;
    struct_size: u32, format: i32, width: u32, height: u32, planes: [*const u8; 3],
    plane_sizes: [usize; 3], strides: [usize; 3], rotation: i32);

pub const INFO_ENDS: [usize; 7] = field_ends!(moae_engine_info;
    struct_size: u32, provider: i32, input_size: u32, threshold: f32,
    threshold_calibrated: i32, model_sha256: [c_char; 65], precision: [c_char; 8]);

/// The smallest options struct accepted: `struct_size` + `abi_version`.
pub const OPTIONS_MIN_SIZE: usize = OPTIONS_ENDS[1];

pub fn default_options() -> moae_options {
    moae_options {
        struct_size: std::mem::size_of::<moae_options>() as u32,
        abi_version: ABI_VERSION,
        providers: std::ptr::null(),
        provider_count: 0,
        require_provider: 0,
        intra_op_threads: 0,
        max_sessions: 0,
        ort_library_path: std::ptr::null(),
        model_sha256: std::ptr::null(),
        tensorrt_cache_dir: std::ptr::null(),
        tensorrt_fp16: 0,
        coreml_compute_units: moae_coreml_units::MOAE_COREML_ALL as i32,
        threshold: -1.0,
        crop_scale: 0.0,
    }
}

pub fn provider_from_c(v: i32) -> FfiResult<ExecutionProvider> {
    Ok(match v {
        0 => ExecutionProvider::Cpu,
        1 => ExecutionProvider::Cuda,
        2 => ExecutionProvider::TensorRt,
        3 => ExecutionProvider::CoreMl,
        _ => {
            return Err(FfiError::invalid(format!(
                "unknown provider {v} (valid: 0..=3)"
            )))
        }
    })
}

pub fn provider_to_c(p: ExecutionProvider) -> i32 {
    match p {
        ExecutionProvider::Cpu => 0,
        ExecutionProvider::Cuda => 1,
        ExecutionProvider::TensorRt => 2,
        ExecutionProvider::CoreMl => 3,
    }
}

/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn path_arg(p: *const c_char) -> Option<PathBuf> {
    if p.is_null() {
        return None;
    }
    use std::os::unix::ffi::OsStrExt;
    Some(PathBuf::from(OsStr::from_bytes(
        CStr::from_ptr(p).to_bytes(),
    )))
}

fn non_negative(name: &str, v: i32) -> FfiResult<usize> {
    usize::try_from(v).map_err(|_| FfiError::invalid(format!("moae_options.{name} is {v} (< 0)")))
}

/// Reads and validates the caller's options (NULL = all defaults).
///
/// # Safety
/// `opts` is NULL or points to `opts->struct_size` readable bytes whose pointers are valid.
pub unsafe fn engine_options(opts: *const moae_options) -> FfiResult<EngineOptions> {
    let o = if opts.is_null() {
        default_options()
    } else {
        read_sized(
            opts,
            "moae_options",
            OPTIONS_MIN_SIZE,
            &OPTIONS_ENDS,
            default_options(),
        )?
    };
    if o.abi_version != ABI_VERSION {
        return Err(FfiError::new(
            MOAE_ERR_ABI_VERSION,
            format!(
                "moae_options.abi_version is {}, this libmoae {} has ABI {ABI_VERSION}: rebuild \
                 against its moae.h (and set abi_version with moae_options_init)",
                o.abi_version,
                crate::VERSION
            ),
        ));
    }
    let mut out = EngineOptions::default();
    if o.provider_count > 0 {
        if o.providers.is_null() {
            return Err(FfiError::null(
                "moae_options.providers (provider_count > 0)",
            ));
        }
        if o.provider_count > 16 {
            return Err(FfiError::invalid(format!(
                "moae_options.provider_count is {} (at most 16)",
                o.provider_count
            )));
        }
        out.providers = std::slice::from_raw_parts(o.providers, o.provider_count)
            .iter()
            .map(|&p| provider_from_c(p))
            .collect::<FfiResult<_>>()?;
    }
    out.policy = if o.require_provider != 0 {
        ProviderPolicy::Require
    } else {
        ProviderPolicy::Fallback
    };
    out.intra_op_threads = non_negative("intra_op_threads", o.intra_op_threads)?;
    out.max_sessions = non_negative("max_sessions", o.max_sessions)?;
    out.ort_library_path = path_arg(o.ort_library_path);
    if !o.model_sha256.is_null() {
        let mut h = [0u8; 32];
        h.copy_from_slice(std::slice::from_raw_parts(o.model_sha256, 32));
        out.model_sha256 = Some(h);
    }
    out.tensorrt_cache_dir = path_arg(o.tensorrt_cache_dir);
    out.tensorrt_fp16 = o.tensorrt_fp16 != 0;
    out.coreml_units = match o.coreml_compute_units {
        0 => CoreMlUnits::All,
        1 => CoreMlUnits::CpuOnly,
        2 => CoreMlUnits::CpuAndGpu,
        3 => CoreMlUnits::CpuAndNeuralEngine,
        v => {
            return Err(FfiError::invalid(format!(
                "moae_options.coreml_compute_units is {v}"
            )))
        }
    };
    if o.threshold.is_nan() || o.threshold > 1.0 {
        return Err(FfiError::invalid(format!(
            "moae_options.threshold is {} (use a value in [0, 1], or < 0 for the model's)",
            o.threshold
        )));
    }
    out.threshold = (o.threshold >= 0.0).then_some(o.threshold);
    if !o.crop_scale.is_finite() {
        return Err(FfiError::invalid(format!(
            "moae_options.crop_scale is {} (use a finite value; <= 0 for the default)",
            o.crop_scale
        )));
    }
    if o.crop_scale > 0.0 {
        out.crop_scale = o.crop_scale;
    }
    Ok(out)
}

/// # Safety
/// `ptr` points to `len` readable bytes when non-NULL.
unsafe fn plane<'a>(img: &moae_image, i: usize) -> FfiResult<&'a [u8]> {
    let (ptr, len) = (img.planes[i], img.plane_sizes[i]);
    if ptr.is_null() {
        return Err(FfiError::null(&format!("moae_image.planes[{i}]")));
    }
    if len == 0 || len > isize::MAX as usize {
        return Err(FfiError::new(
            MOAE_ERR_INVALID_FRAME,
            format!("moae_image.plane_sizes[{i}] is {len}"),
        ));
    }
    Ok(std::slice::from_raw_parts(ptr, len))
}

/// Reads the caller's image into a runtime frame that borrows the caller's planes.
///
/// # Safety
/// `img` is non-NULL, points to `struct_size` readable bytes, and each plane the format uses
/// points to `plane_sizes[i]` readable bytes that outlive the returned frame.
pub unsafe fn frame<'a>(img: *const moae_image) -> FfiResult<Frame<'a>> {
    let blank = moae_image {
        struct_size: 0,
        format: -1,
        width: 0,
        height: 0,
        planes: [std::ptr::null(); 3],
        plane_sizes: [0; 3],
        strides: [0; 3],
        rotation: 0,
    };
    let m = read_sized(
        img,
        "moae_image",
        std::mem::size_of::<moae_image>(),
        &IMAGE_ENDS,
        blank,
    )?;
    let format = match m.format {
        0 => PixelFormat::Rgb,
        1 => PixelFormat::Bgr,
        2 => PixelFormat::Rgba,
        3 => PixelFormat::Bgra,
        4 => PixelFormat::Gray,
        5 => PixelFormat::Nv21,
        6 => PixelFormat::Nv12,
        7 => PixelFormat::I420,
        v => {
            return Err(FfiError::new(
                MOAE_ERR_UNKNOWN_FORMAT,
                format!("moae_image.format is {v}; use a moae_pixel_format value (0..=7)"),
            ))
        }
    };
    let rotation = match m.rotation {
        0 => Rotation::R0,
        90 => Rotation::R90,
        180 => Rotation::R180,
        270 => Rotation::R270,
        v => {
            return Err(FfiError::invalid(format!(
                "moae_image.rotation is {v}; use 0, 90, 180 or 270"
            )))
        }
    };
    let (w, h) = (m.width, m.height);
    let wu = w as usize;
    let stride = |i: usize, packed: usize| {
        if m.strides[i] == 0 {
            packed
        } else {
            m.strides[i]
        }
    };
    let half = wu.div_ceil(2);
    let frame = match format {
        PixelFormat::Rgb
        | PixelFormat::Bgr
        | PixelFormat::Rgba
        | PixelFormat::Bgra
        | PixelFormat::Gray => {
            let bpp = match format {
                PixelFormat::Rgb | PixelFormat::Bgr => 3,
                PixelFormat::Gray => 1,
                _ => 4,
            };
            Frame::packed(format, plane(&m, 0)?, w, h, stride(0, wu * bpp))?
        }
        PixelFormat::Nv12 | PixelFormat::Nv21 => Frame::nv(
            format,
            plane(&m, 0)?,
            stride(0, wu),
            plane(&m, 1)?,
            stride(1, 2 * half),
            w,
            h,
        )?,
        PixelFormat::I420 => Frame::i420(
            plane(&m, 0)?,
            stride(0, wu),
            plane(&m, 1)?,
            stride(1, half),
            plane(&m, 2)?,
            stride(2, half),
            w,
            h,
        )?,
    };
    Ok(frame.with_rotation(rotation))
}

/// # Safety
/// `boxes` points to `count` boxes when `count > 0`.
pub unsafe fn face_boxes(boxes: *const moae_box, count: usize) -> FfiResult<Vec<FaceBox>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if boxes.is_null() {
        return Err(FfiError::null("boxes (box_count > 0)"));
    }
    if count > 4096 {
        return Err(FfiError::invalid(format!(
            "box_count is {count} (at most 4096)"
        )));
    }
    Ok(std::slice::from_raw_parts(boxes, count)
        .iter()
        .map(|b| FaceBox {
            x: b.x,
            y: b.y,
            width: b.width,
            height: b.height,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_defaults_round_trip() {
        let o = unsafe { engine_options(std::ptr::null()) }.unwrap();
        assert_eq!(o.threshold, None);
        assert_eq!(o.crop_scale, EngineOptions::default().crop_scale);
        let mut c = default_options();
        c.abi_version = 999;
        let e = unsafe { engine_options(&c) }.unwrap_err();
        assert_eq!(e.status, MOAE_ERR_ABI_VERSION);
        let mut c = default_options();
        c.threshold = f32::NAN;
        assert_eq!(
            unsafe { engine_options(&c) }.unwrap_err().status,
            MOAE_ERR_INVALID_ARGUMENT
        );
        let mut c = default_options();
        c.provider_count = 1;
        assert_eq!(
            unsafe { engine_options(&c) }.unwrap_err().status,
            MOAE_ERR_NULL_ARGUMENT
        );
        let p = [1, 9];
        c.providers = p.as_ptr();
        c.provider_count = 2;
        assert_eq!(
            unsafe { engine_options(&c) }.unwrap_err().status,
            MOAE_ERR_INVALID_ARGUMENT
        );
    }

    #[test]
    fn layout_matches_the_header() {
        // Frozen offsets of ABI 1 on LP64 (the header's struct as a C compiler lays it out).
        assert_eq!(std::mem::size_of::<moae_options>(), 80);
        assert_eq!(std::mem::offset_of!(moae_options, ort_library_path), 40);
        assert_eq!(std::mem::size_of::<moae_image>(), 96);
        assert_eq!(std::mem::size_of::<moae_result>(), 24);
        assert_eq!(std::mem::size_of::<moae_engine_info>(), 96);
    }
}

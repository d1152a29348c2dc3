//! Preprocessing: formats, rotation, strides, the reference resize, and frame errors.
//! No ONNX Runtime needed (uses `moae_runtime::preprocess_into`).

#![allow(clippy::excessive_precision)] // CLIP constants as published

mod compare;
mod support;

use moae_runtime::{preprocess_into, Error, FaceBox, Frame, PixelFormat, Rotation, YuvRange};
use support::*;

const MEAN: [f32; 3] = [0.48145466, 0.4578275, 0.40821073];
const STD: [f32; 3] = [0.26862954, 0.26130258, 0.27577711];

fn prep(frame: &Frame<'_>, face: Option<FaceBox>, size: u32) -> Vec<f32> {
    let mut out = vec![0f32; 3 * (size * size) as usize];
    preprocess_into(frame, face, 1.5, size, MEAN, STD, &mut out).unwrap();
    out
}

/// Largest |a − b| of two preprocessed inputs; fails on a non-finite value (compare/mod.rs).
fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    compare::max_abs_diff("preprocessed input", a, b) as f32
}

fn mean_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f32>() / a.len() as f32
}

/// One axis of the documented filter, written plainly: area average when downscaling
/// (t >= 1), bilinear at pixel centres when upscaling.
fn ref_weights(a: f64, t: f64, k: usize, len: usize) -> Vec<(usize, f64)> {
    if t >= 1.0 {
        let (lo, hi) = (a + k as f64 * t, a + (k + 1) as f64 * t);
        let mut w: Vec<(usize, f64)> = (0..len)
            .map(|p| (p, (hi.min(p as f64 + 1.0) - lo.max(p as f64)).max(0.0)))
            .filter(|&(_, w)| w > 0.0)
            .collect();
        let s: f64 = w.iter().map(|x| x.1).sum();
        w.iter_mut().for_each(|x| x.1 /= s);
        w
    } else {
        let x = (a + (k as f64 + 0.5) * t - 0.5).clamp(0.0, (len - 1) as f64);
        let i = x.floor() as usize;
        let f = x - i as f64;
        if i + 1 < len {
            vec![(i, 1.0 - f), (i + 1, f)]
        } else {
            vec![(i, 1.0)]
        }
    }
}

/// Reference: crop square (x, y, side) of an RGB image -> S x S, normalised CHW, slowly.
fn reference(rgb: &[u8], w: u32, h: u32, sq: (f64, f64, f64), s: usize) -> Vec<f32> {
    let t = sq.2 / s as f64;
    let mut out = vec![0f32; 3 * s * s];
    for i in 0..s {
        let wy = ref_weights(sq.1, t, i, h as usize);
        for j in 0..s {
            let wx = ref_weights(sq.0, t, j, w as usize);
            for c in 0..3 {
                let mut v = 0.0;
                for &(py, fy) in &wy {
                    for &(px, fx) in &wx {
                        v += fy * fx * rgb[(py * w as usize + px) * 3 + c] as f64;
                    }
                }
                out[c * s * s + i * s + j] = ((v / 255.0 - MEAN[c] as f64) / STD[c] as f64) as f32;
            }
        }
    }
    out
}

fn rgb_frame(rgb: &[u8], w: u32, h: u32) -> Frame<'_> {
    Frame::packed(PixelFormat::Rgb, rgb, w, h, 3 * w as usize).unwrap()
}

#[test]
fn matches_reference_whole_frame_1080p_to_224() {
    let (w, h) = (1920, 1080);
    let rgb = test_rgb(w, h);
    let got = prep(&rgb_frame(&rgb, w, h), None, 224);
    // No box: centred square of side min(w, h).
    let want = reference(&rgb, w, h, (420.0, 0.0, 1080.0), 224);
    assert!(
        max_diff(&got, &want) < 1e-4,
        "max diff {}",
        max_diff(&got, &want)
    );
}

#[test]
fn matches_reference_upscaled_face_box() {
    let (w, h) = (160, 120);
    let rgb = test_rgb(w, h);
    // box 20x24 at (60, 40): side 24 * 1.5 = 36 centred at (70, 52) -> (52, 34, 36)
    let face = FaceBox::new(60.0, 40.0, 20.0, 24.0);
    let got = prep(&rgb_frame(&rgb, w, h), Some(face), 64);
    let want = reference(&rgb, w, h, (52.0, 34.0, 36.0), 64);
    assert!(
        max_diff(&got, &want) < 1e-4,
        "max diff {}",
        max_diff(&got, &want)
    );
}

#[test]
fn matches_reference_clipped_face_box() {
    let (w, h) = (200, 150);
    let rgb = test_rgb(w, h);
    // box (150, 10, 60, 40): square side 90 centred (180, 30) -> [135,225) x [-15,75)
    // clipped to [135,200) x [0,75): side 65; x placed in [135, 135], y nearest 30-32.5 -> 0.
    let face = FaceBox::new(150.0, 10.0, 60.0, 40.0);
    let got = prep(&rgb_frame(&rgb, w, h), Some(face), 48);
    let want = reference(&rgb, w, h, (135.0, 0.0, 65.0), 48);
    assert!(
        max_diff(&got, &want) < 1e-4,
        "max diff {}",
        max_diff(&got, &want)
    );
}

/// The same picture as every packed format.
fn packed_variants(rgb: &[u8]) -> Vec<(PixelFormat, Vec<u8>)> {
    let px = rgb.chunks_exact(3);
    vec![
        (PixelFormat::Rgb, rgb.to_vec()),
        (
            PixelFormat::Bgr,
            px.clone().flat_map(|p| [p[2], p[1], p[0]]).collect(),
        ),
        (
            PixelFormat::Rgba,
            px.clone().flat_map(|p| [p[0], p[1], p[2], 255]).collect(),
        ),
        (
            PixelFormat::Bgra,
            px.flat_map(|p| [p[2], p[1], p[0], 7]).collect(),
        ),
    ]
}

#[test]
fn packed_formats_give_the_same_tensor() {
    let (w, h) = (320, 240);
    let rgb = test_rgb(w, h);
    let face = Some(FaceBox::new(100.0, 60.0, 90.0, 110.0));
    for face in [None, face] {
        let base = prep(&rgb_frame(&rgb, w, h), face, 64);
        for (fmt, data) in packed_variants(&rgb) {
            let bpp = fmt.packed_bytes_per_pixel().unwrap();
            let f = Frame::packed(fmt, &data, w, h, bpp * w as usize).unwrap();
            // Same arithmetic on the same values: equal up to float summation order.
            assert!(max_diff(&prep(&f, face, 64), &base) < 1e-5, "{fmt}");
        }
    }
}

#[test]
fn gray_is_rgb_with_equal_channels() {
    let (w, h) = (100, 80);
    let gray: Vec<u8> = test_rgb(w, h).chunks(3).map(|p| p[1]).collect();
    let as_rgb: Vec<u8> = gray.iter().flat_map(|&g| [g, g, g]).collect();
    let f = Frame::packed(PixelFormat::Gray, &gray, w, h, w as usize).unwrap();
    let d = max_diff(
        &prep(&f, None, 32),
        &prep(&rgb_frame(&as_rgb, w, h), None, 32),
    );
    assert!(d < 1e-5, "{d}");
}

/// The same picture as every 4:2:0 layout (planes built once from the RGB image).
fn yuv_tensors(
    rgb: &[u8],
    w: u32,
    h: u32,
    face: Option<FaceBox>,
    s: u32,
) -> Vec<(String, Vec<f32>)> {
    let (y, u, v) = rgb_to_yuv420(rgb, w, h);
    let (wu, cw) = (w as usize, w as usize / 2);
    let nv21 = interleave(&v, &u);
    let nv12 = interleave(&u, &v);
    let mut out = Vec::new();
    let f = Frame::nv(PixelFormat::Nv21, &y, wu, &nv21, wu, w, h).unwrap();
    out.push(("nv21".to_string(), prep(&f, face, s)));
    let f = Frame::nv(PixelFormat::Nv12, &y, wu, &nv12, wu, w, h).unwrap();
    out.push(("nv12".to_string(), prep(&f, face, s)));
    let f = Frame::i420(&y, wu, &u, cw, &v, cw, w, h).unwrap();
    out.push(("i420".to_string(), prep(&f, face, s)));
    let f = Frame::yuv420_888(&y, wu, &u, &v, cw, 1, w, h).unwrap();
    out.push(("yuv420_888/ps1".to_string(), prep(&f, face, s)));
    // Android's NV21-backed YUV_420_888: V buffer at offset 0, U at 1, pixel stride 2.
    let f = Frame::yuv420_888(&y, wu, &nv21[1..], &nv21[..nv21.len() - 1], wu, 2, w, h).unwrap();
    assert_eq!(f.format(), PixelFormat::Nv21);
    out.push(("yuv420_888/ps2".to_string(), prep(&f, face, s)));
    out
}

#[test]
fn yuv_formats_agree_tightly_and_match_rgb_loosely() {
    let (w, h) = (320, 240);
    let rgb = test_rgb(w, h);
    for face in [None, Some(FaceBox::new(150.0, 40.0, 60.0, 70.0))] {
        let all = yuv_tensors(&rgb, w, h, face, 64);
        let (_, first) = &all[0];
        for (name, t) in &all[1..] {
            // Same samples, same arithmetic: only float summation order may differ.
            assert!(
                max_diff(t, first) < 1e-5,
                "{name} vs nv21: {}",
                max_diff(t, first)
            );
        }
        // YUV is lossy (8-bit rounding; 4:2:0 halves chroma resolution): against the RGB
        // tensor we allow 24/255 at any one value (sharp colour edges in a crop that is barely
        // downscaled: measured ~19/255 for the face case, ~5/255 for the whole frame) and
        // 2/255 on average, in [0, 1] pixel units (i.e. times 1/std in the tensor).
        let base = prep(&rgb_frame(&rgb, w, h), face, 64);
        let unit = 1.0 / (255.0 * STD.iter().cloned().fold(f32::MAX, f32::min));
        let (mx, mn) = (max_diff(first, &base), mean_diff(first, &base));
        assert!(
            mx < 24.0 * unit && mn < 2.0 * unit,
            "yuv vs rgb: max {mx}, mean {mn}"
        );
    }
}

#[test]
fn limited_range_maps_16_and_235_to_black_and_white() {
    let (w, h) = (4u32, 4u32);
    for (yv, want) in [(16u8, 0.0f32), (235, 255.0)] {
        let y = vec![yv; 16];
        let uv = vec![128u8; 8];
        let f = Frame::nv(PixelFormat::Nv21, &y, 4, &uv, 4, w, h)
            .unwrap()
            .with_yuv_range(YuvRange::Limited);
        let t = prep(&f, None, 2);
        for c in 0..3 {
            let expect = (want / 255.0 - MEAN[c]) / STD[c];
            assert!(
                (t[c * 4] - expect).abs() < 1e-4,
                "Y={yv} c={c}: {} vs {expect}",
                t[c * 4]
            );
        }
    }
}

#[test]
fn rotation_is_folded_into_sampling() {
    let (w, h) = (240, 160);
    let rgb = test_rgb(w, h);
    let face = Some(FaceBox::new(150.0, 30.0, 50.0, 60.0));
    for face in [None, face] {
        let upright = prep(&rgb_frame(&rgb, w, h), face, 48);
        let (y0, u0, v0) = rgb_to_yuv420(&rgb, w, h);
        let nv_upright = {
            let nv = interleave(&v0, &u0);
            prep(
                &Frame::nv(PixelFormat::Nv21, &y0, w as usize, &nv, w as usize, w, h).unwrap(),
                face,
                48,
            )
        };
        for deg in [90, 180, 270] {
            let r = Rotation::try_from(deg).unwrap();
            let (stored, sw, sh) = rotate_ccw(&rgb, w, h, 3, deg);
            let f = Frame::packed(PixelFormat::Rgb, &stored, sw, sh, 3 * sw as usize)
                .unwrap()
                .with_rotation(r);
            assert_eq!(f.upright_size(), (w, h));
            let d = max_diff(&prep(&f, face, 48), &upright);
            assert!(d < 1e-4, "rgb rotated {deg}: {d}");
            // NV21 of the rotated picture (even sizes: 2x2 chroma blocks map to blocks).
            let (y, u, v) = rgb_to_yuv420(&stored, sw, sh);
            let nv = interleave(&v, &u);
            let f = Frame::nv(PixelFormat::Nv21, &y, sw as usize, &nv, sw as usize, sw, sh)
                .unwrap()
                .with_rotation(r);
            let d = max_diff(&prep(&f, face, 48), &nv_upright);
            assert!(d < 1e-4, "nv21 rotated {deg}: {d}");
        }
    }
}

#[test]
fn padded_strides_give_the_same_tensor() {
    let (w, h) = (130, 98);
    let (wu, hu) = (w as usize, h as usize);
    let rgb = test_rgb(w, h);
    let face = Some(FaceBox::new(20.0, 20.0, 50.0, 50.0));
    let base = prep(&rgb_frame(&rgb, w, h), face, 40);
    let padded = pad_rows(&rgb, 3 * wu, hu, 3 * wu + 13);
    let f = Frame::packed(PixelFormat::Rgb, &padded, w, h, 3 * wu + 13).unwrap();
    assert!(max_diff(&prep(&f, face, 40), &base) < 1e-6);
    // Android-style: the last row without its padding.
    let short = &padded[..padded.len() - 13];
    let f = Frame::packed(PixelFormat::Rgb, short, w, h, 3 * wu + 13).unwrap();
    assert!(max_diff(&prep(&f, face, 40), &base) < 1e-6);

    let (y, u, v) = rgb_to_yuv420(&rgb, w, h);
    let nv = interleave(&v, &u);
    let tight = prep(
        &Frame::nv(PixelFormat::Nv21, &y, wu, &nv, wu, w, h).unwrap(),
        face,
        40,
    );
    let (ys, cs) = (wu + 30, wu + 18);
    let yp = pad_rows(&y, wu, hu, ys);
    let nvp = pad_rows(&nv, wu, hu / 2, cs);
    let f = Frame::nv(PixelFormat::Nv21, &yp, ys, &nvp, cs, w, h).unwrap();
    assert!(max_diff(&prep(&f, face, 40), &tight) < 1e-6);
    let (up, vp) = (
        pad_rows(&u, wu / 2, hu / 2, 80),
        pad_rows(&v, wu / 2, hu / 2, 72),
    );
    let f = Frame::i420(&yp, ys, &up, 80, &vp, 72, w, h).unwrap();
    assert!(max_diff(&prep(&f, face, 40), &tight) < 1e-5);
}

#[test]
fn bad_frames_are_invalid_frame_errors() {
    let buf = vec![0u8; 64 * 48 * 3];
    let frame_err = |r: Result<Frame<'_>, Error>, what: &str| match r {
        Err(Error::InvalidFrame(msg)) => assert!(!msg.is_empty()),
        Err(e) => panic!("{what}: wrong error {e:?}"),
        Ok(_) => panic!("{what}: accepted"),
    };
    // wrong buffer length
    frame_err(
        Frame::packed(PixelFormat::Rgb, &buf[..100], 64, 48, 192),
        "short buffer",
    );
    frame_err(
        Frame::packed(PixelFormat::Rgba, &buf, 64, 48, 256),
        "rgba in rgb-sized buffer",
    );
    // zero size
    frame_err(
        Frame::packed(PixelFormat::Rgb, &buf, 0, 48, 192),
        "zero width",
    );
    frame_err(
        Frame::nv(PixelFormat::Nv21, &buf, 64, &buf, 64, 64, 0),
        "zero height",
    );
    // odd NV21 dimensions
    let (y, uv) = (vec![0u8; 63 * 47], vec![0u8; 64 * 24]);
    frame_err(
        Frame::nv(PixelFormat::Nv21, &y, 63, &uv, 64, 63, 47),
        "odd nv21",
    );
    // stride < row bytes
    frame_err(
        Frame::packed(PixelFormat::Rgb, &buf, 64, 48, 100),
        "rgb stride",
    );
    let (y, uv) = (vec![0u8; 64 * 48], vec![0u8; 64 * 24]);
    frame_err(
        Frame::nv(PixelFormat::Nv12, &y, 64, &uv, 60, 64, 48),
        "uv stride",
    );
    frame_err(Frame::i420(&y, 64, &uv, 31, &uv, 32, 64, 48), "u stride");
    frame_err(
        Frame::yuv420_888(&y, 64, &uv, &uv, 64, 3, 64, 48),
        "pixel stride 3",
    );
    // Wrong kind of constructor is an argument error.
    assert!(matches!(
        Frame::packed(PixelFormat::Nv21, &buf, 64, 48, 64),
        Err(Error::InvalidArgument(_))
    ));
}

#[test]
fn boxes_outside_the_frame_are_face_box_errors() {
    let (w, h) = (64, 48);
    let rgb = test_rgb(w, h);
    let f = rgb_frame(&rgb, w, h);
    let mut out = vec![0f32; 3 * 16 * 16];
    for b in [
        FaceBox::new(64.0, 0.0, 10.0, 10.0),
        FaceBox::new(-11.0, -11.0, 10.0, 10.0),
        FaceBox::new(10.0, 10.0, -5.0, 5.0),
        FaceBox::new(f32::INFINITY, 0.0, 5.0, 5.0),
    ] {
        let r = preprocess_into(&f, Some(b), 1.5, 16, MEAN, STD, &mut out);
        assert!(matches!(r, Err(Error::InvalidFaceBox(_))), "{b:?}: {r:?}");
    }
    // Upright coordinates: a box inside the stored 64x48 frame but outside the rotated
    // 48x64 one is rejected.
    let rf = f.with_rotation(Rotation::R90);
    let r = preprocess_into(
        &rf,
        Some(FaceBox::new(50.0, 5.0, 8.0, 8.0)),
        1.5,
        16,
        MEAN,
        STD,
        &mut out,
    );
    assert!(matches!(r, Err(Error::InvalidFaceBox(_))), "{r:?}");
}

/// The buffer a camera would store for the upright image `data` (`bpp` bytes per pixel) with
/// this (rotation, mirrored): upright = rotate_cw(flip_lr_if_mirrored(buffer), rotation), so
/// buffer = flip_lr_if_mirrored(rotate_ccw(upright)).
fn stored_as(data: &[u8], w: u32, h: u32, bpp: usize, deg: i32, m: bool) -> (Vec<u8>, u32, u32) {
    let (mut data, sw, sh) = rotate_ccw(data, w, h, bpp, deg);
    if m {
        for row in data.chunks_exact_mut(bpp * sw as usize) {
            let flipped: Vec<u8> = row.chunks_exact(bpp).rev().flatten().copied().collect();
            row.copy_from_slice(&flipped);
        }
    }
    (data, sw, sh)
}

fn set(f: Frame<'_>, rot: Rotation, mirrored: bool) -> Frame<'_> {
    f.with_rotation(rot).with_mirrored(mirrored)
}

/// The model input of the upright RGB picture `rgb`, delivered as `format` in a buffer stored
/// with (rotation, mirrored). Planes are made from the upright picture, then each plane is
/// stored rotated/mirrored (as a camera's planes are), so the samples are the same bytes.
fn tensor_as(
    format: PixelFormat,
    rgb: &[u8],
    (w, h): (u32, u32),
    (deg, mirrored): (i32, bool),
    face: Option<FaceBox>,
    s: u32,
) -> Vec<f32> {
    let rot = Rotation::try_from(deg).unwrap();
    let store = |d: &[u8], w: u32, h: u32, bpp: usize| stored_as(d, w, h, bpp, deg, mirrored);
    match format {
        PixelFormat::Nv21 | PixelFormat::Nv12 | PixelFormat::I420 => {
            let (y, u, v) = rgb_to_yuv420(rgb, w, h);
            let (y, sw, sh) = store(&y, w, h, 1);
            let (u, cw, _) = store(&u, w / 2, h / 2, 1);
            let (v, _, _) = store(&v, w / 2, h / 2, 1);
            let (swu, cwu) = (sw as usize, cw as usize);
            let nv = match format {
                PixelFormat::Nv21 => interleave(&v, &u),
                _ => interleave(&u, &v),
            };
            let f = match format {
                PixelFormat::I420 => Frame::i420(&y, swu, &u, cwu, &v, cwu, sw, sh),
                _ => Frame::nv(format, &y, swu, &nv, swu, sw, sh),
            };
            prep(&set(f.unwrap(), rot, mirrored), face, s)
        }
        PixelFormat::Gray => {
            let g: Vec<u8> = rgb.chunks(3).map(|p| p[1]).collect();
            let (g, sw, sh) = store(&g, w, h, 1);
            prep(
                &set(
                    Frame::packed(format, &g, sw, sh, sw as usize).unwrap(),
                    rot,
                    mirrored,
                ),
                face,
                s,
            )
        }
        _ => {
            let (_, data) = packed_variants(rgb)
                .into_iter()
                .find(|(f, _)| *f == format)
                .unwrap();
            let bpp = format.packed_bytes_per_pixel().unwrap();
            let (d, sw, sh) = store(&data, w, h, bpp);
            let f = Frame::packed(format, &d, sw, sh, bpp * sw as usize).unwrap();
            prep(&set(f, rot, mirrored), face, s)
        }
    }
}

/// Issue 15 "camera geometry": for every format and all 8 (rotation, mirrored) pairs, a buffer
/// stored that way gives the model input of the upright frame. With a crop of exactly 2 source
/// pixels per output pixel on even pixel boundaries every tap weight is 0.5 (1 for chroma) and
/// every sum exact, so the inputs are equal **bit for bit**; for a general crop (fractional
/// position, odd scale, upscaling) the buffer is resampled in its own orientation, so sums run
/// in another order and the inputs agree **within float rounding** (max 1e-4 on inputs of
/// magnitude ~2).
#[test]
fn rotation_and_mirroring_give_the_upright_input_in_every_format() {
    let (w, h) = (96u32, 64u32);
    let rgb = test_rgb(w, h);
    // (box, size, bit-exact): the whole frame is the square (16, 0, 64) -> 32; the box's
    // square is 20 * 1.5 = 30 at (30, 6) -> 15. Both 2:1 on even boundaries.
    let cases = [
        (None, 32u32, true),
        (Some(FaceBox::new(35.0, 11.0, 20.0, 20.0)), 15, true),
        (Some(FaceBox::new(31.3, 7.9, 23.5, 29.1)), 24, false),
        (Some(FaceBox::new(60.0, 30.0, 12.0, 12.0)), 24, false),
        // Clipped at the frame's right edge.
        (Some(FaceBox::new(80.0, 20.0, 30.0, 30.0)), 20, false),
    ];
    let mut checked = 0;
    for format in PixelFormat::ALL {
        for (face, s, exact) in cases {
            let upright = tensor_as(format, &rgb, (w, h), (0, false), face, s);
            for deg in [0, 90, 180, 270] {
                for mirrored in [false, true] {
                    let got = tensor_as(format, &rgb, (w, h), (deg, mirrored), face, s);
                    let what = format!("{format} {deg} mirrored {mirrored} box {face:?}");
                    let d = max_diff(&got, &upright);
                    if exact {
                        let same = got
                            .iter()
                            .zip(&upright)
                            .all(|(a, b)| a.to_bits() == b.to_bits());
                        assert!(same, "{what}: not bit-identical, max diff {d}");
                    } else {
                        assert!(d < 1e-4, "{what}: max diff {d}");
                    }
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 8 * 5 * 8);
}

#[test]
fn a_mirrored_frame_is_not_the_unmirrored_one() {
    // The check above would also pass if mirroring were ignored for a left-right symmetric
    // picture; this shows the flag changes the input of an asymmetric one.
    let (w, h) = (96u32, 64u32);
    let rgb = test_rgb(w, h);
    let f = rgb_frame(&rgb, w, h);
    let d = max_diff(&prep(&f, None, 32), &prep(&f.with_mirrored(true), None, 32));
    assert!(d > 0.1, "mirroring changed nothing: {d}");
}

/// The parity helper fails on a non-finite value on either side, and names where: a fold with
/// `f32::max` would report 0 for an output that is all NaN.
#[test]
fn comparison_fails_on_non_finite_values_and_names_the_index() {
    let ok = [0.0f32, 1.0, 2.0];
    assert_eq!(
        compare::max_abs_diff_at("ok", &ok, &[0.0f32, 1.5, 2.0]),
        (0.5, 1)
    );
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut b = ok;
        b[2] = bad;
        for (x, y) in [(&ok, &b), (&b, &ok)] {
            let err = std::panic::catch_unwind(|| compare::max_abs_diff("logits", x, y))
                .expect_err("a non-finite value must fail the comparison");
            let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
            assert!(msg.contains("logits") && msg.contains("index 2"), "{msg}");
        }
    }
    let err = std::panic::catch_unwind(|| {
        compare::assert_close("scores", &ok, &[0.0f32, 1.0, 2.1], 0.05)
    })
    .expect_err("a difference over the bound must fail");
    let msg = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(msg.contains("scores") && msg.contains("index 2"), "{msg}");
}

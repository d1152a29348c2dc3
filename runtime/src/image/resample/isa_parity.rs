//! The SIMD passes (NEON on aarch64, AVX2 on x86-64) against the portable one, bit for bit,
//! for every pixel format, padded and tight strides, every rotation, mirrored or not, both YUV ranges, up- and
//! downscaling and tap widths past the unrolled ones. `scripts/test.sh` runs this under qemu
//! for aarch64.

use super::{resample_with, Isa, Normalize};
use crate::image::crop::{to_source, upright_crop};
use crate::image::frame::{Frame, PixelFormat, Rotation, YuvMatrix, YuvRange};
use crate::FaceBox;

fn noise(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Smooth ramps plus noise, with runs of 0 and 255 so the YUV clamp is exercised.
            let ramp = (i % 97) as i64 * 5 - 120;
            (ramp + (x >> 58) as i64).clamp(0, 255) as u8
        })
        .collect()
}

fn simd_isa() -> Isa {
    let isa = Isa::best();
    // Comparing the portable pass with itself would prove nothing.
    assert_ne!(
        isa,
        Isa::Scalar,
        "this CPU has no SIMD path to compare (x86-64 without AVX2?)"
    );
    #[cfg(target_arch = "aarch64")]
    assert_eq!(isa, Isa::Neon);
    isa
}

/// Runs both passes on `frame` for a few crops and output sizes; returns outputs compared.
fn compare(frame: &Frame<'_>, what: &str) -> usize {
    let norm = Normalize::new([0.481, 0.458, 0.408], [0.269, 0.261, 0.276]);
    let simd = simd_isa();
    let (uw, uh) = frame.upright_size();
    let boxes = [
        None,
        Some(FaceBox::new(
            uw as f32 * 0.3,
            uh as f32 * 0.2,
            uw as f32 * 0.35,
            uh as f32 * 0.4,
        )),
        // Partly outside the frame: the crop is clipped, taps reach the plane's edges.
        Some(FaceBox::new(
            -3.0,
            uh as f32 * 0.6,
            uw as f32 * 0.5,
            uh as f32 * 0.5,
        )),
    ];
    let mut n = 0;
    for face in boxes {
        // 7: strong downscale, tap widths past 8; 19: odd, not a multiple of 4 or 16; 64: the
        // crop upscaled for small frames.
        for s in [7usize, 19, 64] {
            let sq = upright_crop(uw, uh, face, 1.5).unwrap();
            let src = to_source(sq, frame);
            let mut a = vec![f32::NAN; 3 * s * s];
            let mut b = vec![f32::NAN; 3 * s * s];
            resample_with(Isa::Scalar, frame, src, s, &norm, &mut a);
            resample_with(simd, frame, src, s, &norm, &mut b);
            for (i, (x, y)) in a.iter().zip(&b).enumerate() {
                assert!(
                    x.to_bits() == y.to_bits(),
                    "{what}, box {face:?}, size {s}: output {i} scalar {x} vs {simd:?} {y}"
                );
            }
            assert!(a.iter().all(|v| v.is_finite()), "{what}: output not filled");
            n += 1;
        }
    }
    n
}

#[test]
fn simd_pass_equals_the_portable_pass_bit_for_bit() {
    let mut compared = 0;
    for (w, h) in [(70u32, 46u32), (38, 52)] {
        for pad in [0usize, 13] {
            for rot in [Rotation::R0, Rotation::R90, Rotation::R180, Rotation::R270] {
                let (wu, hu) = (w as usize, h as usize);
                let seed = (w as u64) * 31 + pad as u64;
                for format in PixelFormat::ALL {
                    let data;
                    let frames: Vec<Frame<'_>> = match format.packed_bytes_per_pixel() {
                        Some(bpp) => {
                            let stride = wu * bpp + pad;
                            data = noise(seed, stride * hu);
                            vec![Frame::packed(format, &data, w, h, stride).unwrap()]
                        }
                        None if format == PixelFormat::I420 => {
                            let (ys, cs) = (wu + pad, wu / 2 + pad);
                            data = noise(seed, ys * hu + 2 * cs * hu / 2);
                            let (y, c) = data.split_at(ys * hu);
                            let (u, v) = c.split_at(cs * hu / 2);
                            vec![
                                Frame::i420(y, ys, u, cs, v, cs, w, h).unwrap(),
                                // YUV_420_888 with chroma pixel stride 1 (I420-like).
                                Frame::yuv420_888(y, ys, u, v, cs, 1, w, h).unwrap(),
                            ]
                        }
                        None => {
                            let stride = wu + pad;
                            data = noise(seed, stride * hu + stride * hu / 2);
                            let (y, uv) = data.split_at(stride * hu);
                            let nv = Frame::nv(format, y, stride, uv, stride, w, h).unwrap();
                            // YUV_420_888 with pixel stride 2: overlapping U and V buffers.
                            let len = uv.len() - 1;
                            let (u, v) = if format == PixelFormat::Nv12 {
                                (&uv[..len], &uv[1..])
                            } else {
                                (&uv[1..], &uv[..len])
                            };
                            let f888 = Frame::yuv420_888(y, stride, u, v, stride, 2, w, h).unwrap();
                            assert_eq!(f888.format(), format);
                            vec![nv, f888]
                        }
                    };
                    for frame in frames {
                        for range in [YuvRange::Full, YuvRange::Limited] {
                            // Mirroring only for the full range (it changes where values go,
                            // not how they are computed; one range covers it).
                            let mirrors: &[bool] = match range {
                                YuvRange::Full => &[false, true],
                                YuvRange::Limited => &[false],
                            };
                            for &m in mirrors {
                                // The matrix, as the range, only applies to YUV.
                                let matrices: &[YuvMatrix] =
                                    if format.packed_bytes_per_pixel().is_some() {
                                        &[YuvMatrix::Bt601]
                                    } else {
                                        &[YuvMatrix::Bt601, YuvMatrix::Bt709]
                                    };
                                for &matrix in matrices {
                                    let f = frame
                                        .with_rotation(rot)
                                        .with_yuv_range(range)
                                        .with_yuv_matrix(matrix)
                                        .with_mirrored(m);
                                    let what = format!(
                                        "{format} {w}x{h} pad {pad} {rot:?} {range:?} \
                                         {matrix:?} mirrored {m}"
                                    );
                                    compared += compare(&f, &what);
                                }
                            }
                            if format.packed_bytes_per_pixel().is_some() {
                                break; // the range only applies to YUV
                            }
                        }
                    }
                }
            }
        }
    }
    // 2 sizes x 2 strides x 4 rotations x (5 packed x 2 mirrorings + 2 x 3 YUV frames x
    // (full x 2 mirrorings + limited) x 2 matrices) x 9 runs.
    assert_eq!(compared, 2 * 2 * 4 * (5 * 2 + 6 * 3 * 2) * 9);
}

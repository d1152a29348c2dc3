//! Frame and face quality: measured values, limits, and the flags that make a decision
//! "unsure" instead of live/attack.
//!
//! Measured per face on the face itself (the detector's or caller's box), in the upright,
//! un-mirrored frame: the box's size and how much of it lies outside the frame; on a fixed-size
//! grey square of the face (64² pixels, so values do not depend on resolution) the mean luma,
//! the share of clipped pixels and the variance of the Laplacian (sharpness); from the
//! detector's keypoints the head's roll and yaw (see [`YAW_DEPTH_RATIO`]).

mod flags;
mod measures;
mod options;
mod values;

use flags::flags;
pub use flags::QualityFlags;
pub(crate) use measures::face_square;
pub use measures::{measure, YAW_DEPTH_RATIO};
#[cfg(test)]
use measures::{outside_fraction, roll_deg, yaw_deg};
pub use options::QualityOptions;
pub use values::QualityValues;

#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Quality {
    pub values: QualityValues,
    pub flags: QualityFlags,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::face::Keypoint;
    use crate::image::crop::FaceBox;
    use crate::image::frame::{Frame, PixelFormat, Rotation};
    use crate::image::geometry::MIN_FACE_SIZE_PX;

    /// MediaPipe's keypoints on the astronaut photo (tests/fixtures/face/mediapipe_reference.json).
    const ASTRONAUT_KP: [(f32, f32); 6] = [
        (201.50, 104.90),
        (245.85, 109.10),
        (220.43, 127.26),
        (219.82, 148.61),
        (178.19, 115.72),
        (272.20, 123.87),
    ];

    fn kp(points: [(f32, f32); 6]) -> [Keypoint; 6] {
        points.map(|(x, y)| Keypoint { x, y })
    }

    fn rotate(points: [(f32, f32); 6], deg: f32) -> [(f32, f32); 6] {
        let (s, c) = deg.to_radians().sin_cos();
        let (cx, cy) = (225.0, 125.0);
        points.map(|(x, y)| {
            let (dx, dy) = (x - cx, y - cy);
            (cx + dx * c - dy * s, cy + dx * s + dy * c)
        })
    }

    #[test]
    fn roll_follows_the_eye_line() {
        let k = kp(ASTRONAUT_KP);
        let r0 = roll_deg(&k);
        assert!(r0.abs() < 8.0, "{r0}");
        for deg in [-40.0f32, -10.0, 25.0, 40.0, 120.0] {
            let r = roll_deg(&kp(rotate(ASTRONAUT_KP, deg)));
            let want = (r0 + deg + 180.0).rem_euclid(360.0) - 180.0;
            assert!((r - want).abs() < 1e-3, "{deg}: {r} vs {want}");
        }
        // Yaw does not change with roll (measured along the eye line).
        let y0 = yaw_deg(&k);
        let y40 = yaw_deg(&kp(rotate(ASTRONAUT_KP, 40.0)));
        assert!((y0 - y40).abs() < 1e-2, "{y0} vs {y40}");
    }

    #[test]
    fn huge_keypoints_give_nan_angles_that_trip_the_flags() {
        // Finite keypoints near f32::MAX (a broken detector that stays just inside f32): the
        // projections along a 45-degree eye line overflow, yaw is NaN, and NaN trips HEAD_YAW
        // instead of silently passing.
        let big = 3.0e38f32;
        let k = kp([
            (0.0, 0.0),
            (10.0, 10.0),
            (0.0, 5.0),
            (0.0, 9.0),
            (big, big),
            (big * 1.1, big * 1.1),
        ]);
        let yaw = yaw_deg(&k);
        assert!(yaw.is_nan(), "{yaw}");
        let v = QualityValues {
            face_px: 200.0,
            brightness: 120.0,
            sharpness: 500.0,
            roll_deg: 0.0,
            yaw_deg: yaw,
            ..Default::default()
        };
        assert!(flags(&v, true, &QualityOptions::default()).contains(QualityFlags::HEAD_YAW));
    }

    #[test]
    fn yaw_follows_a_turned_head() {
        // The astronaut faces the camera.
        assert!(yaw_deg(&kp(ASTRONAUT_KP)).abs() < 10.0);
        // Hand-made keypoints of a head turned by theta under the documented cylinder model:
        // ears at +-R cos(theta), nose at k R sin(theta), eyes in between.
        for theta in [-60.0f32, -30.0, 0.0, 20.0, 45.0] {
            let (s, c) = theta.to_radians().sin_cos();
            let r = 40.0;
            let p = [
                (200.0 - 0.5 * r * c + 0.6 * r * s, 100.0),
                (200.0 + 0.5 * r * c + 0.6 * r * s, 100.0),
                (200.0 + YAW_DEPTH_RATIO * r * s, 125.0),
                (200.0 + 1.2 * r * s, 145.0),
                (200.0 - r * c, 115.0),
                (200.0 + r * c, 115.0),
            ];
            let y = yaw_deg(&kp(p));
            assert!((y - theta).abs() < 0.01, "{theta}: {y}");
        }
    }

    #[test]
    fn flags_follow_the_limits() {
        let o = QualityOptions::default();
        let good = QualityValues {
            face_px: 200.0,
            outside_fraction: 0.0,
            brightness: 120.0,
            overexposed_fraction: 0.0,
            sharpness: 500.0,
            roll_deg: 3.0,
            yaw_deg: -4.0,
        };
        assert_eq!(flags(&good, true, &o), QualityFlags::NONE);
        let cases = [
            (
                QualityValues {
                    face_px: 50.0,
                    ..good
                },
                QualityFlags::TOO_SMALL,
            ),
            (
                QualityValues {
                    outside_fraction: 0.3,
                    ..good
                },
                QualityFlags::PARTLY_OUTSIDE,
            ),
            (
                QualityValues {
                    brightness: 20.0,
                    ..good
                },
                QualityFlags::TOO_DARK,
            ),
            (
                QualityValues {
                    brightness: 240.0,
                    ..good
                },
                QualityFlags::TOO_BRIGHT,
            ),
            (
                QualityValues {
                    overexposed_fraction: 0.5,
                    ..good
                },
                QualityFlags::TOO_BRIGHT,
            ),
            (
                QualityValues {
                    sharpness: 5.0,
                    ..good
                },
                QualityFlags::BLURRED,
            ),
            (
                QualityValues {
                    roll_deg: -40.0,
                    ..good
                },
                QualityFlags::HEAD_ROLL,
            ),
            (
                QualityValues {
                    yaw_deg: 50.0,
                    ..good
                },
                QualityFlags::HEAD_YAW,
            ),
        ];
        for (v, want) in cases {
            assert_eq!(flags(&v, true, &o), want, "{v:?}");
        }
        // A value that could not be measured (NaN) trips its flag, never passes.
        let nan = f32::NAN;
        for (v, want) in [
            (
                QualityValues {
                    face_px: nan,
                    ..good
                },
                QualityFlags::TOO_SMALL,
            ),
            (
                QualityValues {
                    outside_fraction: nan,
                    ..good
                },
                QualityFlags::PARTLY_OUTSIDE,
            ),
            (
                QualityValues {
                    brightness: nan,
                    ..good
                },
                QualityFlags::TOO_DARK | QualityFlags::TOO_BRIGHT,
            ),
            (
                QualityValues {
                    overexposed_fraction: nan,
                    ..good
                },
                QualityFlags::TOO_BRIGHT,
            ),
            (
                QualityValues {
                    sharpness: nan,
                    ..good
                },
                QualityFlags::BLURRED,
            ),
            (
                QualityValues {
                    roll_deg: nan,
                    ..good
                },
                QualityFlags::HEAD_ROLL,
            ),
            (
                QualityValues {
                    yaw_deg: nan,
                    ..good
                },
                QualityFlags::HEAD_YAW,
            ),
        ] {
            assert_eq!(flags(&v, true, &o), want, "{v:?}");
        }
        // Without keypoints, roll and yaw are not judged.
        let v = QualityValues {
            roll_deg: 90.0,
            yaw_deg: 90.0,
            ..good
        };
        assert_eq!(flags(&v, false, &o), QualityFlags::NONE);
    }

    #[test]
    fn options_are_validated() {
        assert!(QualityOptions::default().validate().is_ok());
        let d = QualityOptions::default();
        for bad in [
            QualityOptions {
                min_face_px: f32::NAN,
                ..d
            },
            // Below the smallest face the SDK judges at all.
            QualityOptions {
                min_face_px: 0.0,
                ..d
            },
            QualityOptions {
                min_face_px: MIN_FACE_SIZE_PX - 0.5,
                ..d
            },
            QualityOptions {
                max_outside_fraction: 1.5,
                ..d
            },
            QualityOptions {
                min_brightness: -1.0,
                ..d
            },
            QualityOptions {
                max_brightness: f32::INFINITY,
                ..d
            },
            QualityOptions {
                min_brightness: 200.0,
                max_brightness: 100.0,
                ..d
            },
            QualityOptions {
                max_overexposed_fraction: -0.1,
                ..d
            },
            QualityOptions {
                min_sharpness: f32::NAN,
                ..d
            },
            QualityOptions {
                max_roll_deg: 200.0,
                ..d
            },
            QualityOptions {
                max_yaw_deg: -5.0,
                ..d
            },
        ] {
            assert!(
                matches!(bad.validate(), Err(Error::InvalidArgument(_))),
                "{bad:?}"
            );
        }
        match (QualityOptions {
            min_face_px: 4.0,
            ..d
        })
        .validate()
        {
            Err(Error::InvalidArgument(m)) => {
                assert!(m.contains("min_face_px") && m.contains(">= 16"), "{m}")
            }
            other => panic!("{other:?}"),
        }
        // The minimum itself is accepted.
        assert!(QualityOptions {
            min_face_px: MIN_FACE_SIZE_PX,
            ..d
        }
        .validate()
        .is_ok());
    }

    #[test]
    fn image_measures_do_not_depend_on_resolution_and_see_blur() {
        // A checkerboard face region at two resolutions: the same sampled square.
        let make = |w: usize, cell: usize| -> Vec<u8> {
            (0..w * w)
                .map(|i| {
                    if ((i % w) / cell + (i / w) / cell) % 2 == 0 {
                        200
                    } else {
                        40
                    }
                })
                .collect()
        };
        let small = make(128, 8);
        let big = make(256, 16);
        let o = QualityOptions::default();
        let fs = Frame::packed(PixelFormat::Gray, &small, 128, 128, 128).unwrap();
        let fb = Frame::packed(PixelFormat::Gray, &big, 256, 256, 256).unwrap();
        let qs = measure(&fs, &FaceBox::new(0.0, 0.0, 128.0, 128.0), None, &o).unwrap();
        let qb = measure(&fb, &FaceBox::new(0.0, 0.0, 256.0, 256.0), None, &o).unwrap();
        assert!((qs.values.brightness - 120.0).abs() < 0.5, "{qs:?}");
        assert!((qs.values.brightness - qb.values.brightness).abs() < 0.01);
        assert!((qs.values.sharpness - qb.values.sharpness).abs() < 1e-2 * qs.values.sharpness);
        assert!(qs.values.sharpness > 1000.0, "{qs:?}");
        // Flat grey: no detail at all.
        let flat = vec![128u8; 128 * 128];
        let ff = Frame::packed(PixelFormat::Gray, &flat, 128, 128, 128).unwrap();
        let q = measure(&ff, &FaceBox::new(0.0, 0.0, 128.0, 128.0), None, &o).unwrap();
        assert_eq!(q.values.sharpness, 0.0);
        assert!(q.flags.contains(QualityFlags::BLURRED));
        // Rotation and mirroring do not change the values of a symmetric measure.
        let r = measure(
            &fs.with_rotation(Rotation::R90).with_mirrored(true),
            &FaceBox::new(0.0, 0.0, 128.0, 128.0),
            None,
            &o,
        )
        .unwrap();
        assert!((r.values.sharpness - qs.values.sharpness).abs() < 1e-2 * qs.values.sharpness);
    }

    #[test]
    fn outside_share_of_the_box() {
        let b = FaceBox::new(-50.0, 0.0, 100.0, 100.0);
        assert!((outside_fraction(&b, 640, 480) - 0.5).abs() < 1e-6);
        let b = FaceBox::new(600.0, 440.0, 80.0, 80.0);
        assert!((outside_fraction(&b, 640, 480) - (1.0 - 40.0 * 40.0 / 6400.0)).abs() < 1e-6);
        assert_eq!(
            outside_fraction(&FaceBox::new(1.0, 1.0, 5.0, 5.0), 640, 480),
            0.0
        );
    }
}

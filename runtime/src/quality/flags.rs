//! The quality flags and the per-face flags of measured values.

use super::{QualityOptions, QualityValues};

/// Quality flags, a bit set (the same bits in C, Java and Swift).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct QualityFlags(u32);

impl QualityFlags {
    pub const NONE: QualityFlags = QualityFlags(0);
    /// Frame level: the detector found no face.
    pub const NO_FACE: QualityFlags = QualityFlags(1 << 0);
    /// Frame level (and set on every face): more than one face.
    pub const SEVERAL_FACES: QualityFlags = QualityFlags(1 << 1);
    pub const TOO_SMALL: QualityFlags = QualityFlags(1 << 2);
    pub const PARTLY_OUTSIDE: QualityFlags = QualityFlags(1 << 3);
    pub const TOO_DARK: QualityFlags = QualityFlags(1 << 4);
    pub const TOO_BRIGHT: QualityFlags = QualityFlags(1 << 5);
    pub const BLURRED: QualityFlags = QualityFlags(1 << 6);
    pub const HEAD_ROLL: QualityFlags = QualityFlags(1 << 7);
    pub const HEAD_YAW: QualityFlags = QualityFlags(1 << 8);

    /// Every flag with its stable name (JSON, logs, bindings).
    pub const ALL: [(QualityFlags, &'static str); 9] = [
        (QualityFlags::NO_FACE, "no_face"),
        (QualityFlags::SEVERAL_FACES, "several_faces"),
        (QualityFlags::TOO_SMALL, "too_small"),
        (QualityFlags::PARTLY_OUTSIDE, "partly_outside"),
        (QualityFlags::TOO_DARK, "too_dark"),
        (QualityFlags::TOO_BRIGHT, "too_bright"),
        (QualityFlags::BLURRED, "blurred"),
        (QualityFlags::HEAD_ROLL, "head_roll"),
        (QualityFlags::HEAD_YAW, "head_yaw"),
    ];

    /// The bits, as C, Java and Swift carry them.
    pub const fn bits(self) -> u32 {
        self.0
    }

    pub fn contains(self, other: QualityFlags) -> bool {
        self.0 & other.0 == other.0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The names of the set flags, in [`QualityFlags::ALL`]'s order.
    pub fn names(self) -> Vec<&'static str> {
        QualityFlags::ALL
            .iter()
            .filter(|(f, _)| self.contains(*f))
            .map(|(_, n)| *n)
            .collect()
    }
}

impl std::ops::BitOr for QualityFlags {
    type Output = QualityFlags;
    fn bitor(self, rhs: QualityFlags) -> QualityFlags {
        QualityFlags(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for QualityFlags {
    fn bitor_assign(&mut self, rhs: QualityFlags) {
        self.0 |= rhs.0;
    }
}

/// `v < min`, and true for NaN: a value that could not be measured trips its flag.
fn under(v: f32, min: f32) -> bool {
    v.is_nan() || v < min
}

/// `v > max`, and true for NaN.
fn over(v: f32, max: f32) -> bool {
    v.is_nan() || v > max
}

/// The per-face flags of measured values (roll and yaw only with keypoints). A NaN value
/// trips its flag (`v.is_nan() || v < min`): a value that could not be measured never passes.
pub(super) fn flags(v: &QualityValues, has_keypoints: bool, o: &QualityOptions) -> QualityFlags {
    let mut f = QualityFlags::NONE;
    let mut set = |cond: bool, flag| {
        if cond {
            f |= flag;
        }
    };
    set(under(v.face_px, o.min_face_px), QualityFlags::TOO_SMALL);
    set(
        over(v.outside_fraction, o.max_outside_fraction),
        QualityFlags::PARTLY_OUTSIDE,
    );
    set(
        under(v.brightness, o.min_brightness),
        QualityFlags::TOO_DARK,
    );
    set(
        over(v.brightness, o.max_brightness)
            || over(v.overexposed_fraction, o.max_overexposed_fraction),
        QualityFlags::TOO_BRIGHT,
    );
    set(under(v.sharpness, o.min_sharpness), QualityFlags::BLURRED);
    set(
        has_keypoints && over(v.roll_deg.abs(), o.max_roll_deg),
        QualityFlags::HEAD_ROLL,
    );
    set(
        has_keypoints && over(v.yaw_deg.abs(), o.max_yaw_deg),
        QualityFlags::HEAD_YAW,
    );
    f
}

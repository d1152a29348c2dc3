//! Frame and face quality: measured values, limits, and the flags that make a decision
//! "unsure" instead of live/attack.
//!
//! SKELETON (session 5 integration base): types and defaults are the contract; the `pipeline`
//! branch measures them.

/// Quality flags, a bit set (the same bits in C, Java and Swift).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Hash)]
pub struct QualityFlags(pub u32);

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

/// Limits of the quality checks; each documented default is what a selfie/kiosk camera at
/// arm's length passes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QualityOptions {
    /// Smallest face (longer box side, upright pixels) that is not TOO_SMALL.
    pub min_face_px: f32,
    /// Largest share of the face box outside the frame that is not PARTLY_OUTSIDE.
    pub max_outside_fraction: f32,
    /// Mean luma (0-255) of the face below which it is TOO_DARK.
    pub min_brightness: f32,
    /// Mean luma above which it is TOO_BRIGHT.
    pub max_brightness: f32,
    /// Share of saturated (>= 250) face pixels above which it is TOO_BRIGHT.
    pub max_overexposed_fraction: f32,
    /// Variance of the Laplacian of the face crop below which it is BLURRED.
    pub min_sharpness: f32,
    /// Largest in-plane head roll, degrees.
    pub max_roll_deg: f32,
    /// Largest head yaw (from the keypoints), degrees.
    pub max_yaw_deg: f32,
    /// Whether more than one face makes every face "unsure" (SEVERAL_FACES).
    pub allow_several_faces: bool,
}

/// The measured values for one face (NaN never appears: a value that cannot be measured, such
/// as yaw for a caller's box without keypoints, is 0 and its check is skipped).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct QualityValues {
    pub face_px: f32,
    pub outside_fraction: f32,
    pub brightness: f32,
    pub overexposed_fraction: f32,
    pub sharpness: f32,
    pub roll_deg: f32,
    pub yaw_deg: f32,
}

#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Quality {
    pub values: QualityValues,
    pub flags: QualityFlags,
}

impl Default for QualityOptions {
    fn default() -> Self {
        // Placeholder values (skeleton); the `pipeline` branch measures and documents them.
        QualityOptions {
            min_face_px: 80.0,
            max_outside_fraction: 0.1,
            min_brightness: 40.0,
            max_brightness: 220.0,
            max_overexposed_fraction: 0.25,
            min_sharpness: 20.0,
            max_roll_deg: 25.0,
            max_yaw_deg: 30.0,
            allow_several_faces: false,
        }
    }
}

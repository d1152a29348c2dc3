package ai.moae;

import androidx.annotation.NonNull;

/**
 * The limits of the quality checks that make a face {@link Decision#UNSURE}; immutable, made by
 * {@link #builder()}. Every limit not set keeps the runtime's documented default (the same
 * defaults as C's {@code moae_options_init} and Swift); a set limit must be finite and
 * {@code >= 0} (else the builder throws {@link IllegalArgumentException}).
 */
public final class QualityLimits {
    private static final String[] NAMES = {"minFacePx", "maxOutsideFraction", "minBrightness",
        "maxBrightness", "maxOverexposedFraction", "minSharpness", "maxRollDeg", "maxYawDeg"};

    /** -1 = the runtime's default (the layout of android/jni/src/lib.rs QUALITY_FLOATS). */
    private final float[] v;
    final boolean allowSeveralFaces;

    private QualityLimits(float[] v, boolean allowSeveralFaces) {
        this.v = v.clone();
        this.allowSeveralFaces = allowSeveralFaces;
    }

    /** Every limit at the runtime's default. */
    @NonNull
    public static QualityLimits defaults() {
        return new Builder().build();
    }

    @NonNull
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding these limits. */
    @NonNull
    public Builder toBuilder() {
        Builder b = new Builder();
        System.arraycopy(v, 0, b.v, 0, v.length);
        b.allowSeveralFaces = allowSeveralFaces;
        return b;
    }

    /** Whether several faces are acceptable (else every face gets SEVERAL_FACES). */
    public boolean allowSeveralFaces() {
        return allowSeveralFaces;
    }

    float[] pack() {
        return v.clone();
    }

    @Override
    @NonNull
    public String toString() {
        StringBuilder sb = new StringBuilder("QualityLimits[");
        for (int i = 0; i < v.length; i++) {
            sb.append(NAMES[i]).append('=').append(v[i] < 0 ? "default" : Float.toString(v[i]))
                    .append(", ");
        }
        return sb.append("allowSeveralFaces=").append(allowSeveralFaces).append(']').toString();
    }

    /** Builds {@link QualityLimits}; every setter returns {@code this}. */
    public static final class Builder {
        final float[] v = {-1f, -1f, -1f, -1f, -1f, -1f, -1f, -1f};
        boolean allowSeveralFaces = false;

        Builder() {}

        private Builder set(int i, float value) {
            Checks.argument(value >= 0f && !Float.isInfinite(value),
                    "quality limit " + NAMES[i] + " is " + value + ": use a finite value >= 0");
            v[i] = value;
            return this;
        }

        /**
         * Smallest face (longer box side, upright pixels) that is not TOO_SMALL; at least 16
         * (the runtime's minimum face size; a lower value is refused with
         * {@code INVALID_ARGUMENT} when the detector is created).
         */
        @NonNull
        public Builder minFacePx(float px) {
            return set(0, px);
        }

        /** Largest share of the face box outside the frame that is not PARTLY_OUTSIDE. */
        @NonNull
        public Builder maxOutsideFraction(float fraction) {
            return set(1, fraction);
        }

        /** Mean face luma (0-255) below which it is TOO_DARK. */
        @NonNull
        public Builder minBrightness(float luma) {
            return set(2, luma);
        }

        /** Mean face luma above which it is TOO_BRIGHT. */
        @NonNull
        public Builder maxBrightness(float luma) {
            return set(3, luma);
        }

        /** Share of saturated face pixels above which it is TOO_BRIGHT. */
        @NonNull
        public Builder maxOverexposedFraction(float fraction) {
            return set(4, fraction);
        }

        /** Variance of the Laplacian of the face crop below which it is BLURRED. */
        @NonNull
        public Builder minSharpness(float variance) {
            return set(5, variance);
        }

        /** Largest in-plane head roll, degrees. */
        @NonNull
        public Builder maxRollDeg(float degrees) {
            return set(6, degrees);
        }

        /** Largest head yaw (from the detector's keypoints), degrees. */
        @NonNull
        public Builder maxYawDeg(float degrees) {
            return set(7, degrees);
        }

        /** Whether several faces are acceptable (else every face gets SEVERAL_FACES). */
        @NonNull
        public Builder allowSeveralFaces(boolean allow) {
            this.allowSeveralFaces = allow;
            return this;
        }

        @NonNull
        public QualityLimits build() {
            return new QualityLimits(v, allowSeveralFaces);
        }
    }
}

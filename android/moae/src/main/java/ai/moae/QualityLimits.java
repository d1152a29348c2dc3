package ai.moae;

/**
 * The limits of the quality checks that make a face {@link Decision#UNSURE}. Every limit not
 * set here keeps the runtime's documented default (the same defaults as C's
 * {@code moae_options_init} and Swift); a set limit must be finite and {@code >= 0}.
 */
public final class QualityLimits {
    /** -1 = the runtime's default (the layout of android/jni/src/lib.rs QUALITY_FLOATS). */
    private final float[] v = {-1f, -1f, -1f, -1f, -1f, -1f, -1f, -1f};
    boolean allowSeveralFaces = false;
    /** The first bad value set, reported as INVALID_ARGUMENT when a detector is created. */
    private String error = null;

    private QualityLimits set(int i, String name, float value) {
        if (!(value >= 0f) || Float.isInfinite(value)) {
            if (error == null) {
                error = "quality limit " + name + " is " + value + ": use a finite value >= 0";
            }
        } else {
            v[i] = value;
        }
        return this;
    }

    void check() throws MoaeException {
        if (error != null) {
            throw new MoaeException(MoaeException.Status.INVALID_ARGUMENT, error);
        }
    }

    /**
     * Smallest face (longer box side, upright pixels) that is not TOO_SMALL; at least 16 (the
     * runtime's minimum face size; a lower value is refused with INVALID_ARGUMENT when the
     * detector is created).
     */
    public QualityLimits minFacePx(float px) {
        return set(0, "minFacePx", px);
    }

    /** Largest share of the face box outside the frame that is not PARTLY_OUTSIDE. */
    public QualityLimits maxOutsideFraction(float fraction) {
        return set(1, "maxOutsideFraction", fraction);
    }

    /** Mean face luma (0-255) below which it is TOO_DARK. */
    public QualityLimits minBrightness(float luma) {
        return set(2, "minBrightness", luma);
    }

    /** Mean face luma above which it is TOO_BRIGHT. */
    public QualityLimits maxBrightness(float luma) {
        return set(3, "maxBrightness", luma);
    }

    /** Share of saturated face pixels above which it is TOO_BRIGHT. */
    public QualityLimits maxOverexposedFraction(float fraction) {
        return set(4, "maxOverexposedFraction", fraction);
    }

    /** Variance of the Laplacian of the face crop below which it is BLURRED. */
    public QualityLimits minSharpness(float variance) {
        return set(5, "minSharpness", variance);
    }

    /** Largest in-plane head roll, degrees. */
    public QualityLimits maxRollDeg(float degrees) {
        return set(6, "maxRollDeg", degrees);
    }

    /** Largest head yaw (from the detector's keypoints), degrees. */
    public QualityLimits maxYawDeg(float degrees) {
        return set(7, "maxYawDeg", degrees);
    }

    /** Whether several faces are acceptable (else every face gets SEVERAL_FACES). */
    public QualityLimits allowSeveralFaces(boolean allow) {
        this.allowSeveralFaces = allow;
        return this;
    }

    float[] pack() {
        return v.clone();
    }
}

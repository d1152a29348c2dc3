package ai.moae;

import java.util.Set;

/** Everything about one face of a {@link FrameAnalysis}; all coordinates in upright pixels. */
public final class FaceResult {
    /** Where the box came from (C: {@code moae_face_source}). */
    public enum Source {
        /**
         * The face detector (then {@link #keypoints} is set and {@link #hasDetectorScore()} is
         * true).
         */
        DETECTOR(0),
        /** A box the caller passed. */
        CALLER(1),
        /** {@link Options#wholeFrame}: the frame is the face (pre-cropped images). */
        WHOLE_FRAME(2);

        public final int code;

        Source(int code) {
            this.code = code;
        }

        static Source fromCode(int code) {
            for (Source s : values()) {
                if (s.code == code) {
                    return s;
                }
            }
            throw new MoaeException(MoaeException.Status.INVALID_ARGUMENT,
                    "face source code " + code + " is unknown to this Java API");
        }
    }

    /** The measured quality values behind {@link #qualityFlags}. */
    public static final class QualityValues {
        /** Longer side of the face box, upright pixels. */
        public final float facePx;
        /** Share of the face box outside the frame. */
        public final float outsideFraction;
        /** Mean luma (0-255) of the face. */
        public final float brightness;
        /** Share of saturated face pixels. */
        public final float overexposedFraction;
        /** Variance of the Laplacian of the face crop. */
        public final float sharpness;
        /** In-plane head roll, degrees (0 without keypoints). */
        public final float rollDeg;
        /** Head yaw, degrees (0 without keypoints). */
        public final float yawDeg;

        QualityValues(float[] v, int at) {
            facePx = v[at];
            outsideFraction = v[at + 1];
            brightness = v[at + 2];
            overexposedFraction = v[at + 3];
            sharpness = v[at + 4];
            rollDeg = v[at + 5];
            yawDeg = v[at + 6];
        }

        @Override
        public String toString() {
            return "QualityValues[facePx=" + facePx + ", outside=" + outsideFraction
                    + ", brightness=" + brightness + ", overexposed=" + overexposedFraction
                    + ", sharpness=" + sharpness + ", roll=" + rollDeg + ", yaw=" + yawDeg
                    + "]";
        }
    }

    public final Source source;
    /** The face box in upright, un-mirrored frame pixels. */
    public final FaceBox box;
    /**
     * MediaPipe's 6 keypoints as x0, y0, ... x5, y5 (right eye, left eye, nose tip, mouth,
     * right ear tragion, left ear tragion; "right" = the subject's), upright pixels; null
     * unless {@link #source} is {@code DETECTOR}.
     */
    public final float[] keypoints;
    /** The liveness scores (computed even when the decision is UNSURE). */
    public final DetectionResult detection;
    public final Decision decision;
    public final Set<QualityFlag> qualityFlags;
    public final QualityValues quality;

    /** C's "no detector score" ({@code moae_face.detector_score}), kept private. */
    private static final float NO_DETECTOR_SCORE = -1f;

    /** The detector's score, or {@link #NO_DETECTOR_SCORE}. */
    private final float detectorScore;

    /** Class order of {@link #attackTypeProbabilities()} (spec §6's fine-grained labels). */
    public static final String[] ATTACK_TYPES = DetectionResult.ATTACK_TYPES;

    /**
     * Reads one face record of {@code pack::face} (android/jni/src/pack.rs): C
     * {@code moae_face}'s fields in its order, then isAttack, provider, hasAttackType and the
     * four attack-type probabilities.
     */
    private FaceResult(float[] v, int at) {
        box = new FaceBox(v[at], v[at + 1], v[at + 2], v[at + 3]);
        if (v[at + 16] != 0f) {
            keypoints = new float[12];
            System.arraycopy(v, at + 4, keypoints, 0, 12);
        } else {
            keypoints = null;
        }
        source = Source.fromCode((int) v[at + 17]);
        float score = v[at + 18];
        // Fail closed on anything but C's two cases: -1 (none) or a score in [0, 1].
        if (!(score == NO_DETECTOR_SCORE || (score >= 0f && score <= 1f))) {
            throw new MoaeException(MoaeException.Status.INVALID_ARGUMENT,
                    "libmoae_jni returned detector score " + score
                            + " (expected -1 for none, or [0, 1]): ship the Java classes and "
                            + "libmoae_jni.so from one build");
        }
        detectorScore = score;
        // DetectionResult's layout: attack, live, isAttack, threshold, provider, latencyMs,
        // hasAttackType and the four attack-type probabilities.
        detection = DetectionResult.fromNative(new float[] {v[at + 19], v[at + 20],
            v[at + 32], v[at + 21], v[at + 33], v[at + 31], v[at + 34], v[at + 35],
            v[at + 36], v[at + 37], v[at + 38]});
        decision = Decision.fromCode((int) v[at + 22]);
        qualityFlags = QualityFlag.fromBits((int) v[at + 23]);
        quality = new QualityValues(v, at + 24);
    }

    /**
     * Whether the model has an attack-type head (live, physical, adversarial, digital); false
     * for a model without one: there are then no probabilities, not zeros. Same as {@code
     * detection.hasAttackType()}.
     */
    public boolean hasAttackType() {
        return detection.hasAttackType();
    }

    /**
     * The attack-type probabilities in {@link #ATTACK_TYPES} order, summing to 1 (a copy);
     * same as {@code detection.attackTypeProbabilities()}.
     *
     * @throws IllegalStateException when {@link #hasAttackType()} is false (the model has no
     *     attack-type head).
     */
    public float[] attackTypeProbabilities() {
        return detection.attackTypeProbabilities();
    }

    /**
     * Whether the face detector scored this face: true for {@link Source#DETECTOR}, false for a
     * caller's box or the whole frame (C: {@code moae_face.detector_score} is -1 then).
     */
    public boolean hasDetectorScore() {
        return detectorScore != NO_DETECTOR_SCORE;
    }

    /**
     * The detector's confidence in [0, 1].
     *
     * @throws IllegalStateException when {@link #hasDetectorScore()} is false (the face did not
     *     come from the detector); there is no stand-in value to mistake for a score.
     */
    public float detectorScore() {
        if (!hasDetectorScore()) {
            throw new IllegalStateException("this face's box came from " + source
                    + ", not the face detector: it has no detector score (check "
                    + "hasDetectorScore() first)");
        }
        return detectorScore;
    }

    static FaceResult fromNative(float[] v, int at) {
        return new FaceResult(v, at);
    }

    @Override
    public String toString() {
        return "FaceResult[" + decision + ", " + source + ", " + box + ", attack="
                + detection.attackScore + ", flags=" + qualityFlags + "]";
    }
}

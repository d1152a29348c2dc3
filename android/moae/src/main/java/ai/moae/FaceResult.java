package ai.moae;

import java.util.Set;

/** Everything about one face of a {@link FrameAnalysis}; all coordinates in upright pixels. */
public final class FaceResult {
    /** Where the box came from (C: {@code moae_face_source}). */
    public enum Source {
        /** The face detector (then {@link #keypoints} and {@link #detectorScore} are set). */
        DETECTOR(0),
        /** A box the caller passed. */
        CALLER(1),
        /** {@link Options#wholeFrame}: the frame is the face (pre-cropped images). */
        WHOLE_FRAME(2);

        public final int code;

        Source(int code) {
            this.code = code;
        }

        static Source fromCode(int code) throws MoaeException {
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
    /** The detector's confidence in [0, 1]; null unless {@link #source} is DETECTOR. */
    public final Float detectorScore;
    /** The liveness scores (computed even when the decision is UNSURE). */
    public final DetectionResult detection;
    public final Decision decision;
    public final Set<QualityFlag> qualityFlags;
    public final QualityValues quality;

    private FaceResult(float[] v, int at) throws MoaeException {
        source = Source.fromCode((int) v[at]);
        box = new FaceBox(v[at + 1], v[at + 2], v[at + 3], v[at + 4]);
        if (v[at + 5] != 0f) {
            keypoints = new float[12];
            System.arraycopy(v, at + 6, keypoints, 0, 12);
        } else {
            keypoints = null;
        }
        detectorScore = Float.isNaN(v[at + 18]) ? null : v[at + 18];
        float[] d = new float[6];
        System.arraycopy(v, at + 19, d, 0, 6);
        detection = DetectionResult.fromNative(d);
        decision = Decision.fromCode((int) v[at + 25]);
        qualityFlags = QualityFlag.fromBits((int) v[at + 26]);
        quality = new QualityValues(v, at + 27);
    }

    static FaceResult fromNative(float[] v, int at) throws MoaeException {
        return new FaceResult(v, at);
    }

    @Override
    public String toString() {
        return "FaceResult[" + decision + ", " + source + ", " + box + ", attack="
                + detection.attackScore + ", flags=" + qualityFlags + "]";
    }
}

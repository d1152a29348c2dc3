package ai.moae;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;

/**
 * What {@link MoaeDetector#analyze} found in one frame: every face with its decision, and the
 * frame-level flags. No face is not an error: {@link #faces} is empty and {@link #flags}
 * holds {@link QualityFlag#NO_FACE}; there is no score then, and no decision.
 */
public final class FrameAnalysis {
    /** Faces in the detector's order (best first) or the caller's box order. */
    public final List<FaceResult> faces;
    /** Frame-level flags: NO_FACE, SEVERAL_FACES. */
    public final Set<QualityFlag> flags;

    private FrameAnalysis(List<FaceResult> faces, Set<QualityFlag> flags) {
        this.faces = faces;
        this.flags = flags;
    }

    /**
     * The face layout this class reads: {@code pack::ANALYSIS_LAYOUT}
     * (android/jni/src/pack.rs).
     */
    static final int LAYOUT = 3;

    /** Floats per face ({@code pack::FACE_LEN}) and before the faces. */
    static final int FACE_LEN = 39;

    static final int HEADER = 3;

    /** Reads the layout of {@code pack::analysis} (android/jni/src/pack.rs). */
    static FrameAnalysis fromNative(float[] v) {
        if (v == null || v.length < HEADER || v[0] != LAYOUT) {
            throw new MoaeException(MoaeException.Status.INVALID_ARGUMENT,
                    "libmoae_jni returned an analysis layout this Java API does not know "
                            + "(layout " + (v == null || v.length == 0 ? "?" : v[0])
                            + ", expected " + LAYOUT + "): ship the Java classes and "
                            + "libmoae_jni.so from one build");
        }
        int count = (int) v[2];
        if (v.length != HEADER + count * FACE_LEN) {
            throw new MoaeException(MoaeException.Status.INVALID_ARGUMENT,
                    "analysis of " + count + " faces has " + v.length + " floats");
        }
        List<FaceResult> faces = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            faces.add(FaceResult.fromNative(v, HEADER + i * FACE_LEN));
        }
        return new FrameAnalysis(Collections.unmodifiableList(faces),
                QualityFlag.fromBits((int) v[1]));
    }

    /** True when at least one face was found (or given). */
    public boolean hasFace() {
        return !faces.isEmpty();
    }

    @Override
    public String toString() {
        return "FrameAnalysis[faces=" + faces + ", flags=" + flags + "]";
    }
}

package ai.moae;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/** Detector options; every setter returns {@code this}. Defaults: CPU, ORT's thread count. */
public final class Options {
    List<Provider> providers = Collections.singletonList(Provider.CPU);
    boolean requireProvider = false;
    int threads = 0;
    int maxSessions = 0;
    String ortLibraryPath = null;
    byte[] modelSha256 = null;
    // "Not set" values as in the C ABI: NaN is rejected (INVALID_ARGUMENT), never "unset".
    float threshold = -1f;
    float cropScale = 0f;
    String faceDetectorPath = null;
    byte[] faceDetectorBytes = null;
    float detectorMinScore = -1f;
    boolean wholeFrame = false;
    QualityLimits quality = new QualityLimits();

    /**
     * Execution providers in preference order. Without {@link #requireProvider}, unavailable
     * ones are skipped down to CPU (see {@link DetectorInfo#fallbackReason}).
     */
    public Options providers(Provider... preferred) {
        if (preferred == null || preferred.length == 0) {
            this.providers = Collections.singletonList(Provider.CPU);
        } else {
            this.providers = new ArrayList<>(Arrays.asList(preferred));
        }
        return this;
    }

    /** Fail at creation if the first provider cannot be used (instead of falling back). */
    public Options requireProvider(boolean require) {
        this.requireProvider = require;
        return this;
    }

    /** ONNX Runtime intra-op threads; 0 = its default (one per core). */
    public Options threads(int threads) {
        this.threads = threads;
        return this;
    }

    /** Sessions kept for concurrent {@code detect} calls; 0 = the runtime's default. */
    public Options maxSessions(int maxSessions) {
        this.maxSessions = maxSessions;
        return this;
    }

    /**
     * Path (or bare soname) of libonnxruntime. Null: ORT_DYLIB_PATH, then beside the native
     * library, then the system loader, which on Android finds the {@code libonnxruntime.so}
     * already loaded from the APK by {@link MoaeDetector}'s static initialiser.
     */
    public Options ortLibraryPath(String path) {
        this.ortLibraryPath = path;
        return this;
    }

    /** Pin the model file: a different SHA-256 fails with {@code MODEL_HASH}. 32 bytes. */
    public Options modelSha256(byte[] sha256) {
        this.modelSha256 = sha256 == null ? null : sha256.clone();
        return this;
    }

    /**
     * Decision threshold on the attack score in [0, 1], overriding the model's; negative = the
     * model's. NaN, infinities and values above 1 fail with {@code INVALID_ARGUMENT}.
     */
    public Options threshold(float threshold) {
        this.threshold = threshold;
        return this;
    }

    /**
     * Face box enlargement around its centre before cropping; {@code <= 0} = the runtime's
     * default. NaN and infinities fail with {@code INVALID_ARGUMENT}.
     */
    public Options cropScale(float cropScale) {
        this.cropScale = cropScale;
        return this;
    }

    /**
     * The face detector: a BlazeFace ONNX file ({@code face_detection_front_128x128.onnx} for
     * selfie/kiosk distance, {@code face_detection_back_256x256.onnx} for faces farther away).
     * Needed by {@link MoaeDetector#analyze(MoaeFrame, BoxInput...)} without boxes.
     */
    public Options faceDetectorPath(String path) {
        this.faceDetectorPath = path;
        this.faceDetectorBytes = null;
        return this;
    }

    /** The face detector from memory (e.g. an asset read by the app). */
    public Options faceDetectorBytes(byte[] model) {
        this.faceDetectorBytes = model;
        this.faceDetectorPath = null;
        return this;
    }

    /** Detector confidence below which a face is dropped; negative = the default (0.5). */
    public Options detectorMinScore(float minScore) {
        this.detectorMinScore = minScore;
        return this;
    }

    /**
     * The whole image is the face (pre-cropped images, e.g. data sets): a call without a box
     * scores the centre square. Default false: without a box the face detector decides, and a
     * frame without a face is "no face", never a score of the centre. A {@code detect*} call
     * without a box needs this (else {@code INVALID_ARGUMENT}).
     */
    public Options wholeFrame(boolean wholeFrame) {
        this.wholeFrame = wholeFrame;
        return this;
    }

    /** The quality limits ({@code null} = all defaults). */
    public Options quality(QualityLimits limits) {
        this.quality = limits == null ? new QualityLimits() : limits;
        return this;
    }

    String providerList() {
        StringBuilder sb = new StringBuilder();
        for (Provider p : providers) {
            if (p == null) {
                continue;
            }
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(p.nativeName);
        }
        return sb.toString();
    }
}

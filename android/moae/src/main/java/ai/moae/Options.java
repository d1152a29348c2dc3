package ai.moae;

import androidx.annotation.NonNull;
import androidx.annotation.Nullable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Detector options, immutable: made by {@link #builder()} (or {@link #defaults()}), changed
 * through {@link #toBuilder()}. Defaults: CPU, ONNX Runtime's thread count, the model's
 * threshold, no face detector, the runtime's quality limits.
 *
 * <pre>{@code
 * Options o = Options.builder().faceDetectorPath(detectorFile).threads(2).build();
 * }</pre>
 *
 * <p>Values that are wrong whatever the model (a negative thread count, a NaN threshold, a
 * SHA-256 that is not 32 bytes) throw {@link IllegalArgumentException} from the builder; limits
 * only the native library knows (the most threads, the smallest face size) are checked when a
 * detector is created ({@link MoaeException} {@code INVALID_ARGUMENT}).
 */
public final class Options {
    final List<Provider> providers;
    final boolean requireProvider;
    final int threads;
    final int maxSessions;
    final String ortLibraryPath;
    final byte[] modelSha256;
    // "Not set" values as in the C ABI.
    final float threshold;
    final float cropScale;
    final String faceDetectorPath;
    final byte[] faceDetectorBytes;
    final float detectorMinScore;
    final boolean wholeFrame;
    final QualityLimits quality;

    private Options(Builder b) {
        this.providers = Collections.unmodifiableList(new ArrayList<>(b.providers));
        this.requireProvider = b.requireProvider;
        this.threads = b.threads;
        this.maxSessions = b.maxSessions;
        this.ortLibraryPath = b.ortLibraryPath;
        this.modelSha256 = b.modelSha256 == null ? null : b.modelSha256.clone();
        this.threshold = b.threshold;
        this.cropScale = b.cropScale;
        this.faceDetectorPath = b.faceDetectorPath;
        this.faceDetectorBytes = b.faceDetectorBytes == null ? null : b.faceDetectorBytes.clone();
        this.detectorMinScore = b.detectorMinScore;
        this.wholeFrame = b.wholeFrame;
        this.quality = b.quality;
    }

    /** A builder with every default. */
    @NonNull
    public static Builder builder() {
        return new Builder();
    }

    /** All defaults (CPU, no face detector). */
    @NonNull
    public static Options defaults() {
        return new Builder().build();
    }

    /** A builder holding these options, to derive changed ones. */
    @NonNull
    public Builder toBuilder() {
        Builder b = new Builder();
        b.providers = new ArrayList<>(providers);
        b.requireProvider = requireProvider;
        b.threads = threads;
        b.maxSessions = maxSessions;
        b.ortLibraryPath = ortLibraryPath;
        b.modelSha256 = modelSha256;
        b.threshold = threshold;
        b.cropScale = cropScale;
        b.faceDetectorPath = faceDetectorPath;
        b.faceDetectorBytes = faceDetectorBytes;
        b.detectorMinScore = detectorMinScore;
        b.wholeFrame = wholeFrame;
        b.quality = quality;
        return b;
    }

    @NonNull
    public List<Provider> providers() {
        return providers;
    }

    public boolean requireProvider() {
        return requireProvider;
    }

    public int threads() {
        return threads;
    }

    public int maxSessions() {
        return maxSessions;
    }

    @Nullable
    public String ortLibraryPath() {
        return ortLibraryPath;
    }

    /** A copy of the pinned SHA-256, or null. */
    @Nullable
    public byte[] modelSha256() {
        return modelSha256 == null ? null : modelSha256.clone();
    }

    public float threshold() {
        return threshold;
    }

    public float cropScale() {
        return cropScale;
    }

    @Nullable
    public String faceDetectorPath() {
        return faceDetectorPath;
    }

    /** Whether the face detector was given as bytes ({@link Builder#faceDetectorBytes}). */
    public boolean hasFaceDetectorBytes() {
        return faceDetectorBytes != null;
    }

    public float detectorMinScore() {
        return detectorMinScore;
    }

    public boolean wholeFrame() {
        return wholeFrame;
    }

    @NonNull
    public QualityLimits quality() {
        return quality;
    }

    String providerList() {
        StringBuilder sb = new StringBuilder();
        for (Provider p : providers) {
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(p.nativeName);
        }
        return sb.toString();
    }

    /** Builds {@link Options}; every setter returns {@code this}. Not thread-safe. */
    public static final class Builder {
        List<Provider> providers = Collections.singletonList(Provider.CPU);
        boolean requireProvider = false;
        int threads = 0;
        int maxSessions = 0;
        String ortLibraryPath = null;
        byte[] modelSha256 = null;
        float threshold = -1f;
        float cropScale = 0f;
        String faceDetectorPath = null;
        byte[] faceDetectorBytes = null;
        float detectorMinScore = -1f;
        boolean wholeFrame = false;
        QualityLimits quality = QualityLimits.defaults();

        Builder() {}

        /**
         * Execution providers in preference order (none = CPU only). Without
         * {@link #requireProvider}, unavailable ones are skipped down to CPU (see
         * {@link DetectorInfo#fallbackReason}).
         */
        @NonNull
        public Builder providers(@NonNull Provider... preferred) {
            Checks.nonNull(preferred, "providers");
            for (int i = 0; i < preferred.length; i++) {
                Checks.nonNull(preferred[i], "provider " + i);
            }
            this.providers = preferred.length == 0 ? Collections.singletonList(Provider.CPU)
                    : new ArrayList<>(Arrays.asList(preferred));
            return this;
        }

        /** Fail at creation if the first provider cannot be used (instead of falling back). */
        @NonNull
        public Builder requireProvider(boolean require) {
            this.requireProvider = require;
            return this;
        }

        /** ONNX Runtime intra-op threads; 0 = its default (one per core); not negative. */
        @NonNull
        public Builder threads(int threads) {
            Checks.argument(threads >= 0,
                    "threads is " + threads + ": use 0 (ONNX Runtime's default) or more");
            this.threads = threads;
            return this;
        }

        /** Sessions kept for concurrent calls; 0 = the runtime's default; not negative. */
        @NonNull
        public Builder maxSessions(int maxSessions) {
            Checks.argument(maxSessions >= 0,
                    "maxSessions is " + maxSessions + ": use 0 (the default) or more");
            this.maxSessions = maxSessions;
            return this;
        }

        /**
         * Path (or bare soname) of libonnxruntime. Null: ORT_DYLIB_PATH, then beside the
         * native library, then the system loader, which on Android finds the
         * {@code libonnxruntime.so} already loaded from the APK.
         */
        @NonNull
        public Builder ortLibraryPath(@Nullable String path) {
            this.ortLibraryPath = path;
            return this;
        }

        /** Pin the model file: a different SHA-256 fails with {@code MODEL_HASH}. */
        @NonNull
        public Builder modelSha256(@Nullable byte[] sha256) {
            Checks.argument(sha256 == null || sha256.length == 32,
                    "modelSha256 has " + (sha256 == null ? 0 : sha256.length)
                            + " bytes: a SHA-256 is 32 bytes");
            this.modelSha256 = sha256 == null ? null : sha256.clone();
            return this;
        }

        /**
         * Decision threshold on the attack score in [0, 1], overriding the model's; negative
         * = the model's. NaN, infinities and values above 1 are refused.
         */
        @NonNull
        public Builder threshold(float threshold) {
            Checks.argument(!Float.isNaN(threshold) && threshold <= 1f
                            && !Float.isInfinite(threshold),
                    "threshold is " + threshold + ": use a value in [0, 1], or -1 for the "
                            + "model's");
            this.threshold = threshold;
            return this;
        }

        /**
         * Face box enlargement around its centre before cropping; {@code <= 0} = the
         * runtime's default. NaN and infinities are refused.
         */
        @NonNull
        public Builder cropScale(float cropScale) {
            Checks.argument(!Float.isNaN(cropScale) && !Float.isInfinite(cropScale),
                    "cropScale is " + cropScale + ": use a finite value (0 = the default)");
            this.cropScale = cropScale;
            return this;
        }

        /**
         * The face detector: a BlazeFace ONNX file ({@code face_detection_front_128x128.onnx}
         * for selfie/kiosk distance, {@code face_detection_back_256x256.onnx} for faces farther
         * away). Needed by {@link MoaeDetector#analyze(MoaeFrame, BoxInput...)} without boxes.
         */
        @NonNull
        public Builder faceDetectorPath(@Nullable String path) {
            this.faceDetectorPath = path;
            this.faceDetectorBytes = null;
            return this;
        }

        /** The face detector from memory (a few hundred KB; copied). */
        @NonNull
        public Builder faceDetectorBytes(@Nullable byte[] model) {
            this.faceDetectorBytes = model == null ? null : model.clone();
            this.faceDetectorPath = null;
            return this;
        }

        /**
         * Detector confidence below which a face is dropped; negative = the default (0.5).
         * NaN, infinities and values above 1 are refused.
         */
        @NonNull
        public Builder detectorMinScore(float minScore) {
            Checks.argument(!Float.isNaN(minScore) && minScore <= 1f
                            && !Float.isInfinite(minScore),
                    "detectorMinScore is " + minScore + ": use a value in [0, 1], or -1 for "
                            + "the default");
            this.detectorMinScore = minScore;
            return this;
        }

        /**
         * The whole image is the face (pre-cropped images, e.g. data sets): a call without a
         * box scores the centre square. Default false: without a box the face detector
         * decides, and a frame without a face is "no face", never a score of the centre. A
         * {@code detect*} call without a box needs this (else {@code INVALID_ARGUMENT}).
         */
        @NonNull
        public Builder wholeFrame(boolean wholeFrame) {
            this.wholeFrame = wholeFrame;
            return this;
        }

        /** The quality limits ({@code null} = all defaults). */
        @NonNull
        public Builder quality(@Nullable QualityLimits limits) {
            this.quality = limits == null ? QualityLimits.defaults() : limits;
            return this;
        }

        /** The options; this builder may be changed and built again afterwards. */
        @NonNull
        public Options build() {
            return new Options(this);
        }
    }
}

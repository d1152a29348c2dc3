package ai.moae;

import androidx.annotation.NonNull;

/**
 * A failure the native library reports: a frame or box it rejects, an unreadable or foreign
 * model, a missing ONNX Runtime, an inference error. {@link #status()} is the same number the
 * C ABI ({@code moae_status} in {@code moae.h}) and the iOS wrapper report for that failure.
 * Use after {@link MoaeDetector#close()} raises it too, with status {@link Status#CLOSED}.
 *
 * <p>Unchecked (as MediaPipe Tasks' and ML Kit's errors), so that it can leave a CameraX
 * {@code Analyzer.analyze} or a Kotlin lambda; catch it where a frame may fail. Programmer
 * errors found in Java before any native call are the standard unchecked exceptions instead:
 * a null argument is a {@link NullPointerException}, an option or builder value out of range an
 * {@link IllegalArgumentException}.
 */
public class MoaeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * The C ABI's {@code moae_status} values (all but OK), the same numbers as
     * {@code moae_runtime::abi::Status}; {@code android/jni/tests/status_enums.rs} checks them.
     */
    public enum Status {
        NULL_ARGUMENT(1),
        INVALID_ARGUMENT(2),
        STRUCT_SIZE(3),
        ABI_VERSION(4),
        ORT_LIBRARY(5),
        PROVIDER_UNAVAILABLE(6),
        MODEL(7),
        MODEL_HASH(8),
        IO(9),
        INVALID_FRAME(10),
        INVALID_FACE_BOX(11),
        /** Inference failed, or the model gave a non-finite score: no decision was made. */
        INFERENCE(12),
        BUFFER_TOO_SMALL(13),
        UNKNOWN_FORMAT(14),
        PANIC(15),
        IMAGE_DECODE(16),
        /**
         * The detector was closed: the call did nothing. Not a C status (C frees the handle);
         * the same as Swift's {@code MoaeError.Status.closed}. A frame still queued on an
         * executor after {@link MoaeDetector#close()} gets this, never a crash.
         */
        CLOSED(-2),
        /** A code this version of the Java API does not know (a newer native library). */
        UNKNOWN(-1);

        public final int code;

        Status(int code) {
            this.code = code;
        }

        public static Status fromCode(int code) {
            for (Status s : values()) {
                if (s.code == code) {
                    return s;
                }
            }
            return UNKNOWN;
        }
    }

    private final int code;

    /** Called by the native library (signature {@code (ILjava/lang/String;)V}: keep it). */
    public MoaeException(int code, @NonNull String message) {
        super(message);
        this.code = code;
    }

    public MoaeException(@NonNull Status status, @NonNull String message) {
        this(status.code, message);
    }

    @NonNull
    public Status status() {
        return Status.fromCode(code);
    }

    /** The raw status code, also for codes newer than this class. */
    public int code() {
        return code;
    }

    @Override
    @NonNull
    public String toString() {
        return "MoaeException[" + status() + " (" + code + ")]: " + getMessage();
    }
}

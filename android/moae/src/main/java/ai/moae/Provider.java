package ai.moae;

/**
 * ONNX Runtime execution providers known to libmoae. On Android only {@link #CPU} is built into
 * the official onnxruntime-android package; the others exist for parity with the C ABI.
 */
public enum Provider {
    CPU("cpu"),
    CUDA("cuda"),
    TENSORRT("tensorrt"),
    COREML("coreml");

    final String nativeName;

    Provider(String nativeName) {
        this.nativeName = nativeName;
    }

    /** The ordinal the native side reports (C ABI {@code moae_provider}). */
    static Provider fromCode(int code) {
        Provider[] all = values();
        return code >= 0 && code < all.length ? all[code] : CPU;
    }
}

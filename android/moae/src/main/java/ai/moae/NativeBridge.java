package ai.moae;

import java.nio.ByteBuffer;

/**
 * The native methods (android/jni/src/lib.rs). Package-private: {@link MoaeDetector} is the API.
 * Argument conventions: null planes/strings are allowed where the Rust side says so; float
 * options use -1 (threshold, detector score, quality limits) and 0 (crop scale) for "not set",
 * as the C ABI; results come back as flat {@code float[]}s (android/jni/src/pack.rs).
 */
final class NativeBridge {
    private NativeBridge() {}

    private static volatile Throwable loadError;

    static {
        // ONNX Runtime first: the runtime then finds it by soname instead of searching the disk
        // (the Android linker resolves dlopen("libonnxruntime.so") to the loaded copy). On a
        // host JVM it usually is not on java.library.path; the runtime's own search covers it.
        try {
            System.loadLibrary("onnxruntime");
        } catch (UnsatisfiedLinkError | SecurityException ignored) {
            // optional: see Options.ortLibraryPath
        }
        try {
            System.loadLibrary("moae_jni");
        } catch (UnsatisfiedLinkError | SecurityException e) {
            loadError = e;
        }
    }

    /**
     * Throws a clear exception if libmoae_jni could not be loaded: status ORT_LIBRARY, the
     * "a native library could not be loaded" status (not INVALID_ARGUMENT: the caller's
     * arguments are fine, the app's packaging is not).
     */
    static void ensureLoaded() {
        Throwable e = loadError;
        if (e != null) {
            throw new MoaeException(MoaeException.Status.ORT_LIBRARY,
                    "the native library libmoae_jni could not be loaded (" + e.getMessage()
                            + "): the AAR must contain jni/<abi>/libmoae_jni.so for this "
                            + "device's ABI (android/build-native.sh), or java.library.path "
                            + "must name its folder on a host JVM");
        }
    }

    static native long createFromFile(String path, String providers, boolean requireProvider,
            int threads, int maxSessions, String ortLibraryPath, byte[] modelSha256,
            float threshold, float cropScale, String detectorPath, byte[] detectorBytes,
            float detectorMinScore, boolean wholeFrame, float[] quality,
            boolean allowSeveralFaces);

    static native long createFromBytes(byte[] model, String providers, boolean requireProvider,
            int threads, int maxSessions, String ortLibraryPath, byte[] modelSha256,
            float threshold, float cropScale, String detectorPath, byte[] detectorBytes,
            float detectorMinScore, boolean wholeFrame, float[] quality,
            boolean allowSeveralFaces);

    /** model: a direct buffer whose bytes from 0 to its limit are the model. */
    static native long createFromBuffer(ByteBuffer model, String providers,
            boolean requireProvider, int threads, int maxSessions, String ortLibraryPath,
            byte[] modelSha256, float threshold, float cropScale, String detectorPath,
            byte[] detectorBytes, float detectorMinScore, boolean wholeFrame, float[] quality,
            boolean allowSeveralFaces);

    static native void destroy(long handle);

    /** Engines created and not yet destroyed in this process. */
    static native long liveEngines();

    static native String info(long handle);

    static native String version();

    /** frame: {@link MoaeFrame#nativeInts()}; face: null or [x, y, w, h] upright pixels. */
    static native float[] detectArrays(long handle, int[] frame, byte[] p0, byte[] p1,
            byte[] p2, float[] face);

    /** All non-null buffers must be direct and sliced at their position. */
    static native float[] detectBuffers(long handle, int[] frame, ByteBuffer p0, ByteBuffer p1,
            ByteBuffer p2, float[] face);

    /** boxes: {@link BoxInput#pack}; result: {@link FrameAnalysis#fromNative}. */
    static native float[] analyzeArrays(long handle, int[] frame, byte[] p0, byte[] p1,
            byte[] p2, float[] boxes);

    static native float[] analyzeBuffers(long handle, int[] frame, ByteBuffer p0,
            ByteBuffer p1, ByteBuffer p2, float[] boxes);
}

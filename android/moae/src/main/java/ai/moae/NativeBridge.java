package ai.moae;

import java.nio.ByteBuffer;

/**
 * The native methods (android/jni/src/lib.rs). Package-private: {@link MoaeDetector} is the API.
 * Argument conventions: null planes/strings are allowed where the Rust side says so; float
 * options use -1 (threshold) and 0 (crop scale) for "not set", as the C ABI; results come back as {@code float[6]}.
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

    /** Throws a clear exception if libmoae_jni could not be loaded. */
    static void ensureLoaded() throws MoaeException {
        Throwable e = loadError;
        if (e != null) {
            throw new MoaeException(MoaeException.Status.INVALID_ARGUMENT,
                    "libmoae_jni could not be loaded (" + e.getMessage() + "): the AAR must "
                            + "contain jniLibs/<abi>/libmoae_jni.so (android/build-native.sh), "
                            + "or java.library.path must name its folder on a host JVM");
        }
    }

    static native long createFromFile(String path, String providers, boolean requireProvider,
            int threads, int maxSessions, String ortLibraryPath, byte[] modelSha256,
            float threshold, float cropScale);

    static native long createFromBytes(byte[] model, String providers, boolean requireProvider,
            int threads, int maxSessions, String ortLibraryPath, byte[] modelSha256,
            float threshold, float cropScale);

    static native void destroy(long handle);

    static native String info(long handle);

    static native String version();

    static native float[] detectArrays(long handle, int format, int width, int height,
            int rotation, byte[] p0, int s0, byte[] p1, int s1, byte[] p2, int s2,
            int pixelStride, float[] face);

    /** All non-null buffers must be direct and sliced at their position. */
    static native float[] detectBuffers(long handle, int format, int width, int height,
            int rotation, ByteBuffer p0, int s0, ByteBuffer p1, int s1, ByteBuffer p2, int s2,
            int pixelStride, float[] face);
}

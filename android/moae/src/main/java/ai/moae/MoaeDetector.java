package ai.moae;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Face anti-spoofing detector over libmoae: frames in, live/attack decisions out.
 *
 * <p>Thread-safe: any number of threads may call {@code detect*} on one detector at once (the
 * native engine keeps a pool of ONNX Runtime sessions). {@link #close()} waits for running
 * detections (read-write lock: detect = read, close = write), is idempotent, and afterwards
 * every call raises {@link IllegalStateException}.
 *
 * <p>Frames: rotation is the clockwise rotation that makes the frame upright (CameraX
 * {@code ImageInfo.getRotationDegrees()}); a {@link FaceBox} is in upright coordinates; no box
 * means the centre square of the whole frame. Direct {@link ByteBuffer}s are read in place; heap
 * buffers are copied once. Android helpers (Bitmap, ImageProxy, assets):
 * {@code ai.moae.android.MoaeAndroid}.
 */
public final class MoaeDetector implements AutoCloseable {
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private long handle; // guarded by lock; 0 once closed

    private MoaeDetector(long handle) {
        this.handle = handle;
    }

    /** Loads an ONNX model exported by {@code trainer export}. */
    public static MoaeDetector fromFile(String path, Options options) throws MoaeException {
        NativeBridge.ensureLoaded();
        requireNonNull(path, "model path");
        Options o = options == null ? new Options() : options;
        return new MoaeDetector(NativeBridge.createFromFile(path, o.providerList(),
                o.requireProvider, o.threads, o.maxSessions, o.ortLibraryPath, o.modelSha256,
                o.threshold, o.cropScale));
    }

    /** Loads a model from memory (e.g. downloaded or decrypted by the app). */
    public static MoaeDetector fromBytes(byte[] model, Options options) throws MoaeException {
        NativeBridge.ensureLoaded();
        requireNonNull(model, "model bytes");
        Options o = options == null ? new Options() : options;
        return new MoaeDetector(NativeBridge.createFromBytes(model, o.providerList(),
                o.requireProvider, o.threads, o.maxSessions, o.ortLibraryPath, o.modelSha256,
                o.threshold, o.cropScale));
    }

    /** Reads the stream to its end (not closed here) and loads it, e.g. an asset stream. */
    public static MoaeDetector fromStream(InputStream model, Options options)
            throws MoaeException {
        requireNonNull(model, "model stream");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] chunk = new byte[1 << 16];
        try {
            for (int n; (n = model.read(chunk)) > 0; ) {
                out.write(chunk, 0, n);
            }
        } catch (IOException e) {
            throw new MoaeException(MoaeException.Status.IO,
                    "reading the model stream failed: " + e.getMessage());
        }
        return fromBytes(out.toByteArray(), options);
    }

    /** Version of the native runtime, e.g. "0.1.0". */
    public static String nativeVersion() throws MoaeException {
        NativeBridge.ensureLoaded();
        return NativeBridge.version();
    }

    public DetectorInfo info() throws MoaeException {
        lock.readLock().lock();
        try {
            return DetectorInfo.parse(NativeBridge.info(liveHandle()));
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Camera1 / {@code YuvImage} NV21 buffer: Y plane then interleaved VU, packed rows. */
    public DetectionResult detectNv21(byte[] nv21, int width, int height, int rotationDegrees,
            FaceBox face) throws MoaeException {
        return detect(nv21, PixelFormat.NV21, width, height, 0, rotationDegrees, face);
    }

    /**
     * One contiguous frame in a byte array: a packed format, or NV21/NV12/I420 with the chroma
     * plane(s) right after the Y plane. {@code rowStride} in bytes, 0 = packed rows.
     */
    public DetectionResult detect(byte[] frame, PixelFormat format, int width, int height,
            int rowStride, int rotationDegrees, FaceBox face) throws MoaeException {
        requireNonNull(frame, "frame");
        requireNonNull(format, "format");
        if (format == PixelFormat.YUV_420_888) {
            throw new MoaeException(MoaeException.Status.INVALID_ARGUMENT,
                    "YUV_420_888 has three planes: use detectYuv420888");
        }
        return run(format, width, height, rotationDegrees, face,
                new Object[] {frame, null, null}, new int[] {rowStride, 0, 0}, 0);
    }

    /** Like {@link #detect(byte[], PixelFormat, int, int, int, int, FaceBox)} on a buffer's
     *  remaining bytes; direct buffers are read without a copy. */
    public DetectionResult detect(ByteBuffer frame, PixelFormat format, int width, int height,
            int rowStride, int rotationDegrees, FaceBox face) throws MoaeException {
        requireNonNull(frame, "frame");
        requireNonNull(format, "format");
        if (format == PixelFormat.YUV_420_888) {
            throw new MoaeException(MoaeException.Status.INVALID_ARGUMENT,
                    "YUV_420_888 has three planes: use detectYuv420888");
        }
        return run(format, width, height, rotationDegrees, face,
                new Object[] {frame, null, null}, new int[] {rowStride, 0, 0}, 0);
    }

    /**
     * RGBA pixels as {@code Bitmap.copyPixelsToBuffer} writes them for an ARGB_8888 bitmap
     * (rows of width * 4 bytes). Use {@code ByteBuffer.allocateDirect} to avoid a copy.
     */
    public DetectionResult detectRgba(ByteBuffer rgba, int width, int height,
            int rotationDegrees, FaceBox face) throws MoaeException {
        return detect(rgba, PixelFormat.RGBA, width, height, 0, rotationDegrees, face);
    }

    /**
     * The three planes of a {@code YUV_420_888} image (CameraX {@code ImageProxy.getPlanes()},
     * Camera2 {@code Image.getPlanes()}): buffers, the Y row stride, and the chroma row and
     * pixel strides (U and V share them on Android).
     */
    public DetectionResult detectYuv420888(ByteBuffer y, ByteBuffer u, ByteBuffer v,
            int yRowStride, int uvRowStride, int uvPixelStride, int width, int height,
            int rotationDegrees, FaceBox face) throws MoaeException {
        requireNonNull(y, "y plane");
        requireNonNull(u, "u plane");
        requireNonNull(v, "v plane");
        return run(PixelFormat.YUV_420_888, width, height, rotationDegrees, face,
                new Object[] {y, u, v}, new int[] {yRowStride, uvRowStride, uvRowStride},
                uvPixelStride);
    }

    /** Frees the native engine after running detections finish. Safe to call twice. */
    @Override
    public void close() {
        lock.writeLock().lock();
        try {
            long h = handle;
            handle = 0;
            if (h != 0) {
                NativeBridge.destroy(h);
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    public boolean isClosed() {
        lock.readLock().lock();
        try {
            return handle == 0;
        } finally {
            lock.readLock().unlock();
        }
    }

    // ---- internals ----

    private long liveHandle() {
        if (handle == 0) {
            throw new IllegalStateException("MoaeDetector is closed: create a new detector");
        }
        return handle;
    }

    private static void requireNonNull(Object o, String what) throws MoaeException {
        if (o == null) {
            throw new MoaeException(MoaeException.Status.NULL_ARGUMENT,
                    what + " is null: pass a non-null value");
        }
    }

    /** planes: byte[] or ByteBuffer (or null). All direct buffers: zero-copy native path. */
    private DetectionResult run(PixelFormat format, int width, int height, int rotation,
            FaceBox face, Object[] planes, int[] strides, int pixelStride)
            throws MoaeException {
        float[] box = face == null ? null : face.toArray();
        boolean allDirect = true;
        for (Object p : planes) {
            if (p != null && !(p instanceof ByteBuffer && ((ByteBuffer) p).isDirect())) {
                allDirect = false;
            }
        }
        lock.readLock().lock();
        try {
            long h = liveHandle();
            float[] r;
            if (allDirect) {
                r = NativeBridge.detectBuffers(h, format.code, width, height, rotation,
                        sliced(planes[0]), strides[0], sliced(planes[1]), strides[1],
                        sliced(planes[2]), strides[2], pixelStride, box);
            } else {
                r = NativeBridge.detectArrays(h, format.code, width, height, rotation,
                        bytes(planes[0]), strides[0], bytes(planes[1]), strides[1],
                        bytes(planes[2]), strides[2], pixelStride, box);
            }
            return DetectionResult.fromNative(r);
        } finally {
            lock.readLock().unlock();
        }
    }

    /** The buffer's remaining bytes as a buffer starting at address/index 0 (no copy). */
    private static ByteBuffer sliced(Object plane) {
        if (plane == null) {
            return null;
        }
        ByteBuffer b = (ByteBuffer) plane;
        return b.position() == 0 && b.limit() == b.capacity() ? b : b.slice();
    }

    /** A byte[] with exactly the plane's bytes (one copy for heap buffers not covering it). */
    private static byte[] bytes(Object plane) {
        if (plane == null || plane instanceof byte[]) {
            return (byte[]) plane;
        }
        ByteBuffer b = (ByteBuffer) plane;
        if (b.hasArray() && b.arrayOffset() == 0 && b.position() == 0
                && b.limit() == b.array().length) {
            return b.array();
        }
        byte[] copy = new byte[b.remaining()];
        b.duplicate().get(copy);
        return copy;
    }
}

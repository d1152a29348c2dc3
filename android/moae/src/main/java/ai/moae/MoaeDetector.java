package ai.moae;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Face anti-spoofing detector over libmoae: frames in, decisions with reasons out.
 *
 * <pre>{@code
 * Options o = new Options().faceDetectorPath(detectorFile).threads(2);
 * try (MoaeDetector det = MoaeDetector.fromFile(modelFile, o)) {
 *     FrameAnalysis a = det.analyze(MoaeFrame.builder(PixelFormat.NV21, w, h)
 *             .plane(0, nv21, 0).rotation(270).build());
 *     for (FaceResult f : a.faces) { ... f.decision, f.qualityFlags, f.box ... }
 * }
 * }</pre>
 *
 * <p>Thread-safe: any number of threads may call {@code analyze}/{@code detect*} on one
 * detector at once (the native engine keeps a pool of ONNX Runtime sessions). {@link #close()}
 * waits for the calls already running (read-write lock: call = read, close = write), is
 * idempotent, and afterwards every call throws the checked {@link MoaeException} with status
 * {@link MoaeException.Status#CLOSED} (never an unchecked exception), so frames still queued
 * on an analysis executor when the app closes the detector are refused, not crashed on.
 *
 * <p>Geometry: a frame's rotation is the clockwise rotation that makes it upright (CameraX
 * {@code ImageInfo.getRotationDegrees()}), its {@code mirrored} flag says the buffer is
 * flipped left-right; every box and result is in the upright, un-mirrored frame's pixels.
 * Direct {@link ByteBuffer}s are read in place; heap buffers are copied once. Android helpers:
 * {@code ai.moae.android.MoaeAndroid} (assets, Bitmap, Camera2) and
 * {@code ai.moae.camerax.MoaeCameraX} (CameraX).
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
        o.quality.check();
        return new MoaeDetector(NativeBridge.createFromFile(path, o.providerList(),
                o.requireProvider, o.threads, o.maxSessions, o.ortLibraryPath, o.modelSha256,
                o.threshold, o.cropScale, o.faceDetectorPath, o.faceDetectorBytes,
                o.detectorMinScore, o.wholeFrame, o.quality.pack(),
                o.quality.allowSeveralFaces));
    }

    /** Loads a model from memory (e.g. downloaded or decrypted by the app). */
    public static MoaeDetector fromBytes(byte[] model, Options options) throws MoaeException {
        NativeBridge.ensureLoaded();
        requireNonNull(model, "model bytes");
        Options o = options == null ? new Options() : options;
        o.quality.check();
        return new MoaeDetector(NativeBridge.createFromBytes(model, o.providerList(),
                o.requireProvider, o.threads, o.maxSessions, o.ortLibraryPath, o.modelSha256,
                o.threshold, o.cropScale, o.faceDetectorPath, o.faceDetectorBytes,
                o.detectorMinScore, o.wholeFrame, o.quality.pack(),
                o.quality.allowSeveralFaces));
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

    /** Version of the native runtime, e.g. "0.2.0". */
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

    // ---- frame in, decision out ----

    /**
     * Finds the faces with the face detector ({@link Options#faceDetectorPath}) and decides on
     * each: live, attack, or unsure with the failed quality checks. A frame without a face
     * gives no faces and {@link QualityFlag#NO_FACE}. Without a detector (and without
     * {@link Options#wholeFrame}) this fails with {@code INVALID_ARGUMENT}.
     */
    public FrameAnalysis analyze(MoaeFrame frame) throws MoaeException {
        return analyze(frame, new BoxInput[0]);
    }

    /**
     * Like {@link #analyze(MoaeFrame)} on the caller's face boxes (in order) instead of the
     * detector's; each box says its space (upright/raw) and units (pixels/normalised).
     */
    public FrameAnalysis analyze(MoaeFrame frame, BoxInput... boxes) throws MoaeException {
        requireNonNull(frame, "frame");
        float[] packed = BoxInput.pack(boxes);
        float[] r = call(frame, packed, true);
        return FrameAnalysis.fromNative(r);
    }

    /**
     * Liveness scores of one face given by the caller, in upright pixels; {@code face} null =
     * the whole frame, which needs {@link Options#wholeFrame} (pre-cropped images).
     */
    public DetectionResult detect(MoaeFrame frame, FaceBox face) throws MoaeException {
        requireNonNull(frame, "frame");
        return DetectionResult.fromNative(call(frame, face == null ? null : face.toArray(),
                false));
    }

    // ---- one-call conveniences (all build a MoaeFrame) ----

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
        requireSinglePlane(format);
        return detect(MoaeFrame.builder(format, width, height).plane(0, frame, rowStride)
                .rotation(rotationDegrees).build(), face);
    }

    /** Like {@link #detect(byte[], PixelFormat, int, int, int, int, FaceBox)} on a buffer's
     *  remaining bytes; direct buffers are read without a copy. */
    public DetectionResult detect(ByteBuffer frame, PixelFormat format, int width, int height,
            int rowStride, int rotationDegrees, FaceBox face) throws MoaeException {
        requireNonNull(frame, "frame");
        requireSinglePlane(format);
        return detect(MoaeFrame.builder(format, width, height).plane(0, frame, rowStride)
                .rotation(rotationDegrees).build(), face);
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
     * The three planes of a {@code YUV_420_888} image.
     *
     * @deprecated ten positional arguments, six adjacent ints: use
     *     {@code detect(MoaeFrame.builder(PixelFormat.YUV_420_888, w, h).plane(0, y, yRowStride)
     *     .plane(1, u, uvRowStride).plane(2, v, uvRowStride).pixelStride(uvPixelStride)
     *     .rotation(rotation).build(), face)}, or {@code ai.moae.camerax.MoaeCameraX}. Kept
     *     for source compatibility with 0.1; it builds exactly that frame.
     */
    @Deprecated
    public DetectionResult detectYuv420888(ByteBuffer y, ByteBuffer u, ByteBuffer v,
            int yRowStride, int uvRowStride, int uvPixelStride, int width, int height,
            int rotationDegrees, FaceBox face) throws MoaeException {
        requireNonNull(y, "y plane");
        requireNonNull(u, "u plane");
        requireNonNull(v, "v plane");
        return detect(MoaeFrame.builder(PixelFormat.YUV_420_888, width, height)
                .plane(0, y, yRowStride).plane(1, u, uvRowStride).plane(2, v, uvRowStride)
                .pixelStride(uvPixelStride).rotation(rotationDegrees).build(), face);
    }

    /**
     * Frees the native engine after the calls already running finish (it waits for them).
     * Safe to call twice, and from any thread; calls after it throw {@link MoaeException}
     * with status {@link MoaeException.Status#CLOSED}.
     */
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

    private long liveHandle() throws MoaeException {
        if (handle == 0) {
            throw new MoaeException(MoaeException.Status.CLOSED,
                    "MoaeDetector is closed: this call did nothing (create a new detector)");
        }
        return handle;
    }

    private static void requireNonNull(Object o, String what) throws MoaeException {
        if (o == null) {
            throw new MoaeException(MoaeException.Status.NULL_ARGUMENT,
                    what + " is null: pass a non-null value");
        }
    }

    private static void requireSinglePlane(PixelFormat format) throws MoaeException {
        requireNonNull(format, "format");
        if (format == PixelFormat.YUV_420_888) {
            throw new MoaeException(MoaeException.Status.INVALID_ARGUMENT,
                    "YUV_420_888 has three planes: build a MoaeFrame with planes 0, 1 and 2");
        }
    }

    /** One native call on the frame's planes; all direct buffers: zero-copy native path. */
    private float[] call(MoaeFrame frame, float[] boxes, boolean analyze) throws MoaeException {
        Object[] planes = frame.planes;
        boolean allDirect = true;
        for (Object p : planes) {
            if (p != null && !(p instanceof ByteBuffer && ((ByteBuffer) p).isDirect())) {
                allDirect = false;
            }
        }
        int[] desc = frame.nativeInts();
        lock.readLock().lock();
        try {
            long h = liveHandle();
            if (allDirect) {
                ByteBuffer a = sliced(planes[0]);
                ByteBuffer b = sliced(planes[1]);
                ByteBuffer c = sliced(planes[2]);
                return analyze ? NativeBridge.analyzeBuffers(h, desc, a, b, c, boxes)
                        : NativeBridge.detectBuffers(h, desc, a, b, c, boxes);
            }
            byte[] a = bytes(planes[0]);
            byte[] b = bytes(planes[1]);
            byte[] c = bytes(planes[2]);
            return analyze ? NativeBridge.analyzeArrays(h, desc, a, b, c, boxes)
                    : NativeBridge.detectArrays(h, desc, a, b, c, boxes);
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

package ai.moae;

import androidx.annotation.NonNull;
import androidx.annotation.Nullable;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Face anti-spoofing detector over libmoae: frames in, decisions with reasons out.
 *
 * <pre>{@code
 * Options o = Options.builder().faceDetectorPath(detectorFile).threads(2).build();
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
 * idempotent, and afterwards every call throws {@link MoaeException} with status
 * {@link MoaeException.Status#CLOSED}, so frames still queued on an analysis executor when the
 * app closes the detector are refused, not crashed on. A detector dropped without
 * {@code close()} is freed once the garbage collector finds it unreachable (a cleaner, as
 * {@code java.lang.ref.Cleaner}); call {@code close()} anyway: the engine holds the model's
 * native memory (hundreds of MB) and the collector does not see it.
 *
 * <p>Models are read from a file path or native memory, never whole into the Java heap:
 * {@link #fromFile}, {@link #fromBuffer} (a memory map), {@link #fromStream} (streamed once to a
 * temporary file), {@code MoaeAndroid.fromAsset} (an uncompressed asset mapped through its file
 * descriptor). {@link #fromBytes} is for models the app already holds in a {@code byte[]}.
 *
 * <p>Geometry: a frame's rotation is the clockwise rotation that makes it upright (CameraX
 * {@code ImageInfo.getRotationDegrees()}), its {@code mirrored} flag says the buffer is
 * flipped left-right; every box and result is in the upright, un-mirrored frame's pixels.
 * Direct {@link ByteBuffer}s are read in place; heap buffers are copied once. Android helpers:
 * {@code ai.moae.android.MoaeAndroid} (assets, Bitmap, Camera2) and
 * {@code ai.moae.camerax.MoaeCameraX} (CameraX).
 */
public final class MoaeDetector implements AutoCloseable {
    /** The native handle and its lock; shared with the cleaner, never references the detector. */
    private static final class Engine implements Runnable {
        final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
        long handle; // guarded by lock; 0 once freed

        Engine(long handle) {
            this.handle = handle;
        }

        /** Frees the engine after the running calls (write lock); idempotent. */
        @Override
        public void run() {
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

        long live() {
            if (handle == 0) {
                throw new MoaeException(MoaeException.Status.CLOSED,
                        "MoaeDetector is closed: this call did nothing (create a new detector)");
            }
            return handle;
        }
    }

    private final Engine engine;
    private final EngineCleaner.Cleanable cleanable;

    private MoaeDetector(long handle) {
        this.engine = new Engine(handle);
        this.cleanable = EngineCleaner.register(this, engine);
    }

    /** Loads an ONNX model exported by {@code trainer export} from a file (read natively). */
    @NonNull
    public static MoaeDetector fromFile(@NonNull String path, @Nullable Options options) {
        Checks.nonNull(path, "model path");
        NativeBridge.ensureLoaded();
        Options o = options == null ? Options.defaults() : options;
        return new MoaeDetector(NativeBridge.createFromFile(path, o.providerList(),
                o.requireProvider, o.threads, o.maxSessions, o.ortLibraryPath, o.modelSha256,
                o.threshold, o.cropScale, o.faceDetectorPath, o.faceDetectorBytes,
                o.detectorMinScore, o.wholeFrame, o.quality.pack(),
                o.quality.allowSeveralFaces));
    }

    /** Loads a model the app already holds in memory (e.g. downloaded or decrypted). */
    @NonNull
    public static MoaeDetector fromBytes(@NonNull byte[] model, @Nullable Options options) {
        Checks.nonNull(model, "model bytes");
        NativeBridge.ensureLoaded();
        Options o = options == null ? Options.defaults() : options;
        return new MoaeDetector(NativeBridge.createFromBytes(model, o.providerList(),
                o.requireProvider, o.threads, o.maxSessions, o.ortLibraryPath, o.modelSha256,
                o.threshold, o.cropScale, o.faceDetectorPath, o.faceDetectorBytes,
                o.detectorMinScore, o.wholeFrame, o.quality.pack(),
                o.quality.allowSeveralFaces));
    }

    /**
     * Loads a model from the remaining bytes of a direct buffer, read in place (not copied
     * into the Java heap): a {@code MappedByteBuffer} of a file or of an uncompressed asset
     * ({@code FileChannel.map}), or native memory. The buffer is read only during this call.
     * A heap buffer is refused ({@link IllegalArgumentException}): use {@link #fromBytes}.
     */
    @NonNull
    public static MoaeDetector fromBuffer(@NonNull ByteBuffer model, @Nullable Options options) {
        Checks.nonNull(model, "model buffer");
        Checks.argument(model.isDirect(), "the model buffer is a heap buffer: pass a direct "
                + "or mapped buffer, or use fromBytes(byte[])");
        NativeBridge.ensureLoaded();
        Options o = options == null ? Options.defaults() : options;
        return new MoaeDetector(NativeBridge.createFromBuffer(model.slice(), o.providerList(),
                o.requireProvider, o.threads, o.maxSessions, o.ortLibraryPath, o.modelSha256,
                o.threshold, o.cropScale, o.faceDetectorPath, o.faceDetectorBytes,
                o.detectorMinScore, o.wholeFrame, o.quality.pack(),
                o.quality.allowSeveralFaces));
    }

    /**
     * Streams the model (to its end; not closed here) into a temporary file in
     * {@code java.io.tmpdir} (an app's cache directory on Android), loads it from there and
     * deletes the file: the model never sits whole in the Java heap.
     */
    @NonNull
    public static MoaeDetector fromStream(@NonNull InputStream model,
            @Nullable Options options) {
        return fromStream(model, new File(System.getProperty("java.io.tmpdir")), options);
    }

    /** Like {@link #fromStream(InputStream, Options)}, the temporary file in {@code dir}. */
    @NonNull
    public static MoaeDetector fromStream(@NonNull InputStream model, @NonNull File dir,
            @Nullable Options options) {
        Checks.nonNull(model, "model stream");
        Checks.nonNull(dir, "directory");
        Path tmp = null;
        try {
            tmp = Files.createTempFile(dir.toPath(), "moae-model-", ".onnx");
            Files.copy(model, tmp, StandardCopyOption.REPLACE_EXISTING);
            return fromFile(tmp.toString(), options);
        } catch (IOException e) {
            throw new MoaeException(MoaeException.Status.IO,
                    "streaming the model to a temporary file in " + dir + " failed: "
                            + e.getMessage() + " (is there space, and is the directory "
                            + "writable?)");
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // The engine is loaded; a leftover temporary file is only disk space.
                }
            }
        }
    }

    /** Version of the native runtime, e.g. "0.2.0". */
    @NonNull
    public static String nativeVersion() {
        NativeBridge.ensureLoaded();
        return NativeBridge.version();
    }

    /**
     * Native engines alive in this process (created and not yet freed by {@code close()} or
     * the cleaner): a diagnostic for leaks.
     */
    public static long nativeEngineCount() {
        NativeBridge.ensureLoaded();
        return NativeBridge.liveEngines();
    }

    @NonNull
    public DetectorInfo info() {
        engine.lock.readLock().lock();
        try {
            return DetectorInfo.parse(NativeBridge.info(engine.live()));
        } finally {
            engine.lock.readLock().unlock();
        }
    }

    // ---- frame in, decision out ----

    /**
     * Finds the faces with the face detector ({@link Options#faceDetectorPath}) and decides on
     * each: live, attack, or unsure with the failed quality checks. A frame without a face
     * gives no faces and {@link QualityFlag#NO_FACE}. Without a detector (and without
     * {@link Options#wholeFrame}) this fails with {@code INVALID_ARGUMENT}.
     */
    @NonNull
    public FrameAnalysis analyze(@NonNull MoaeFrame frame) {
        return analyze(frame, new BoxInput[0]);
    }

    /**
     * Like {@link #analyze(MoaeFrame)} on the caller's face boxes (in order) instead of the
     * detector's; each box says its space (upright/raw) and units (pixels/normalised).
     */
    @NonNull
    public FrameAnalysis analyze(@NonNull MoaeFrame frame, @Nullable BoxInput... boxes) {
        Checks.nonNull(frame, "frame");
        float[] packed = BoxInput.pack(boxes);
        float[] r = call(frame, packed, true);
        return FrameAnalysis.fromNative(r);
    }

    /**
     * Liveness scores of one face given by the caller, in upright pixels; {@code face} null =
     * the whole frame, which needs {@link Options#wholeFrame} (pre-cropped images).
     */
    @NonNull
    public DetectionResult detect(@NonNull MoaeFrame frame, @Nullable FaceBox face) {
        Checks.nonNull(frame, "frame");
        return DetectionResult.fromNative(call(frame, face == null ? null : face.toArray(),
                false));
    }

    // ---- one-call conveniences (all build a MoaeFrame) ----

    /** Camera1 / {@code YuvImage} NV21 buffer: Y plane then interleaved VU, packed rows. */
    @NonNull
    public DetectionResult detectNv21(@NonNull byte[] nv21, int width, int height,
            int rotationDegrees, @Nullable FaceBox face) {
        return detect(nv21, PixelFormat.NV21, width, height, 0, rotationDegrees, face);
    }

    /**
     * One contiguous frame in a byte array: a packed format, or NV21/NV12/I420 with the chroma
     * plane(s) right after the Y plane. {@code rowStride} in bytes, 0 = packed rows.
     */
    @NonNull
    public DetectionResult detect(@NonNull byte[] frame, @NonNull PixelFormat format,
            int width, int height, int rowStride, int rotationDegrees,
            @Nullable FaceBox face) {
        Checks.nonNull(frame, "frame");
        requireSinglePlane(format);
        return detect(MoaeFrame.builder(format, width, height).plane(0, frame, rowStride)
                .rotation(rotationDegrees).build(), face);
    }

    /** Like {@link #detect(byte[], PixelFormat, int, int, int, int, FaceBox)} on a buffer's
     *  remaining bytes; direct buffers are read without a copy. */
    @NonNull
    public DetectionResult detect(@NonNull ByteBuffer frame, @NonNull PixelFormat format,
            int width, int height, int rowStride, int rotationDegrees,
            @Nullable FaceBox face) {
        Checks.nonNull(frame, "frame");
        requireSinglePlane(format);
        return detect(MoaeFrame.builder(format, width, height).plane(0, frame, rowStride)
                .rotation(rotationDegrees).build(), face);
    }

    /**
     * RGBA pixels as {@code Bitmap.copyPixelsToBuffer} writes them for an ARGB_8888 bitmap
     * (rows of width * 4 bytes). Use {@code ByteBuffer.allocateDirect} to avoid a copy.
     */
    @NonNull
    public DetectionResult detectRgba(@NonNull ByteBuffer rgba, int width, int height,
            int rotationDegrees, @Nullable FaceBox face) {
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
            int rotationDegrees, FaceBox face) {
        Checks.nonNull(y, "y plane");
        Checks.nonNull(u, "u plane");
        Checks.nonNull(v, "v plane");
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
        cleanable.clean();
    }

    public boolean isClosed() {
        engine.lock.readLock().lock();
        try {
            return engine.handle == 0;
        } finally {
            engine.lock.readLock().unlock();
        }
    }

    // ---- internals ----

    private static void requireSinglePlane(PixelFormat format) {
        Checks.nonNull(format, "format");
        Checks.argument(format != PixelFormat.YUV_420_888,
                "YUV_420_888 has three planes: build a MoaeFrame with planes 0, 1 and 2");
    }

    /** One native call on the frame's planes; all direct buffers: zero-copy native path. */
    private float[] call(MoaeFrame frame, float[] boxes, boolean analyze) {
        Object[] planes = frame.planes;
        boolean allDirect = true;
        for (Object p : planes) {
            if (p != null && !(p instanceof ByteBuffer && ((ByteBuffer) p).isDirect())) {
                allDirect = false;
            }
        }
        int[] desc = frame.nativeInts();
        Engine e = engine;
        e.lock.readLock().lock();
        try {
            long h = e.live();
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
            e.lock.readLock().unlock();
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

package ai.moae.hosttest;

import ai.moae.BoxInput;
import ai.moae.Decision;
import ai.moae.DetectionResult;
import ai.moae.DetectorInfo;
import ai.moae.FaceBox;
import ai.moae.FaceResult;
import ai.moae.FrameAnalysis;
import ai.moae.MoaeDetector;
import ai.moae.MoaeException;
import ai.moae.MoaeFrame;
import ai.moae.Options;
import ai.moae.PixelFormat;
import ai.moae.Provider;
import ai.moae.QualityFlag;
import ai.moae.QualityLimits;
import ai.moae.android.MoaeAndroid;
import ai.moae.camerax.MoaeCameraX;
import android.content.res.AssetManager;
import android.graphics.Bitmap;
import android.graphics.RectF;
import android.media.Image;
import androidx.camera.core.ImageInfo;
import androidx.camera.core.ImageProxy;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Host-JVM tests of the Java API over libmoae_jni (driven by android/jni/tests/jvm_host.rs,
 * which writes the cases file: frames, and the scores moae-runtime computed on them).
 * Plain main + checks, no JUnit: prints "ok NAME" / "FAIL NAME: why" and exits 1 on failure.
 */
public final class HostTestRunner {
    /** Same engine code on the same bytes: only float noise between sessions is tolerated. */
    private static final float TOL = 1e-5f;

    private static int passed = 0;
    private static final List<String> failures = new ArrayList<>();

    interface Check {
        void run() throws Exception;
    }

    interface Call {
        void run() throws Exception;
    }

    static final class Case {
        String name;
        String kind;
        int width;
        int height;
        int rotation;
        boolean mirrored;
        boolean limited;
        boolean bt709;
        FaceBox box;
        int stride0;
        int stride1;
        float attack;
        float live;
        boolean isAttack;
        float threshold;
        byte[] p0;
        byte[] p1;
    }

    /** An analysis case: a frame case, an engine kind, boxes, and the runtime's answer. */
    static final class AnalyzeCase {
        String name;
        Case frame;
        String engine;
        BoxInput[] boxes;
        /** 0: {@link #expected} holds the runtime's packed analysis; else the status. */
        int status;
        float[] expected;
        String error;
    }

    private static Path dir;
    private static String modelPath;
    private static String ortPath;
    private static String faceDetectorPath;
    private static final List<Case> cases = new ArrayList<>();
    private static final List<AnalyzeCase> analyses = new ArrayList<>();
    private static final List<String[]> sameScene = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].equals("--missing-library")) {
            missingLibrary();
            return;
        }
        if (args.length == 3 && args[0].equals("--large-model")) {
            largeModel(args[1], args[2]);
            return;
        }
        if (args.length != 1) {
            System.err.println("usage: HostTestRunner CASES_FILE | --missing-library");
            System.exit(2);
        }
        readCases(Paths.get(args[0]));
        MoaeDetector det = MoaeDetector.fromFile(modelPath, options());

        test("results match moae-runtime (byte[], heap and direct buffers)", () -> {
            for (Case c : cases) {
                checkCase(det, c);
            }
        });
        test("fromBytes and fromStream give the same scores as fromFile", () -> {
            byte[] model = Files.readAllBytes(Paths.get(modelPath));
            try (MoaeDetector a = MoaeDetector.fromBytes(model, options());
                    MoaeDetector b = MoaeDetector.fromStream(
                            Files.newInputStream(Paths.get(modelPath)), options())) {
                for (Case c : cases) {
                    checkCase(a, c);
                    checkCase(b, c);
                }
            }
        });
        test("info reports the model and provider", () -> {
            DetectorInfo info = det.info();
            expect(info.provider == Provider.CPU, "provider " + info.provider);
            expect(info.inputSize > 0, "input size " + info.inputSize);
            expect(info.threshold == cases.get(0).threshold, "threshold " + info.threshold);
            expect(info.modelSha256.length() == 64, "sha256 '" + info.modelSha256 + "'");
            expect(!MoaeDetector.nativeVersion().isEmpty(), "empty native version");
        });
        badInputs(det);
        badModels();
        test("threshold option overrides the model's", () -> {
            Case c = cases.get(0);
            try (MoaeDetector d = MoaeDetector.fromFile(modelPath, opts().threshold(0f).build())) {
                DetectionResult r = run(d, c, Mode.DIRECT);
                expect(r.threshold == 0f, "threshold " + r.threshold);
                expect(r.isAttack, "score >= 0 must be an attack at threshold 0");
                expectNear(r.attackScore, c.attack, "attack score");
            }
        });
        test("provider fallback: CoreML is not on Linux, CPU runs and says why", () -> {
            try (MoaeDetector d = MoaeDetector.fromFile(modelPath,
                    opts().providers(Provider.COREML, Provider.CPU).build())) {
                DetectorInfo info = d.info();
                expect(info.provider == Provider.CPU, "provider " + info.provider);
                expect(!info.fallbackReason.isEmpty(), "no fallback reason");
                checkCase(d, cases.get(0));
            }
        });
        test("4 threads share one detector", () -> sharedByThreads(det));
        test("close twice is safe; use after close raises MoaeException CLOSED", () -> {
            MoaeDetector d = MoaeDetector.fromFile(modelPath, options());
            checkCase(d, cases.get(0));
            d.close();
            d.close();
            expect(d.isClosed(), "isClosed false after close");
            Case c = cases.get(0);
            expectStatus(() -> run(d, c, Mode.ARRAY), MoaeException.Status.CLOSED);
            expectStatus(() -> run(d, c, Mode.DIRECT), MoaeException.Status.CLOSED);
            expectStatus(() -> d.detect(frameOf(c, Mode.DIRECT), c.box),
                    MoaeException.Status.CLOSED);
            expectStatus(() -> d.analyze(frameOf(c, Mode.HEAP)), MoaeException.Status.CLOSED);
            expectStatus(() -> d.info(), MoaeException.Status.CLOSED);
        });
        test("close racing with 4 detecting threads never crashes", () -> closeRace());
        builderChecks();
        wholeFrameOption();
        analyzeCases();
        optionErrors();
        cameraX(det);
        androidHelpers(det);
        test("CameraX analyzer: frames queued on the executor after close() are dropped",
                () -> analyzerCloseWhileQueued());
        test("a dropped detector is freed by the cleaner (native engine count back)",
                () -> cleanerFreesDroppedDetectors());
        det.close();
        test("every native engine of this run was freed (count 0)", () -> expect(
                waitForEngineCount(0), "engines left: " + MoaeDetector.nativeEngineCount()));

        System.out.println("SUMMARY passed=" + passed + " failed=" + failures.size());
        if (!failures.isEmpty()) {
            for (String f : failures) {
                System.out.println("FAILED: " + f);
            }
            System.exit(1);
        }
    }

    // ---------- native memory ----------

    /** Collects garbage until the native engine count is {@code want} (at most ~20 s). */
    static boolean waitForEngineCount(long want) throws InterruptedException {
        for (int i = 0; i < 200 && MoaeDetector.nativeEngineCount() != want; i++) {
            System.gc();
            Thread.sleep(100);
        }
        return MoaeDetector.nativeEngineCount() == want;
    }

    /** Three detectors created here and dropped without close() (no reference survives). */
    static void createAndDrop() {
        for (int i = 0; i < 3; i++) {
            MoaeDetector d = MoaeDetector.fromFile(modelPath, options());
            expect(!d.isClosed(), "new detector closed");
        }
    }

    static void cleanerFreesDroppedDetectors() throws Exception {
        long before = MoaeDetector.nativeEngineCount();
        createAndDrop();
        expect(MoaeDetector.nativeEngineCount() == before + 3,
                "count " + MoaeDetector.nativeEngineCount() + " after 3 creations from " + before);
        expect(waitForEngineCount(before), "the cleaner did not free the dropped detectors: "
                + MoaeDetector.nativeEngineCount() + " engines, expected " + before);
        // close() then the cleaner: freed once (no double free, the count does not go below).
        MoaeDetector d = MoaeDetector.fromFile(modelPath, options());
        d.close();
        d = null;
        expect(waitForEngineCount(before) && MoaeDetector.nativeEngineCount() == before,
                "count after close + collection " + MoaeDetector.nativeEngineCount());
    }

    /**
     * Run in a JVM whose heap (-Xmx) is smaller than the model: the model loads from its path,
     * from a memory map and from a stream, none of which may hold it in the Java heap.
     */
    static void largeModel(String path, String ort) throws Exception {
        ortPath = ort;
        long size = Files.size(Paths.get(path));
        long heap = Runtime.getRuntime().maxMemory();
        test("the model (" + size + " bytes) is larger than the heap (" + heap + ")",
                () -> expect(size > heap, "not larger: the test would prove nothing"));
        test("a model larger than the heap loads from its path", () -> {
            try (MoaeDetector d = MoaeDetector.fromFile(path, options())) {
                expect(d.info().modelSha256.length() == 64, "info " + d.info());
            }
        });
        test("a model larger than the heap loads from a memory map", () -> {
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(
                    Paths.get(path))) {
                ByteBuffer map = ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 0,
                        size);
                MoaeDetector.fromBuffer(map, options()).close();
            }
        });
        test("a model larger than the heap loads from a stream", () -> {
            try (java.io.InputStream in = Files.newInputStream(Paths.get(path))) {
                MoaeDetector.fromStream(in, options()).close();
            }
        });
        test("reading it into a byte[] does not fit (the heap limit is real)", () ->
                expectThrows(OutOfMemoryError.class, () -> Files.readAllBytes(Paths.get(path))));
        System.out.println("SUMMARY passed=" + passed + " failed=" + failures.size());
        if (!failures.isEmpty()) {
            for (String f : failures) {
                System.out.println("FAILED: " + f);
            }
            System.exit(1);
        }
    }

    // ---------- cases ----------

    /** The test detector: frames without a box are scored whole (pre-cropped images). */
    static Options options() {
        return opts().build();
    }

    /** A builder of {@link #options()}. */
    static Options.Builder opts() {
        return plainOpts().wholeFrame(true);
    }

    static Options plainOptions() {
        return plainOpts().build();
    }

    static Options.Builder plainOpts() {
        return Options.builder().ortLibraryPath(ortPath).threads(1);
    }

    enum Mode { ARRAY, HEAP, DIRECT }

    /** The case's frame through the builder, planes as byte[] / heap / direct buffers. */
    static MoaeFrame frameOf(Case c, Mode mode) throws MoaeException {
        MoaeFrame.Builder b;
        switch (c.kind) {
            case "nv21":
                b = MoaeFrame.builder(PixelFormat.NV21, c.width, c.height);
                b = mode == Mode.ARRAY ? b.plane(0, c.p0, c.stride0)
                        : b.plane(0, buffer(c.p0, mode), c.stride0);
                break;
            case "rgba":
            case "rgb": {
                PixelFormat f = c.kind.equals("rgba") ? PixelFormat.RGBA : PixelFormat.RGB;
                b = MoaeFrame.builder(f, c.width, c.height);
                b = mode == Mode.ARRAY ? b.plane(0, c.p0, c.stride0)
                        : b.plane(0, buffer(c.p0, mode), c.stride0);
                break;
            }
            case "yuv888": {
                Mode m = mode == Mode.ARRAY ? Mode.HEAP : mode;
                ByteBuffer vu = buffer(c.p1, m);
                ByteBuffer v = vu.duplicate();
                v.limit(vu.limit() - 1);
                ByteBuffer u = vu.duplicate();
                u.position(vu.position() + 1);
                b = MoaeFrame.builder(PixelFormat.YUV_420_888, c.width, c.height)
                        .plane(0, buffer(c.p0, m), c.stride0).plane(1, u, c.stride1)
                        .plane(2, v, c.stride1).pixelStride(2);
                break;
            }
            default:
                throw new IllegalArgumentException("unknown case kind " + c.kind);
        }
        return b.rotation(c.rotation).mirrored(c.mirrored)
                .yuvRange(c.limited ? MoaeFrame.YuvRange.LIMITED : MoaeFrame.YuvRange.FULL)
                .yuvMatrix(c.bt709 ? MoaeFrame.YuvMatrix.BT709 : MoaeFrame.YuvMatrix.BT601)
                .build();
    }

    /** The 0.1 one-call methods where they can express the case, else the builder. */
    @SuppressWarnings("deprecation")
    static DetectionResult run(MoaeDetector d, Case c, Mode mode) throws MoaeException {
        if (c.mirrored || c.limited || c.bt709 || c.kind.equals("rgb")) {
            return d.detect(frameOf(c, mode), c.box);
        }
        switch (c.kind) {
            case "nv21":
                if (mode == Mode.ARRAY) {
                    return d.detectNv21(c.p0, c.width, c.height, c.rotation, c.box);
                }
                return d.detect(buffer(c.p0, mode), PixelFormat.NV21, c.width, c.height,
                        c.stride0, c.rotation, c.box);
            case "rgba":
                if (mode == Mode.ARRAY) {
                    return d.detect(c.p0, PixelFormat.RGBA, c.width, c.height, c.stride0,
                            c.rotation, c.box);
                }
                if (c.stride0 == c.width * 4) {
                    return d.detectRgba(buffer(c.p0, mode), c.width, c.height, c.rotation,
                            c.box);
                }
                return d.detect(buffer(c.p0, mode), PixelFormat.RGBA, c.width, c.height,
                        c.stride0, c.rotation, c.box);
            case "yuv888": {
                // Android's layout for pixel stride 2: U and V views into one VU block.
                ByteBuffer vu = buffer(c.p1, mode == Mode.ARRAY ? Mode.HEAP : mode);
                ByteBuffer v = vu.duplicate();
                v.limit(vu.limit() - 1);
                ByteBuffer u = vu.duplicate();
                u.position(vu.position() + 1);
                return d.detectYuv420888(buffer(c.p0, mode == Mode.ARRAY ? Mode.HEAP : mode),
                        u, v, c.stride0, c.stride1, 2, c.width, c.height, c.rotation, c.box);
            }
            default:
                throw new IllegalArgumentException("unknown case kind " + c.kind);
        }
    }

    /** A buffer whose remaining bytes are `data`, at a non-zero position (tests slicing). */
    static ByteBuffer buffer(byte[] data, Mode mode) {
        int pad = 7;
        ByteBuffer b = mode == Mode.DIRECT ? ByteBuffer.allocateDirect(data.length + pad + 3)
                : ByteBuffer.allocate(data.length + pad + 3);
        for (int i = 0; i < pad; i++) {
            b.put((byte) 0x5a);
        }
        b.put(data);
        b.put(new byte[] {1, 2, 3});
        b.position(pad);
        b.limit(pad + data.length);
        return b;
    }

    static void checkCase(MoaeDetector d, Case c) throws Exception {
        for (Mode mode : Mode.values()) {
            checkResult(c, run(d, c, mode), c.name + " via " + mode);
            checkResult(c, d.detect(frameOf(c, mode), c.box),
                    c.name + " via MoaeFrame " + mode);
        }
    }

    static void checkResult(Case c, DetectionResult r, String where) {
        {
            expectNear(r.attackScore, c.attack, where + " attack score");
            expectNear(r.liveScore, c.live, where + " live score");
            expect(r.isAttack == c.isAttack, where + " isAttack " + r.isAttack);
            expect(r.threshold == c.threshold, where + " threshold " + r.threshold);
            expect(r.provider == Provider.CPU, where + " provider " + r.provider);
            expect(r.latencyMs >= 0f, where + " latency " + r.latencyMs);
            // The host test's model has no attack-type head: no probabilities, not zeros.
            expect(!r.hasAttackType(), where + " hasAttackType");
            try {
                float[] p = r.attackTypeProbabilities();
                throw new AssertionError(where + ": attackTypeProbabilities() returned "
                        + Arrays.toString(p) + " for a model without the head");
            } catch (IllegalStateException e) {
                expect(e.getMessage().contains("hasAttackType()"),
                        where + ": message " + e.getMessage());
            }
        }
    }

    // ---------- bad input ----------

    @SuppressWarnings("deprecation")
    static void badInputs(MoaeDetector det) {
        Case nv = firstOf("nv21");
        Case rgba = firstOf("rgba");
        Case yuv = firstOf("yuv888");
        int w = nv.width;
        int h = nv.height;
        byte[] frame = nv.p0;
        FaceBox box = new FaceBox(1, 1, 8, 8);
        Object[][] bad = {
            {"NV21 buffer too short", MoaeException.Status.INVALID_FRAME,
                (Call) () -> det.detectNv21(Arrays.copyOf(frame, frame.length - 1), w, h, 0,
                        null)},
            {"NV21 Y plane missing", MoaeException.Status.INVALID_FRAME,
                (Call) () -> det.detectNv21(new byte[10], w, h, 0, null)},
            {"zero width", MoaeException.Status.INVALID_FRAME,
                (Call) () -> det.detectNv21(frame, 0, h, 0, null)},
            {"negative height", MoaeException.Status.INVALID_FRAME,
                (Call) () -> det.detectNv21(frame, w, -2, 0, null)},
            {"odd NV21 width", MoaeException.Status.INVALID_FRAME,
                (Call) () -> det.detectNv21(frame, w - 1, h, 0, null)},
            {"RGBA stride below width*4", MoaeException.Status.INVALID_FRAME,
                (Call) () -> det.detect(rgba.p0, PixelFormat.RGBA, rgba.width, rgba.height,
                        rgba.width * 4 - 1, 0, null)},
            {"negative row stride", MoaeException.Status.INVALID_FRAME,
                (Call) () -> det.detect(rgba.p0, PixelFormat.RGBA, rgba.width, rgba.height,
                        -4, 0, null)},
            {"RGBA buffer too short (direct)", MoaeException.Status.INVALID_FRAME,
                (Call) () -> det.detectRgba(ByteBuffer.allocateDirect(16), rgba.width,
                        rgba.height, 0, null)},
            {"rotation 45", MoaeException.Status.INVALID_ARGUMENT,
                (Call) () -> det.detectNv21(frame, w, h, 45, null)},
            {"face box outside the frame", MoaeException.Status.INVALID_FACE_BOX,
                (Call) () -> det.detectNv21(frame, w, h, 0,
                        new FaceBox(w + 100, h + 100, 10, 10))},
            {"face box with NaN", MoaeException.Status.INVALID_FACE_BOX,
                (Call) () -> det.detectNv21(frame, w, h, 0,
                        new FaceBox(Float.NaN, 0, 10, 10))},
            {"face box of zero width", MoaeException.Status.INVALID_FACE_BOX,
                (Call) () -> det.detectNv21(frame, w, h, 0, new FaceBox(2, 2, 0, 10))},
            {"YUV_420_888 pixel stride 3", MoaeException.Status.INVALID_FRAME,
                (Call) () -> det.detectYuv420888(ByteBuffer.wrap(yuv.p0),
                        ByteBuffer.wrap(yuv.p1), ByteBuffer.wrap(yuv.p1), yuv.stride0,
                        yuv.stride1, 3, yuv.width, yuv.height, 0, null)},
            {"YUV_420_888 chroma planes too short", MoaeException.Status.INVALID_FRAME,
                (Call) () -> det.detectYuv420888(ByteBuffer.wrap(yuv.p0),
                        ByteBuffer.allocateDirect(4), ByteBuffer.allocateDirect(4),
                        yuv.stride0, yuv.stride1, 2, yuv.width, yuv.height, 0, null)},
        };
        Object[][] programmer = {
            {"null NV21 frame", NullPointerException.class,
                (Call) () -> det.detectNv21(null, w, h, 0, null)},
            {"null direct buffer", NullPointerException.class,
                (Call) () -> det.detectRgba(null, w, h, 0, null)},
            {"null format", NullPointerException.class,
                (Call) () -> det.detect(frame, null, w, h, 0, 0, null)},
            {"null U plane", NullPointerException.class,
                (Call) () -> det.detectYuv420888(ByteBuffer.wrap(yuv.p0), null,
                        ByteBuffer.wrap(yuv.p1), yuv.stride0, yuv.stride1, 2, yuv.width,
                        yuv.height, 0, null)},
            {"YUV_420_888 through the single-buffer call", IllegalArgumentException.class,
                (Call) () -> det.detect(frame, PixelFormat.YUV_420_888, w, h, 0, 0, null)},
        };
        for (Object[] p : programmer) {
            @SuppressWarnings("unchecked")
            Class<? extends Throwable> type = (Class<? extends Throwable>) p[1];
            test("programmer error raises " + type.getSimpleName() + ": " + p[0], () -> {
                expectThrows(type, (Call) p[2]);
                checkCase(det, nv);
            });
        }
        for (Object[] b : bad) {
            String name = (String) b[0];
            test("bad input raises " + b[1] + ": " + name, () -> {
                expectStatus((Call) b[2], (MoaeException.Status) b[1]);
                // The detector is unharmed by the failure.
                checkCase(det, nv);
            });
        }
    }

    static void badModels() {
        Object[][] bad = {
            {"garbage bytes", MoaeException.Status.MODEL,
                (Call) () -> MoaeDetector.fromBytes("not an onnx model".getBytes(), options())},
            {"empty bytes", MoaeException.Status.MODEL,
                (Call) () -> MoaeDetector.fromBytes(new byte[0], options())},
            {"missing file", MoaeException.Status.IO,
                (Call) () -> MoaeDetector.fromFile(dir.resolve("absent.onnx").toString(),
                        options())},
            {"wrong SHA-256 pin", MoaeException.Status.MODEL_HASH,
                (Call) () -> MoaeDetector.fromFile(modelPath,
                        opts().modelSha256(new byte[32]).build())},
            {"required provider unavailable (CoreML on Linux)",
                MoaeException.Status.PROVIDER_UNAVAILABLE,
                (Call) () -> MoaeDetector.fromFile(modelPath,
                        opts().providers(Provider.COREML).requireProvider(true).build())},
        };
        for (Object[] b : bad) {
            test("bad model/options raise " + b[1] + ": " + b[0],
                    () -> expectStatus((Call) b[2], (MoaeException.Status) b[1]));
        }
        test("null model arguments are NullPointerExceptions naming the argument", () -> {
            Call[] nulls = {
                () -> MoaeDetector.fromBytes(null, options()),
                () -> MoaeDetector.fromFile(null, options()),
                () -> MoaeDetector.fromBuffer(null, options()),
                () -> MoaeDetector.fromStream(null, options()),
            };
            for (Call c : nulls) {
                try {
                    c.run();
                    throw new AssertionError("a null model was accepted");
                } catch (NullPointerException e) {
                    expect(e.getMessage() != null && e.getMessage().contains("null"),
                            "message " + e.getMessage());
                }
            }
            expectThrows(IllegalArgumentException.class, () -> MoaeDetector.fromBuffer(
                    ByteBuffer.wrap(Files.readAllBytes(Paths.get(modelPath))), options()));
        });
        test("MoaeException is unchecked and keeps its status", () -> {
            expect(RuntimeException.class.isAssignableFrom(MoaeException.class),
                    "MoaeException is a checked exception");
            RuntimeException r = new MoaeException(MoaeException.Status.MODEL, "m");
            expect(((MoaeException) r).status() == MoaeException.Status.MODEL
                    && ((MoaeException) r).code() == 7, r.toString());
        });
        test("a model loads from a memory map (fromBuffer, at an offset) and from a stream "
                + "(through a temporary file) and scores as from the file", () -> {
                    Case c = caseNamed("nv21_rot90_box");
                    byte[] model = Files.readAllBytes(Paths.get(modelPath));
                    Path padded = dir.resolve("padded-model.bin");
                    byte[] withHeader = new byte[model.length + 123];
                    System.arraycopy(model, 0, withHeader, 123, model.length);
                    Files.write(padded, withHeader);
                    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(
                            padded)) {
                        ByteBuffer map = ch.map(java.nio.channels.FileChannel.MapMode.READ_ONLY,
                                0, withHeader.length);
                        map.position(123);
                        try (MoaeDetector d = MoaeDetector.fromBuffer(map, options())) {
                            checkCase(d, c);
                        }
                    }
                    Path tmp = dir.resolve("stream-tmp");
                    Files.createDirectories(tmp);
                    try (java.io.InputStream in = Files.newInputStream(Paths.get(modelPath));
                            MoaeDetector d = MoaeDetector.fromStream(in, tmp.toFile(),
                                    options())) {
                        checkCase(d, c);
                    }
                    try (java.util.stream.Stream<Path> left = Files.list(tmp)) {
                        expect(left.count() == 0, "the temporary model file was left behind");
                    }
                });
    }

    // ---------- threads ----------

    static void sharedByThreads(MoaeDetector det) throws Exception {
        int threads = 4;
        int rounds = 6;
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> all = new ArrayList<>();
        AtomicInteger done = new AtomicInteger();
        for (int t = 0; t < threads; t++) {
            final int id = t;
            Thread th = new Thread(() -> {
                try {
                    start.await();
                    for (int i = 0; i < rounds; i++) {
                        Case c = cases.get((id + i) % cases.size());
                        DetectionResult r = run(det, c, Mode.values()[i % 3]);
                        if (Math.abs(r.attackScore - c.attack) > TOL) {
                            errors.add("thread " + id + " " + c.name + ": " + r.attackScore
                                    + " != " + c.attack);
                        }
                        done.incrementAndGet();
                    }
                } catch (Throwable e) {
                    errors.add("thread " + id + ": " + e);
                }
            });
            all.add(th);
            th.start();
        }
        start.countDown();
        for (Thread th : all) {
            th.join();
        }
        expect(errors.isEmpty(), String.join("; ", errors));
        expect(done.get() == threads * rounds, "only " + done.get() + " detections ran");
    }

    /**
     * Four threads detect in a loop until the detector is closed under them. Able to fail: the
     * close must overlap running detections (every thread is still in its loop when close() is
     * called, and a detection was in flight at that moment), every thread must then leave through
     * the checked MoaeException CLOSED, and nothing else may be thrown (no unchecked exception).
     */
    static void closeRace() throws Exception {
        MoaeDetector d = MoaeDetector.fromFile(modelPath, options());
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger closed = new AtomicInteger();
        AtomicInteger inFlight = new AtomicInteger();
        CountDownLatch running = new CountDownLatch(4);
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            final int id = t;
            Thread th = new Thread(() -> {
                running.countDown();
                // Bounded so that a close that never takes effect fails instead of hanging.
                for (int i = 0; i < 2_000_000; i++) {
                    inFlight.incrementAndGet();
                    try {
                        run(d, cases.get((id + i) % cases.size()), Mode.DIRECT);
                        ok.incrementAndGet();
                    } catch (MoaeException e) {
                        if (e.status() != MoaeException.Status.CLOSED) {
                            errors.add("thread " + id + ": " + e);
                            return;
                        }
                        closed.incrementAndGet();
                        return; // closed: the expected way out
                    } catch (Throwable e) {
                        errors.add("thread " + id + ": " + e);
                        return;
                    } finally {
                        inFlight.decrementAndGet();
                    }
                }
                errors.add("thread " + id + " never saw the close");
            });
            all.add(th);
            th.start();
        }
        running.await();
        // Wait until detections are really running, then close while one is in flight.
        long deadline = System.nanoTime() + 10_000_000_000L;
        while ((ok.get() < 8 || inFlight.get() == 0) && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        int inFlightAtClose = inFlight.get();
        int okBeforeClose = ok.get();
        d.close();
        for (Thread th : all) {
            th.join();
        }
        expect(errors.isEmpty(), String.join("; ", errors));
        expect(d.isClosed(), "not closed");
        expect(okBeforeClose >= 8, "only " + okBeforeClose + " detections ran before the close");
        expect(inFlightAtClose > 0, "no detection was in flight when close() was called");
        expect(closed.get() == 4, "only " + closed.get() + " of 4 threads saw the close");
        System.out.println("   close race: " + okBeforeClose + " detections before close, "
                + inFlightAtClose + " in flight at close, " + closed.get()
                + " threads saw MoaeException CLOSED");
    }

    // ---------- plumbing ----------

    static Case firstOf(String kind) {
        for (Case c : cases) {
            if (c.kind.equals(kind)) {
                return c;
            }
        }
        throw new IllegalStateException("cases file has no " + kind + " case");
    }

    static void readCases(Path file) throws Exception {
        dir = file.getParent();
        for (String line : Files.readAllLines(file)) {
            String[] f = line.trim().split("\\s+");
            if (f.length == 0 || f[0].isEmpty() || f[0].startsWith("#")) {
                continue;
            }
            switch (f[0]) {
                case "model":
                    modelPath = f[1];
                    break;
                case "ort":
                    ortPath = f[1];
                    break;
                case "face_detector":
                    faceDetectorPath = f[1];
                    break;
                case "same":
                    sameScene.add(new String[] {f[1], f[2]});
                    break;
                case "analyze": {
                    // analyze NAME CASE ENGINE BOXES STATUS
                    AnalyzeCase a = new AnalyzeCase();
                    a.name = f[1];
                    a.frame = caseNamed(f[2]);
                    a.engine = f[3];
                    a.boxes = parseBoxes(f[4]);
                    a.status = Integer.parseInt(f[5]);
                    if (a.status == 0) {
                        List<String> v = Files.readAllLines(dir.resolve(a.name + ".analysis"));
                        a.expected = new float[v.size()];
                        for (int i = 0; i < v.size(); i++) {
                            a.expected[i] = Float.parseFloat(v.get(i).trim());
                        }
                    } else {
                        a.error = new String(Files.readAllBytes(dir.resolve(a.name + ".error")),
                                java.nio.charset.StandardCharsets.UTF_8);
                    }
                    analyses.add(a);
                    break;
                }
                case "case": {
                    // case NAME KIND W H ROT BOX STRIDE0 STRIDE1 MIRRORED LIMITED ATTACK LIVE
                    //   IS_ATTACK THRESHOLD
                    Case c = new Case();
                    c.name = f[1];
                    c.kind = f[2];
                    c.width = Integer.parseInt(f[3]);
                    c.height = Integer.parseInt(f[4]);
                    c.rotation = Integer.parseInt(f[5]);
                    if (!f[6].equals("none")) {
                        String[] b = f[6].split(",");
                        c.box = new FaceBox(Float.parseFloat(b[0]), Float.parseFloat(b[1]),
                                Float.parseFloat(b[2]), Float.parseFloat(b[3]));
                    }
                    c.stride0 = Integer.parseInt(f[7]);
                    c.stride1 = Integer.parseInt(f[8]);
                    c.mirrored = f[9].equals("1");
                    c.limited = f[10].equals("1");
                    c.bt709 = f[11].equals("1");
                    c.attack = Float.parseFloat(f[12]);
                    c.live = Float.parseFloat(f[13]);
                    c.isAttack = f[14].equals("1");
                    c.threshold = Float.parseFloat(f[15]);
                    c.p0 = Files.readAllBytes(dir.resolve(c.name + ".p0"));
                    Path p1 = dir.resolve(c.name + ".p1");
                    c.p1 = Files.exists(p1) ? Files.readAllBytes(p1) : null;
                    cases.add(c);
                    break;
                }
                default:
                    throw new IllegalArgumentException("cases file: unknown line " + line);
            }
        }
        if (modelPath == null || cases.isEmpty()) {
            throw new IllegalArgumentException("cases file names no model or no case");
        }
    }

    static void test(String name, Check check) {
        try {
            check.run();
            passed++;
            System.out.println("ok   " + name);
        } catch (Throwable e) {
            failures.add(name + ": " + e);
            System.out.println("FAIL " + name + ": " + e);
        }
    }

    static void expect(boolean cond, String what) {
        if (!cond) {
            throw new AssertionError(what);
        }
    }

    static void expectNear(float actual, float expected, String what) {
        if (!(Math.abs(actual - expected) <= TOL)) {
            throw new AssertionError(what + ": " + actual + " != expected " + expected);
        }
    }

    /** The call throws {@code type} (with a message), nothing else and not nothing. */
    static void expectThrows(Class<? extends Throwable> type, Call call) throws Exception {
        try {
            call.run();
        } catch (Throwable e) {
            if (!type.isInstance(e)) {
                throw new AssertionError("expected " + type.getSimpleName() + ", got " + e, e);
            }
            return;
        }
        throw new AssertionError("expected " + type.getSimpleName() + ", nothing was thrown");
    }

    static void expectStatus(Call call, MoaeException.Status status) throws Exception {
        try {
            call.run();
        } catch (MoaeException e) {
            if (e.status() != status) {
                throw new AssertionError("expected " + status + ", got " + e);
            }
            expect(e.getMessage() != null && !e.getMessage().isEmpty(), "empty message");
            return;
        }
        throw new AssertionError("expected MoaeException " + status + ", nothing was thrown");
    }

    static Case caseNamed(String name) {
        for (Case c : cases) {
            if (c.name.equals(name)) {
                return c;
            }
        }
        throw new IllegalArgumentException("cases file has no case " + name);
    }

    static BoxInput[] parseBoxes(String spec) {
        if (spec.equals("none")) {
            return new BoxInput[0];
        }
        String[] items = spec.split(";");
        BoxInput[] out = new BoxInput[items.length];
        for (int i = 0; i < items.length; i++) {
            String[] v = items[i].split(",");
            FaceBox r = new FaceBox(Float.parseFloat(v[0]), Float.parseFloat(v[1]),
                    Float.parseFloat(v[2]), Float.parseFloat(v[3]));
            out[i] = new BoxInput(r, BoxInput.Space.values()[Integer.parseInt(v[4])],
                    BoxInput.Units.values()[Integer.parseInt(v[5])]);
        }
        return out;
    }

    // ---------- the frame builder ----------

    static void builderChecks() {
        Case nv = firstOf("nv21");
        test("MoaeFrame.build checks nulls and plane counts", () -> {
            expectThrows(NullPointerException.class, () -> MoaeFrame.builder(null, 4, 4)
                    .plane(0, new byte[48], 0).build());
            expectThrows(NullPointerException.class,
                    () -> MoaeFrame.builder(PixelFormat.RGB, 4, 4).build());
            expectThrows(NullPointerException.class, () -> MoaeFrame.builder(PixelFormat.RGB,
                    4, 4).plane(0, (byte[]) null, 0).build());
            expectThrows(NullPointerException.class, () -> MoaeFrame.builder(
                    PixelFormat.YUV_420_888, 4, 4).plane(0, new byte[16], 0)
                    .plane(1, new byte[4], 0).build());
            expectThrows(IllegalArgumentException.class, () -> MoaeFrame.builder(
                    PixelFormat.RGBA, 4, 4).plane(0, new byte[64], 0)
                    .plane(1, new byte[4], 0).build());
            boolean threw = false;
            try {
                MoaeFrame.builder(PixelFormat.RGB, 4, 4).plane(3, new byte[48], 0);
            } catch (IndexOutOfBoundsException e) {
                threw = true;
            }
            expect(threw, "plane index 3 accepted");
        });
        test("MoaeFrame reports its geometry; withOrientation keeps the planes", () -> {
            MoaeFrame f = MoaeFrame.builder(PixelFormat.NV21, 64, 48).plane(0, nv.p0, 0)
                    .rotation(90).mirrored(true).build();
            expect(f.uprightWidth() == 48 && f.uprightHeight() == 64,
                    "upright " + f.uprightWidth() + "x" + f.uprightHeight());
            expect(f.mirrored() && f.rotation() == 90, f.toString());
            expect(f.yuvRange() == MoaeFrame.YuvRange.FULL, "default range " + f.yuvRange());
            MoaeFrame g = f.withOrientation(0, false);
            expect(g.uprightWidth() == 64 && !g.mirrored() && g.rotation() == 0, g.toString());
        });
        test("MoaeFrame errors from the native checks: size, stride, pixel stride, rotation",
                () -> {
                    try (MoaeDetector d = MoaeDetector.fromFile(modelPath, options())) {
                        expectStatus(() -> d.detect(MoaeFrame.builder(PixelFormat.NV21, 64, 48)
                                .plane(0, Arrays.copyOf(nv.p0, 100), 0).build(), null),
                                MoaeException.Status.INVALID_FRAME);
                        expectStatus(() -> d.detect(MoaeFrame.builder(PixelFormat.NV21, 64, 48)
                                .plane(0, nv.p0, 0).rotation(45).build(), null),
                                MoaeException.Status.INVALID_ARGUMENT);
                        Case y = firstOf("yuv888");
                        expectStatus(() -> d.detect(MoaeFrame.builder(PixelFormat.YUV_420_888,
                                y.width, y.height).plane(0, y.p0, y.stride0)
                                .plane(1, y.p1, y.stride1).plane(2, y.p1, y.stride1)
                                .pixelStride(3).build(), null),
                                MoaeException.Status.INVALID_FRAME);
                    }
                });
        test("mirrored, YUV range and YUV matrix reach the runtime (the runtime's scores, not "
                + "the unflagged ones)", () -> {
                    Case m = caseNamed("rgba_mirrored");
                    Case lim = caseNamed("nv21_limited");
                    Case hd = caseNamed("nv21_bt709");
                    Case full = caseNamed("nv21_whole");
                    expect(lim.attack != full.attack, "range does not change the score");
                    expect(hd.attack != full.attack, "the matrix does not change the score");
                    try (MoaeDetector d = MoaeDetector.fromFile(modelPath, options())) {
                        checkCase(d, m);
                        checkCase(d, lim);
                        checkCase(d, hd);
                        checkCase(d, caseNamed("yuv888_mirrored_rot90_box"));
                        // The same bytes without the flag give the full-range score.
                        DetectionResult r = d.detect(MoaeFrame.builder(PixelFormat.NV21,
                                64, 48).plane(0, lim.p0, 0).build(), null);
                        expectNear(r.attackScore, full.attack, "nv21 full range");
                    }
                });
        for (String[] pair : sameScene) {
            test("a mirrored buffer flagged mirrored scores as the original: " + pair[0]
                    + " = " + pair[1], () -> {
                        try (MoaeDetector d = MoaeDetector.fromFile(modelPath, options())) {
                            Case a = caseNamed(pair[0]);
                            Case b = caseNamed(pair[1]);
                            for (Mode mode : Mode.values()) {
                                expectNear(d.detect(frameOf(b, mode), b.box).attackScore,
                                        d.detect(frameOf(a, mode), a.box).attackScore,
                                        "mirrored vs original via " + mode);
                            }
                        }
                    });
        }
        test("FaceBox.flippedHorizontally converts a mirrored-preview box", () -> {
            FaceBox b = new FaceBox(4, 2, 24, 20).flippedHorizontally(40);
            expect(b.x == 12f && b.y == 2f && b.width == 24f && b.height == 20f, b.toString());
            FaceBox back = b.flippedHorizontally(40);
            expect(back.x == 4f, back.toString());
        });
    }

    // ---------- whole frame ----------

    static void wholeFrameOption() {
        test("without wholeFrame a call with no box fails (no centre-square score)", () -> {
            Case c = firstOf("nv21");
            try (MoaeDetector d = MoaeDetector.fromFile(modelPath, plainOptions())) {
                expectStatus(() -> d.detectNv21(c.p0, c.width, c.height, 0, null),
                        MoaeException.Status.INVALID_ARGUMENT);
                expectStatus(() -> d.detect(frameOf(c, Mode.DIRECT), null),
                        MoaeException.Status.INVALID_ARGUMENT);
                // With a box it works as before.
                Case boxed = caseNamed("nv21_rot90_box");
                checkCase(d, boxed);
            }
        });
    }

    // ---------- analyze ----------

    static Options engineOptions(String kind) {
        switch (kind) {
            case "whole":
                return options();
            case "strict":
                return opts().quality(QualityLimits.builder().minFacePx(10000f)
                        .allowSeveralFaces(true).build()).build();
            case "plain":
                return plainOptions();
            case "detector":
                return plainOpts().faceDetectorPath(faceDetectorPath).build();
            default:
                throw new IllegalArgumentException("engine kind " + kind);
        }
    }

    static void analyzeCases() {
        for (AnalyzeCase a : analyses) {
            test("analyze matches the runtime: " + a.name + (a.status == 0 ? ""
                    : " (status " + MoaeException.Status.fromCode(a.status) + ")"), () -> {
                        try (MoaeDetector d = MoaeDetector.fromFile(modelPath,
                                engineOptions(a.engine))) {
                            for (Mode mode : Mode.values()) {
                                checkAnalysis(d, a, mode);
                            }
                        }
                    });
        }
        test("analyze: null frame and null box are NullPointerExceptions", () -> {
            try (MoaeDetector d = MoaeDetector.fromFile(modelPath, options())) {
                expectThrows(NullPointerException.class, () -> d.analyze(null));
                Case c = firstOf("rgba");
                expectThrows(NullPointerException.class,
                        () -> d.analyze(frameOf(c, Mode.HEAP), (BoxInput) null));
            }
        });
        test("Decision and QualityFlag codes", () -> {
            expect(Decision.LIVE.code == 0 && Decision.ATTACK.code == 1
                    && Decision.UNSURE.code == 2, "decision codes");
            expect(QualityFlag.fromBits(0).isEmpty(), "no flags");
            expect(QualityFlag.fromBits((1 << 6) | (1 << 0) | (1 << 20)).equals(
                    java.util.EnumSet.of(QualityFlag.BLURRED, QualityFlag.NO_FACE)),
                    "bits 0 and 6 (unknown bit 20 ignored)");
        });
    }

    static void checkAnalysis(MoaeDetector d, AnalyzeCase a, Mode mode) throws Exception {
        String where = a.name + " via " + mode;
        MoaeFrame frame = frameOf(a.frame, mode);
        if (a.status != 0) {
            try {
                d.analyze(frame, a.boxes);
            } catch (MoaeException e) {
                expect(e.code() == a.status, where + ": status " + e + " != " + a.status);
                expect(e.getMessage().equals(a.error),
                        where + ": message '" + e.getMessage() + "' != runtime's '" + a.error
                                + "'");
                return;
            }
            throw new AssertionError(where + ": no exception, the runtime failed with "
                    + a.status);
        }
        FrameAnalysis r = d.analyze(frame, a.boxes);
        float[] v = a.expected;
        int count = (int) v[2];
        expect(r.faces.size() == count, where + ": " + r.faces.size() + " faces != " + count);
        expect(r.flags.equals(QualityFlag.fromBits((int) v[1])), where + ": flags " + r.flags);
        expect(r.hasFace() == (count > 0), where + ": hasFace");
        for (int i = 0; i < count; i++) {
            int at = 3 + i * 39;
            FaceResult f = r.faces.get(i);
            String w = where + " face " + i;
            // pack::face: moae_face's order (box, keypoints, hasKeypoints, source,
            // detectorScore, attack, live, threshold, decision, flags, quality, latency), then
            // isAttack, provider, hasAttackType and the four attack-type probabilities.
            expect(f.source.code == (int) v[at + 17], w + " source " + f.source);
            expect(f.hasAttackType() == (v[at + 34] != 0f), w + " hasAttackType");
            if (f.hasAttackType()) {
                float[] p = f.attackTypeProbabilities();
                for (int k = 0; k < 4; k++) {
                    expectNear(p[k], v[at + 35 + k], w + " attack type " + k);
                }
            } else {
                try {
                    float[] p = f.attackTypeProbabilities();
                    throw new AssertionError(w + ": attackTypeProbabilities() returned "
                            + java.util.Arrays.toString(p) + " for a model without the head");
                } catch (IllegalStateException e) {
                    expect(e.getMessage().contains("hasAttackType()"),
                            w + ": message " + e.getMessage());
                }
            }
            expectNear(f.box.x, v[at], w + " box x");
            expectNear(f.box.y, v[at + 1], w + " box y");
            expectNear(f.box.width, v[at + 2], w + " box w");
            expectNear(f.box.height, v[at + 3], w + " box h");
            expect((f.keypoints != null) == (v[at + 16] != 0f), w + " keypoints presence");
            if (f.keypoints != null) {
                for (int k = 0; k < 12; k++) {
                    expectNear(f.keypoints[k], v[at + 4 + k], w + " keypoint " + k);
                }
            }
            // No detector score is C's -1 in the record, and no number at all in Java.
            expect(f.hasDetectorScore() == (f.source == FaceResult.Source.DETECTOR),
                    w + " hasDetectorScore " + f.hasDetectorScore() + " for " + f.source);
            if (v[at + 18] == -1f) {
                expect(!f.hasDetectorScore(), w + " detector score -1 read as a score");
                try {
                    float s = f.detectorScore();
                    throw new AssertionError(w + ": detectorScore() returned " + s
                            + " for a face without one");
                } catch (IllegalStateException e) {
                    expect(e.getMessage().contains("hasDetectorScore()"),
                            w + ": message " + e.getMessage());
                }
            } else {
                expect(f.hasDetectorScore(), w + " detector score " + v[at + 18] + " lost");
                expectNear(f.detectorScore(), v[at + 18], w + " detector score");
            }
            expectNear(f.detection.attackScore, v[at + 19], w + " attack");
            expectNear(f.detection.liveScore, v[at + 20], w + " live");
            expectNear(f.detection.threshold, v[at + 21], w + " threshold");
            expect(f.decision.code == (int) v[at + 22], w + " decision " + f.decision);
            expect(f.qualityFlags.equals(QualityFlag.fromBits((int) v[at + 23])),
                    w + " quality flags " + f.qualityFlags);
            expect(f.detection.isAttack == (v[at + 32] != 0f), w + " isAttack");
            expect(f.detection.provider.ordinal() == (int) v[at + 33],
                    w + " provider " + f.detection.provider);
            float[] q = {f.quality.facePx, f.quality.outsideFraction, f.quality.brightness,
                f.quality.overexposedFraction, f.quality.sharpness, f.quality.rollDeg,
                f.quality.yawDeg};
            for (int k = 0; k < 7; k++) {
                float e = v[at + 24 + k];
                expect(Math.abs(q[k] - e) <= 1e-4f * Math.max(1f, Math.abs(e)),
                        w + " quality value " + k + ": " + q[k] + " != " + e);
            }
            // The decision rule, restated: unsure iff any flag; else by the threshold.
            Decision want = !f.qualityFlags.isEmpty() ? Decision.UNSURE
                    : f.detection.isAttack ? Decision.ATTACK : Decision.LIVE;
            expect(f.decision == want, w + " decision " + f.decision + " != " + want);
        }
    }

    // ---------- options ----------

    static void optionErrors() {
        Object[][] bad = {
            {"detectorMinScore 2", (Call) () -> opts().detectorMinScore(2f)},
            {"detectorMinScore NaN", (Call) () -> opts().detectorMinScore(Float.NaN)},
            {"threshold NaN", (Call) () -> opts().threshold(Float.NaN)},
            {"threshold 1.5", (Call) () -> opts().threshold(1.5f)},
            {"cropScale infinite", (Call) () -> opts().cropScale(Float.POSITIVE_INFINITY)},
            {"negative thread count", (Call) () -> opts().threads(-1)},
            {"negative session count", (Call) () -> opts().maxSessions(-1)},
            {"SHA-256 pin of 5 bytes", (Call) () -> opts().modelSha256(new byte[5])},
            {"quality minFacePx NaN", (Call) () -> QualityLimits.builder()
                    .minFacePx(Float.NaN)},
            {"quality maxRollDeg negative", (Call) () -> QualityLimits.builder()
                    .maxRollDeg(-3f)},
            {"quality minSharpness infinite", (Call) () -> QualityLimits.builder()
                    .minSharpness(Float.POSITIVE_INFINITY)},
        };
        for (Object[] b : bad) {
            test("bad option is an IllegalArgumentException from the builder: " + b[0],
                    () -> expectThrows(IllegalArgumentException.class, (Call) b[1]));
        }
        test("a limit only the native library knows raises MoaeException INVALID_ARGUMENT "
                + "(threads over 64, min face under 16 px)", () -> {
                    expectStatus(() -> MoaeDetector.fromFile(modelPath,
                            opts().threads(65).build()), MoaeException.Status.INVALID_ARGUMENT);
                    expectStatus(() -> MoaeDetector.fromFile(modelPath, opts().quality(
                            QualityLimits.builder().minFacePx(4f).build()).build()),
                            MoaeException.Status.INVALID_ARGUMENT);
                });
        test("Options and QualityLimits are immutable: final fields, copies in and out, "
                + "a builder changed after build() does not change what it built", () -> {
                    for (Class<?> k : new Class<?>[] {Options.class, QualityLimits.class}) {
                        for (java.lang.reflect.Field f : k.getDeclaredFields()) {
                            expect(java.lang.reflect.Modifier.isFinal(f.getModifiers()),
                                    k.getSimpleName() + "." + f.getName() + " is not final");
                        }
                    }
                    byte[] pin = new byte[32];
                    Options.Builder b = opts().modelSha256(pin).threads(2);
                    Options o = b.build();
                    pin[0] = 1;
                    b.threads(3).wholeFrame(false).providers(Provider.CUDA);
                    expect(o.threads() == 2 && o.wholeFrame(), "built options changed");
                    expect(o.providers().equals(Arrays.asList(Provider.CPU)),
                            "providers " + o.providers());
                    expect(o.modelSha256()[0] == 0, "the pin was not copied in");
                    o.modelSha256()[1] = 1;
                    expect(o.modelSha256()[1] == 0, "the pin was not copied out");
                    expectThrows(UnsupportedOperationException.class,
                            () -> o.providers().add(Provider.CUDA));
                    Options derived = o.toBuilder().threads(4).build();
                    expect(derived.threads() == 4 && o.threads() == 2, "toBuilder changed o");
                    QualityLimits.Builder qb = QualityLimits.builder().minFacePx(20f);
                    QualityLimits q = qb.build();
                    qb.minFacePx(30f).allowSeveralFaces(true);
                    expect(q.toString().contains("minFacePx=20.0") && !q.allowSeveralFaces(),
                            q.toString());
                });
        test("detector bytes over the runtime's 64 MiB cap raise MODEL, naming the length", () -> {
            byte[] huge = new byte[(64 << 20) + 1];
            try {
                MoaeDetector.fromFile(modelPath, opts().faceDetectorBytes(huge).build()).close();
            } catch (MoaeException e) {
                expect(e.status() == MoaeException.Status.MODEL, "status " + e);
                expect(e.getMessage().contains("67108865 bytes"), "message " + e.getMessage());
                return;
            }
            throw new AssertionError("a 64 MiB + 1 detector was accepted");
        });
        test("good pipeline options are accepted (detector bytes, limits, min score)", () -> {
            Options.Builder o = opts().detectorMinScore(0.6f).quality(QualityLimits.builder()
                    .minFacePx(20f).maxOutsideFraction(0.2f).minBrightness(10f)
                    .maxBrightness(250f).maxOverexposedFraction(0.5f).minSharpness(1f)
                    .maxRollDeg(30f).maxYawDeg(40f).build());
            if (faceDetectorPath != null) {
                o.faceDetectorBytes(Files.readAllBytes(Paths.get(faceDetectorPath)));
            }
            try (MoaeDetector d = MoaeDetector.fromFile(modelPath, o.build())) {
                checkCase(d, caseNamed("rgba_bitmap"));
            }
        });
    }

    // ---------- CameraX (against stand-ins of ImageProxy / ImageInfo) ----------

    static final class FakePlane implements ImageProxy.PlaneProxy {
        final ByteBuffer buffer;
        final int rowStride;
        final int pixelStride;

        FakePlane(ByteBuffer buffer, int rowStride, int pixelStride) {
            this.buffer = buffer;
            this.rowStride = rowStride;
            this.pixelStride = pixelStride;
        }

        @Override
        public int getRowStride() {
            return rowStride;
        }

        @Override
        public int getPixelStride() {
            return pixelStride;
        }

        @Override
        public ByteBuffer getBuffer() {
            return buffer;
        }
    }

    static final class FakeImage implements ImageProxy {
        final int format;
        final int width;
        final int height;
        final int rotation;
        final FakePlane[] planes;
        final AtomicInteger closes = new AtomicInteger();

        FakeImage(int format, int width, int height, int rotation, FakePlane... planes) {
            this.format = format;
            this.width = width;
            this.height = height;
            this.rotation = rotation;
            this.planes = planes;
        }

        @Override
        public void close() {
            closes.incrementAndGet();
        }

        @Override
        public int getFormat() {
            return format;
        }

        @Override
        public int getWidth() {
            return width;
        }

        @Override
        public int getHeight() {
            return height;
        }

        @Override
        public ImageProxy.PlaneProxy[] getPlanes() {
            return planes;
        }

        @Override
        public ImageInfo getImageInfo() {
            return () -> rotation;
        }
    }

    /** A case as CameraX delivers it: direct plane buffers, the case's rotation. */
    static FakeImage imageOf(Case c) {
        if (c.kind.equals("rgba")) {
            return new FakeImage(MoaeCameraX.FORMAT_RGBA_8888, c.width, c.height, c.rotation,
                    new FakePlane(direct(c.p0), c.stride0, 4));
        }
        if (c.kind.equals("yuv888")) {
            ByteBuffer vu = direct(c.p1);
            ByteBuffer v = vu.duplicate();
            v.limit(vu.limit() - 1);
            ByteBuffer u = vu.duplicate();
            u.position(1);
            return new FakeImage(MoaeCameraX.FORMAT_YUV_420_888, c.width, c.height, c.rotation,
                    new FakePlane(direct(c.p0), c.stride0, 1), new FakePlane(u.slice(),
                            c.stride1, 2), new FakePlane(v.slice(), c.stride1, 2));
        }
        throw new IllegalArgumentException("no CameraX format for " + c.kind);
    }

    static ByteBuffer direct(byte[] data) {
        ByteBuffer b = ByteBuffer.allocateDirect(data.length);
        b.put(data);
        b.flip();
        return b;
    }

    static void cameraX(MoaeDetector det) {
        test("CameraX YUV_420_888 ImageProxy (pixel stride 2, padded, rotation from "
                + "imageInfo) scores as the runtime", () -> {
                    Case c = caseNamed("yuv888_padded_rot180_box");
                    MoaeFrame f = MoaeCameraX.frame(imageOf(c));
                    expect(f.rotation() == 180 && !f.mirrored(), f.toString());
                    checkResult(c, det.detect(f, c.box), "CameraX YUV");
                });
        test("CameraX RGBA_8888 ImageProxy (padded rows, rotation 270) scores as the runtime",
                () -> {
                    Case c = caseNamed("rgba_padded_rot270");
                    MoaeFrame f = MoaeCameraX.frame(imageOf(c));
                    expect(f.format() == PixelFormat.RGBA && f.rotation() == 270,
                            f.toString());
                    checkResult(c, det.detect(f, c.box), "CameraX RGBA");
                });
        test("CameraX mirrored frames carry the flag to the runtime", () -> {
            Case c = caseNamed("rgba_mirrored");
            MoaeFrame f = MoaeCameraX.frame(imageOf(c), true);
            expect(f.mirrored(), f.toString());
            checkResult(c, det.detect(f, c.box), "CameraX RGBA mirrored");
            Case y = caseNamed("yuv888_mirrored_rot90_box");
            checkResult(y, det.detect(MoaeCameraX.frame(imageOf(y), true), y.box),
                    "CameraX YUV mirrored rot90");
        });
        test("CameraX analyze() equals analyze() on the same frame", () -> {
            Case c = caseNamed("rgba_bitmap");
            BoxInput b = BoxInput.upright(c.box);
            Object viaHelper;
            Object direct;
            try {
                viaHelper = MoaeCameraX.analyze(det, imageOf(c), b).toString();
            } catch (MoaeException e) {
                viaHelper = e.status() + ": " + e.getMessage();
            }
            try {
                direct = det.analyze(frameOf(c, Mode.DIRECT), b).toString();
            } catch (MoaeException e) {
                direct = e.status() + ": " + e.getMessage();
            }
            // toString holds decision, source, box, attack score and flags.
            expect(viaHelper.equals(direct), viaHelper + " != " + direct);
        });
        test("CameraX NV21 output (OUTPUT_IMAGE_FORMAT_NV21): three planes (U/V views of VU) "
                + "and two planes (Y, VU) score as the runtime", () -> {
                    Case y = caseNamed("yuv888_padded_rot180_box");
                    FakeImage yuv = imageOf(y);
                    MoaeFrame three = MoaeCameraX.frame(new FakeImage(MoaeCameraX.FORMAT_NV21,
                            y.width, y.height, y.rotation, yuv.planes));
                    checkResult(y, det.detect(three, y.box), "CameraX NV21 3 planes");
                    Case n = caseNamed("nv21_rot90_box");
                    int ySize = n.stride0 * n.height;
                    FakeImage two = new FakeImage(MoaeCameraX.FORMAT_NV21, n.width, n.height,
                            n.rotation,
                            new FakePlane(direct(Arrays.copyOf(n.p0, ySize)), n.stride0, 1),
                            new FakePlane(direct(Arrays.copyOfRange(n.p0, ySize, n.p0.length)),
                                    n.stride0, 2));
                    MoaeFrame f = MoaeCameraX.frame(two);
                    expect(f.format() == PixelFormat.NV21 && f.rotation() == 90, f.toString());
                    checkResult(n, det.detect(f, n.box), "CameraX NV21 2 planes");
                    expectStatus(() -> MoaeCameraX.frame(new FakeImage(MoaeCameraX.FORMAT_NV21,
                            n.width, n.height, 0, two.planes[0])),
                            MoaeException.Status.INVALID_FRAME);
                });
        test("CameraX: bad images give clear statuses", () -> {
            Case c = caseNamed("rgba_bitmap");
            expectThrows(NullPointerException.class, () -> MoaeCameraX.frame(null));
            expectStatus(() -> MoaeCameraX.frame(new FakeImage(0x100, 40, 30, 0,
                    new FakePlane(direct(c.p0), 160, 4))), MoaeException.Status.UNKNOWN_FORMAT);
            try {
                MoaeCameraX.frame(new FakeImage(0x100, 40, 30, 0,
                        new FakePlane(direct(c.p0), 160, 4)));
            } catch (MoaeException e) {
                expect(e.getMessage().contains("OUTPUT_IMAGE_FORMAT_YUV_420_888 (1)")
                        && e.getMessage().contains("OUTPUT_IMAGE_FORMAT_RGBA_8888 (2)")
                        && e.getMessage().contains("OUTPUT_IMAGE_FORMAT_NV21 (3)"),
                        "format numbers in " + e.getMessage());
            }
            expectStatus(() -> MoaeCameraX.frame(new FakeImage(MoaeCameraX.FORMAT_RGBA_8888,
                    40, 30, 0, new FakePlane(direct(c.p0), 160, 3))),
                    MoaeException.Status.INVALID_FRAME);
            Case y = caseNamed("yuv888_padded_rot180_box");
            FakeImage two = imageOf(y);
            expectStatus(() -> MoaeCameraX.frame(new FakeImage(MoaeCameraX.FORMAT_YUV_420_888,
                    y.width, y.height, 0, two.planes[0], two.planes[1])),
                    MoaeException.Status.INVALID_FRAME);
            expectStatus(() -> MoaeCameraX.frame(new FakeImage(MoaeCameraX.FORMAT_YUV_420_888,
                    y.width, y.height, 0, two.planes[0], two.planes[1],
                    new FakePlane(two.planes[2].buffer, y.stride1 + 8, 2))),
                    MoaeException.Status.INVALID_FRAME);
        });
        test("CameraX analyzer: delivers results or errors, closes every image, drops "
                + "frames after close()", () -> {
                    MoaeDetector d = MoaeDetector.fromFile(modelPath, options());
                    List<FrameAnalysis> results = new ArrayList<>();
                    List<MoaeException> errors = new ArrayList<>();
                    MoaeCameraX.FrameAnalyzer an = MoaeCameraX.analyzer(d,
                            new MoaeCameraX.Listener() {
                                @Override
                                public void onAnalysis(FrameAnalysis a) {
                                    results.add(a);
                                }

                                @Override
                                public void onError(MoaeException e) {
                                    errors.add(e);
                                }
                            });
                    Case c = caseNamed("rgba_padded_rot270");
                    List<FakeImage> images = new ArrayList<>();
                    for (int i = 0; i < 3; i++) {
                        FakeImage im = imageOf(c);
                        images.add(im);
                        an.analyze(im);
                    }
                    // The same answer analyze() gives: a whole-frame analysis, or its error.
                    AnalyzeCase wf = analysisNamed("whole_frame");
                    expect(results.size() + errors.size() == 3,
                            results.size() + " results + " + errors.size() + " errors");
                    if (wf.status == 0) {
                        expect(results.size() == 3, "errors: " + errors);
                        expect(results.get(0).faces.size() == 1, results.get(0).toString());
                    } else {
                        expect(errors.size() == 3 && errors.get(0).code() == wf.status,
                                "errors " + errors);
                    }
                    d.close();
                    for (int i = 0; i < 4; i++) {
                        FakeImage im = imageOf(c);
                        images.add(im);
                        an.analyze(im); // must not throw
                    }
                    expect(an.droppedFrames() == 4, "dropped " + an.droppedFrames());
                    expect(results.size() + errors.size() == 3, "listener called after close");
                    for (FakeImage im : images) {
                        expect(im.closes.get() == 1, "an image was closed " + im.closes.get()
                                + " times");
                    }
                });
    }

    // ---------- MoaeAndroid (against stand-ins of AssetManager, Bitmap, RectF, Image) ----------

    static final class FakeCamera2Image extends Image {
        final FakeImage from;

        FakeCamera2Image(FakeImage from) {
            this.from = from;
        }

        @Override
        public int getWidth() {
            return from.width;
        }

        @Override
        public int getHeight() {
            return from.height;
        }

        @Override
        public Image.Plane[] getPlanes() {
            Image.Plane[] out = new Image.Plane[from.planes.length];
            for (int i = 0; i < out.length; i++) {
                FakePlane p = from.planes[i];
                out[i] = new Image.Plane() {
                    @Override
                    public int getRowStride() {
                        return p.rowStride;
                    }

                    @Override
                    public int getPixelStride() {
                        return p.pixelStride;
                    }

                    @Override
                    public ByteBuffer getBuffer() {
                        return p.buffer;
                    }
                };
            }
            return out;
        }

        @Override
        public void close() {}
    }

    static RectF rect(FaceBox b) {
        return new RectF(b.x, b.y, b.x + b.width, b.y + b.height);
    }

    static void androidHelpers(MoaeDetector det) {
        test("MoaeAndroid.fromAsset loads the model; a missing asset is IO", () -> {
            Map<String, byte[]> assets = new HashMap<>();
            assets.put("moae.onnx", Files.readAllBytes(Paths.get(modelPath)));
            assets.put("packed.onnx", Files.readAllBytes(Paths.get(modelPath)));
            AssetManager am = new AssetManager(assets,
                    new java.util.HashSet<>(Arrays.asList("packed.onnx")),
                    dir.resolve("app.apk").toFile());
            // Uncompressed: mapped through openFd at its offset; compressed: streamed.
            for (String name : new String[] {"moae.onnx", "packed.onnx"}) {
                try (MoaeDetector d = MoaeAndroid.fromAsset(am, name, options())) {
                    checkCase(d, caseNamed("nv21_rot90_box"));
                }
            }
            expect(am.descriptorsOpened == 1, "uncompressed asset not mapped through openFd ("
                    + am.descriptorsOpened + " descriptors)");
            expectStatus(() -> MoaeAndroid.fromAsset(am, "absent.onnx", options()),
                    MoaeException.Status.IO);
            expectThrows(NullPointerException.class,
                    () -> MoaeAndroid.fromAsset(null, "moae.onnx", options()));
        });
        test("MoaeAndroid Bitmap (ARGB_8888, RectF box) scores as the runtime", () -> {
            Case c = caseNamed("rgba_bitmap");
            Bitmap bm = new Bitmap(c.width, c.height, c.stride0, Bitmap.Config.ARGB_8888, c.p0);
            checkResult(c, MoaeAndroid.detect(det, bm, 0, rect(c.box), null), "Bitmap");
            // A reused scratch buffer gives the same.
            ByteBuffer scratch = ByteBuffer.allocateDirect(c.p0.length + 64);
            checkResult(c, MoaeAndroid.detect(det, bm, 0, rect(c.box), scratch),
                    "Bitmap with scratch");
            Bitmap rgb565 = new Bitmap(c.width, c.height, c.width * 2, Bitmap.Config.RGB_565,
                    new byte[c.width * 2 * c.height]);
            expectStatus(() -> MoaeAndroid.detect(det, rgb565, 0, null, null),
                    MoaeException.Status.INVALID_FRAME);
            expectThrows(NullPointerException.class,
                    () -> MoaeAndroid.detect(det, (Bitmap) null, 0, null, null));
        });
        test("MoaeAndroid Camera2 Image (YUV_420_888) scores as the runtime", () -> {
            Case c = caseNamed("yuv888_padded_rot180_box");
            Image im = new FakeCamera2Image(imageOf(c));
            checkResult(c, MoaeAndroid.detect(det, im, c.rotation, rect(c.box)), "Camera2");
            MoaeFrame f = MoaeAndroid.frame(im, c.rotation);
            expect(f.format() == PixelFormat.YUV_420_888 && f.rotation() == 180, f.toString());
            FakeImage two = imageOf(c);
            Image twoPlanes = new FakeCamera2Image(new FakeImage(two.format, two.width,
                    two.height, 0, two.planes[0], two.planes[1]));
            expectStatus(() -> MoaeAndroid.frame(twoPlanes, 0),
                    MoaeException.Status.INVALID_FRAME);
            expectThrows(NullPointerException.class, () -> MoaeAndroid.frame(null, 0));
        });
    }

    static AnalyzeCase analysisNamed(String name) {
        for (AnalyzeCase a : analyses) {
            if (a.name.equals(name)) {
                return a;
            }
        }
        throw new IllegalArgumentException("no analysis case " + name);
    }

    /**
     * The issue's scenario: frames still queued on the analysis executor when the app closes
     * the detector. A single-thread executor holds 40 queued frames; close() runs while the
     * first ones are analysed. Able to fail: some frames must run before and some after the
     * close, no task may throw, every image must be closed exactly once.
     */
    static void analyzerCloseWhileQueued() throws Exception {
        MoaeDetector d = MoaeDetector.fromFile(modelPath, options());
        AtomicInteger delivered = new AtomicInteger();
        CountDownLatch firstDone = new CountDownLatch(2);
        MoaeCameraX.FrameAnalyzer an = MoaeCameraX.analyzer(d, new MoaeCameraX.Listener() {
            @Override
            public void onAnalysis(FrameAnalysis a) {
                delivered.incrementAndGet();
                firstDone.countDown();
            }

            @Override
            public void onError(MoaeException e) {
                delivered.incrementAndGet();
                firstDone.countDown();
            }
        });
        Case c = caseNamed("yuv888_padded_rot180_box");
        ExecutorService ex = Executors.newSingleThreadExecutor();
        List<FakeImage> images = new ArrayList<>();
        List<Future<?>> tasks = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            FakeImage im = imageOf(c);
            images.add(im);
            tasks.add(ex.submit(() -> an.analyze(im)));
        }
        expect(firstDone.await(20, TimeUnit.SECONDS), "no frame was analysed");
        d.close(); // waits for the frame in flight, if any
        ex.shutdown();
        expect(ex.awaitTermination(60, TimeUnit.SECONDS), "executor did not finish");
        for (Future<?> t : tasks) {
            t.get(); // rethrows anything a task threw
        }
        long dropped = an.droppedFrames();
        expect(delivered.get() >= 2, "delivered " + delivered.get());
        expect(dropped > 0, "no frame was queued after close (test did not test)");
        expect(delivered.get() + dropped == 40, delivered.get() + " + " + dropped + " != 40");
        for (FakeImage im : images) {
            expect(im.closes.get() == 1, "an image was closed " + im.closes.get() + " times");
        }
        System.out.println("   close while queued: " + delivered.get() + " analysed, " + dropped
                + " dropped after close()");
    }

    // ---------- no native library ----------

    static void missingLibrary() {
        test("missing libmoae_jni is ORT_LIBRARY (the library error), not INVALID_ARGUMENT",
                () -> {
                    for (Call call : new Call[] {
                        () -> MoaeDetector.fromFile("model.onnx", null),
                        () -> MoaeDetector.fromBytes(new byte[] {1}, null),
                        () -> MoaeDetector.nativeVersion()}) {
                        try {
                            call.run();
                            throw new AssertionError("no exception without the library");
                        } catch (MoaeException e) {
                            expect(e.status() == MoaeException.Status.ORT_LIBRARY, e.toString());
                            expect(e.getMessage().contains("libmoae_jni"), e.getMessage());
                        }
                    }
                });
        System.out.println("SUMMARY passed=" + passed + " failed=" + failures.size());
        if (!failures.isEmpty()) {
            System.exit(1);
        }
    }
}

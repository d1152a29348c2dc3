package ai.moae.hosttest;

import ai.moae.DetectionResult;
import ai.moae.DetectorInfo;
import ai.moae.FaceBox;
import ai.moae.MoaeDetector;
import ai.moae.MoaeException;
import ai.moae.Options;
import ai.moae.PixelFormat;
import ai.moae.Provider;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
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

    private static Path dir;
    private static String modelPath;
    private static String ortPath;
    private static final List<Case> cases = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: HostTestRunner CASES_FILE");
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
            try (MoaeDetector d = MoaeDetector.fromFile(modelPath, options().threshold(0f))) {
                DetectionResult r = run(d, c, Mode.DIRECT);
                expect(r.threshold == 0f, "threshold " + r.threshold);
                expect(r.isAttack, "score >= 0 must be an attack at threshold 0");
                expectNear(r.attackScore, c.attack, "attack score");
            }
        });
        test("provider fallback: CoreML is not on Linux, CPU runs and says why", () -> {
            try (MoaeDetector d = MoaeDetector.fromFile(modelPath,
                    options().providers(Provider.COREML, Provider.CPU))) {
                DetectorInfo info = d.info();
                expect(info.provider == Provider.CPU, "provider " + info.provider);
                expect(!info.fallbackReason.isEmpty(), "no fallback reason");
                checkCase(d, cases.get(0));
            }
        });
        test("4 threads share one detector", () -> sharedByThreads(det));
        test("close twice is safe; use after close raises IllegalStateException", () -> {
            MoaeDetector d = MoaeDetector.fromFile(modelPath, options());
            checkCase(d, cases.get(0));
            d.close();
            d.close();
            expect(d.isClosed(), "isClosed false after close");
            Case c = cases.get(0);
            expectIllegalState(() -> run(d, c, Mode.ARRAY), "detect(byte[])");
            expectIllegalState(() -> run(d, c, Mode.DIRECT), "detect(direct)");
            expectIllegalState(() -> d.info(), "info()");
        });
        test("close racing with 4 detecting threads never crashes", () -> closeRace());
        det.close();

        System.out.println("SUMMARY passed=" + passed + " failed=" + failures.size());
        if (!failures.isEmpty()) {
            for (String f : failures) {
                System.out.println("FAILED: " + f);
            }
            System.exit(1);
        }
    }

    // ---------- cases ----------

    static Options options() {
        return new Options().ortLibraryPath(ortPath).threads(1);
    }

    enum Mode { ARRAY, HEAP, DIRECT }

    static DetectionResult run(MoaeDetector d, Case c, Mode mode) throws MoaeException {
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
            DetectionResult r = run(d, c, mode);
            String where = c.name + " via " + mode;
            expectNear(r.attackScore, c.attack, where + " attack score");
            expectNear(r.liveScore, c.live, where + " live score");
            expect(r.isAttack == c.isAttack, where + " isAttack " + r.isAttack);
            expect(r.threshold == c.threshold, where + " threshold " + r.threshold);
            expect(r.provider == Provider.CPU, where + " provider " + r.provider);
            expect(r.latencyMs >= 0f, where + " latency " + r.latencyMs);
        }
    }

    // ---------- bad input ----------

    static void badInputs(MoaeDetector det) {
        Case nv = firstOf("nv21");
        Case rgba = firstOf("rgba");
        Case yuv = firstOf("yuv888");
        int w = nv.width;
        int h = nv.height;
        byte[] frame = nv.p0;
        FaceBox box = new FaceBox(1, 1, 8, 8);
        Object[][] bad = {
            {"null NV21 frame", MoaeException.Status.NULL_ARGUMENT,
                (Call) () -> det.detectNv21(null, w, h, 0, null)},
            {"null direct buffer", MoaeException.Status.NULL_ARGUMENT,
                (Call) () -> det.detectRgba(null, w, h, 0, null)},
            {"null format", MoaeException.Status.NULL_ARGUMENT,
                (Call) () -> det.detect(frame, null, w, h, 0, 0, null)},
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
            {"null U plane", MoaeException.Status.NULL_ARGUMENT,
                (Call) () -> det.detectYuv420888(ByteBuffer.wrap(yuv.p0), null,
                        ByteBuffer.wrap(yuv.p1), yuv.stride0, yuv.stride1, 2, yuv.width,
                        yuv.height, 0, null)},
            {"YUV_420_888 through the single-buffer call", MoaeException.Status.INVALID_ARGUMENT,
                (Call) () -> det.detect(frame, PixelFormat.YUV_420_888, w, h, 0, 0, null)},
        };
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
            {"null bytes", MoaeException.Status.NULL_ARGUMENT,
                (Call) () -> MoaeDetector.fromBytes(null, options())},
            {"missing file", MoaeException.Status.IO,
                (Call) () -> MoaeDetector.fromFile(dir.resolve("absent.onnx").toString(),
                        options())},
            {"null path", MoaeException.Status.NULL_ARGUMENT,
                (Call) () -> MoaeDetector.fromFile(null, options())},
            {"wrong SHA-256 pin", MoaeException.Status.MODEL_HASH,
                (Call) () -> MoaeDetector.fromFile(modelPath,
                        options().modelSha256(new byte[32]))},
            {"SHA-256 pin of 5 bytes", MoaeException.Status.INVALID_ARGUMENT,
                (Call) () -> MoaeDetector.fromFile(modelPath,
                        options().modelSha256(new byte[5]))},
            {"required provider unavailable (CoreML on Linux)",
                MoaeException.Status.PROVIDER_UNAVAILABLE,
                (Call) () -> MoaeDetector.fromFile(modelPath,
                        options().providers(Provider.COREML).requireProvider(true))},
            {"negative thread count", MoaeException.Status.INVALID_ARGUMENT,
                (Call) () -> MoaeDetector.fromFile(modelPath, options().threads(-1))},
        };
        for (Object[] b : bad) {
            test("bad model/options raise " + b[1] + ": " + b[0],
                    () -> expectStatus((Call) b[2], (MoaeException.Status) b[1]));
        }
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
     * IllegalStateException, and nothing else may be thrown.
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
                    } catch (IllegalStateException e) {
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
                + " threads saw IllegalStateException");
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
                case "case": {
                    // case NAME KIND W H ROT BOX STRIDE0 STRIDE1 ATTACK LIVE IS_ATTACK THRESHOLD
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
                    c.attack = Float.parseFloat(f[9]);
                    c.live = Float.parseFloat(f[10]);
                    c.isAttack = f[11].equals("1");
                    c.threshold = Float.parseFloat(f[12]);
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

    static void expectIllegalState(Call call, String what) throws Exception {
        try {
            call.run();
        } catch (IllegalStateException e) {
            return;
        }
        throw new AssertionError(what + " after close did not raise IllegalStateException");
    }
}

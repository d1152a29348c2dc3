package ai.moae;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.List;

/**
 * Feeds the bad inputs of {@code android/jni/tests/abi_parity.rs} through the JNI bridge
 * (NativeBridge, as MoaeDetector calls it) and prints {@code name<TAB>status<TAB>message} per
 * case; the Rust test compares each line with what the C ABI says for the same input.
 * In package ai.moae to reach the package-private NativeBridge.
 */
public final class AbiParityRunner {
    private AbiParityRunner() {}

    private static byte[] plane(String len) {
        int n = Integer.parseInt(len);
        return n < 0 ? null : new byte[n];
    }

    private static float[] face(String spec) {
        if (spec.equals("none")) {
            return null;
        }
        String[] v = spec.split(",");
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = Float.parseFloat(v[i]);
        }
        return f;
    }

    /** As the C side: frames without a box are scored whole (the frame checks are compared). */
    private static long wholeFrameEngine(String model, String ort) {
        return NativeBridge.createFromFile(model, "cpu", false, 1, 0, ort, null, -1f, 0f, null,
                null, -1f, true, null, false);
    }

    private static byte[] rgb(int value) {
        byte[] b = new byte[64 * 48 * 3];
        java.util.Arrays.fill(b, (byte) value);
        return b;
    }

    private static String line(String name, int code, String message) {
        return name + "\t" + code + "\t" + message.replace('\n', ' ').replace('\t', ' ');
    }

    /** NativeBridge declares no checked exceptions, but raises MoaeException natively. */
    private static String failure(String name, Exception e) {
        if (e instanceof MoaeException) {
            return line(name, ((MoaeException) e).code(), e.getMessage());
        }
        return line(name, -100, e.toString());
    }

    private static String joined(float[] v) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < v.length; i++) {
            b.append(i == 0 ? "" : ",").append(v[i]);
        }
        return b.toString();
    }

    /** attackTypeProbabilities() joined with ',', or "none" when hasAttackType() is false. */
    private static String attackTypes(DetectionResult d) {
        return d.hasAttackType() ? joined(d.attackTypeProbabilities()) : "none";
    }

    public static void main(String[] args) throws IOException {
        List<String> lines = Files.readAllLines(Paths.get(args[0]), StandardCharsets.UTF_8);
        String model = null;
        String ort = null;
        String detector = null;
        long handle = 0;
        StringBuilder out = new StringBuilder();
        for (String l : lines) {
            String[] f = l.split(" ");
            switch (f[0]) {
                case "model":
                    model = f[1];
                    break;
                case "ort":
                    ort = f[1];
                    break;
                case "frame":
                    try {
                        if (handle == 0) {
                            handle = wholeFrameEngine(model, ort);
                        }
                        // MoaeFrame.nativeInts(): format, w, h, rotation, mirrored, yuvRange,
                        // three strides, pixel stride, yuvMatrix.
                        int[] desc = {Integer.parseInt(f[2]), Integer.parseInt(f[3]),
                            Integer.parseInt(f[4]), Integer.parseInt(f[5]),
                            Integer.parseInt(f[13]), 0,
                            Integer.parseInt(f[6]), Integer.parseInt(f[7]),
                            Integer.parseInt(f[8]), 1, 0};
                        NativeBridge.detectArrays(handle, desc, plane(f[9]), plane(f[10]),
                                plane(f[11]), face(f[12]));
                        out.append(line(f[1], 0, "ok")).append('\n');
                    } catch (Exception e) {
                        out.append(failure(f[1], e)).append('\n');
                    }
                    break;
                case "analyze":
                    try {
                        if (handle == 0) {
                            handle = wholeFrameEngine(model, ort);
                        }
                        int[] desc = {0, 64, 48, 0, 0, 0, 0, 0, 0, 1, 0};
                        float[] r = face(f[2]);
                        float[] box = {r[0], r[1], r[2], r[3], Integer.parseInt(f[3]),
                            Integer.parseInt(f[4])};
                        NativeBridge.analyzeArrays(handle, desc, rgb(100), null, null, box);
                        out.append(line(f[1], 0, "ok")).append('\n');
                    } catch (Exception e) {
                        out.append(failure(f[1], e)).append('\n');
                    }
                    break;
                case "detector":
                    detector = f[1];
                    break;
                case "face":
                    // face NAME whole|detector W H RGB_FILE BOX|none: a good analysis; prints
                    // NAME, the raw JNI record, FaceResult.hasDetectorScore() per face and each
                    // face's attackTypeProbabilities() ("none" without the head), ';'-separated.
                    try {
                        boolean useDetector = f[2].equals("detector");
                        long h = NativeBridge.createFromFile(model, "cpu", false, 1, 0, ort, null,
                                -1f, 0f, useDetector ? detector : null, null, -1f, !useDetector,
                                null, false);
                        try {
                            int[] desc = {0, Integer.parseInt(f[3]), Integer.parseInt(f[4]), 0,
                                0, 0, 0, 0, 0, 1, 0};
                            float[] box = face(f[6]);
                            float[] raw = NativeBridge.analyzeArrays(h, desc,
                                    Files.readAllBytes(Paths.get(f[5])), null, null, box);
                            FrameAnalysis a = FrameAnalysis.fromNative(raw);
                            StringBuilder b = new StringBuilder(f[1]).append('\t');
                            b.append(joined(raw)).append('\t');
                            for (FaceResult r : a.faces) {
                                b.append(r.hasDetectorScore() ? 'Y' : 'N');
                            }
                            b.append('\t');
                            for (int i = 0; i < a.faces.size(); i++) {
                                b.append(i == 0 ? "" : ";");
                                b.append(attackTypes(a.faces.get(i).detection));
                            }
                            out.append(b).append('\n');
                        } finally {
                            NativeBridge.destroy(h);
                        }
                    } catch (Exception e) {
                        out.append(failure(f[1], e)).append('\n');
                    }
                    break;
                case "detect":
                    // detect NAME W H RGB_FILE BOX|none: a good detection on a whole-frame
                    // engine; prints NAME, the raw JNI record and the DetectionResult's
                    // attackTypeProbabilities() ("none" without the head).
                    try {
                        long h = wholeFrameEngine(model, ort);
                        try {
                            int[] desc = {0, Integer.parseInt(f[2]), Integer.parseInt(f[3]), 0,
                                0, 0, 0, 0, 0, 1, 0};
                            float[] raw = NativeBridge.detectArrays(h, desc,
                                    Files.readAllBytes(Paths.get(f[4])), null, null, face(f[5]));
                            DetectionResult r = DetectionResult.fromNative(raw);
                            out.append(f[1]).append('\t').append(joined(raw)).append('\t')
                                    .append(attackTypes(r)).append('\n');
                        } finally {
                            NativeBridge.destroy(h);
                        }
                    } catch (Exception e) {
                        out.append(failure(f[1], e)).append('\n');
                    }
                    break;
                case "opts":
                    try {
                        // QualityLimits' layout; -1 = the default, NaN in the case = unset.
                        float[] quality = {-1f, -1f, -1f, -1f, -1f, -1f, -1f, -1f};
                        float minFace = Float.parseFloat(f[7]);
                        float maxBright = Float.parseFloat(f[8]);
                        if (!Float.isNaN(minFace)) {
                            quality[0] = minFace;
                        }
                        if (!Float.isNaN(maxBright)) {
                            quality[3] = maxBright;
                        }
                        long h = NativeBridge.createFromFile(model, "cpu", false,
                                Integer.parseInt(f[2]), Integer.parseInt(f[3]), ort, null,
                                Float.parseFloat(f[4]), Float.parseFloat(f[5]), null, null,
                                Float.parseFloat(f[6]), true, quality, false);
                        NativeBridge.destroy(h);
                        out.append(line(f[1], 0, "ok")).append('\n');
                    } catch (Exception e) {
                        out.append(failure(f[1], e)).append('\n');
                    }
                    break;
                default:
                    throw new IllegalArgumentException("bad case line: " + l);
            }
        }
        if (handle != 0) {
            NativeBridge.destroy(handle);
        }
        System.out.print(out);
    }
}

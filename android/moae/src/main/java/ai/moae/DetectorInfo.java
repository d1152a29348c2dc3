package ai.moae;

import java.util.HashMap;
import java.util.Map;

/** What a detector runs: provider (and why it fell back), model input size, threshold, hash. */
public final class DetectorInfo {
    public final Provider provider;
    /** Empty unless a preferred provider was unavailable. */
    public final String fallbackReason;
    public final int inputSize;
    public final float threshold;
    public final boolean thresholdCalibrated;
    public final String modelSha256;
    public final String precision;
    public final String ortLibrary;

    private DetectorInfo(Map<String, String> kv) {
        this.provider = parseProvider(kv.getOrDefault("provider", "cpu"));
        this.fallbackReason = kv.getOrDefault("fallback_reason", "");
        this.inputSize = Integer.parseInt(kv.getOrDefault("input_size", "0"));
        this.threshold = Float.parseFloat(kv.getOrDefault("threshold", "NaN"));
        this.thresholdCalibrated = Boolean.parseBoolean(kv.get("threshold_calibrated"));
        this.modelSha256 = kv.getOrDefault("model_sha256", "");
        this.precision = kv.getOrDefault("precision", "");
        this.ortLibrary = kv.getOrDefault("ort_library", "");
    }

    private static Provider parseProvider(String name) {
        for (Provider p : Provider.values()) {
            if (p.nativeName.equalsIgnoreCase(name.trim())) {
                return p;
            }
        }
        return Provider.CPU;
    }

    /** Parses the {@code key=value} lines of {@code NativeBridge.info}. */
    static DetectorInfo parse(String text) {
        Map<String, String> kv = new HashMap<>();
        for (String line : text.split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                kv.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return new DetectorInfo(kv);
    }

    @Override
    public String toString() {
        return "DetectorInfo[provider=" + provider + ", inputSize=" + inputSize + ", threshold="
                + threshold + ", calibrated=" + thresholdCalibrated + ", sha256=" + modelSha256
                + "]";
    }
}

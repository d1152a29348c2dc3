package ai.moae;

/** One decision: scores in [0, 1] with attack + live = 1, attack iff attackScore >= threshold. */
public final class DetectionResult {
    public final float attackScore;
    public final float liveScore;
    public final boolean isAttack;
    public final float threshold;
    public final Provider provider;
    /** Wall time of preprocessing + inference inside the native library. */
    public final float latencyMs;

    DetectionResult(float attackScore, float liveScore, boolean isAttack, float threshold,
            Provider provider, float latencyMs) {
        this.attackScore = attackScore;
        this.liveScore = liveScore;
        this.isAttack = isAttack;
        this.threshold = threshold;
        this.provider = provider;
        this.latencyMs = latencyMs;
    }

    /** Layout written by {@code detect_and_pack} in android/jni/src/lib.rs. */
    static DetectionResult fromNative(float[] r) {
        return new DetectionResult(r[0], r[1], r[2] != 0f, r[3], Provider.fromCode((int) r[4]),
                r[5]);
    }

    @Override
    public String toString() {
        return "DetectionResult[attack=" + attackScore + ", live=" + liveScore + ", isAttack="
                + isAttack + ", threshold=" + threshold + ", provider=" + provider
                + ", latencyMs=" + latencyMs + "]";
    }
}

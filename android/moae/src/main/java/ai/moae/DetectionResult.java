package ai.moae;

import java.util.Arrays;

/** One decision: scores in [0, 1] with attack + live = 1, attack iff attackScore >= threshold. */
public final class DetectionResult {
    public final float attackScore;
    public final float liveScore;
    public final boolean isAttack;
    public final float threshold;
    public final Provider provider;
    /** Wall time of preprocessing + inference inside the native library. */
    public final float latencyMs;

    /** The attack-type probabilities, null when the model has no attack-type head. */
    private final float[] attackType;

    /** Class order of {@link #attackTypeProbabilities()} (spec §6's fine-grained labels). */
    public static final String[] ATTACK_TYPES = {"live", "physical", "adversarial", "digital"};

    /** Floats in a detection record ({@code pack::detection}, android/jni/src/pack.rs). */
    static final int LEN = 11;

    private DetectionResult(float[] r) {
        attackScore = r[0];
        liveScore = r[1];
        isAttack = r[2] != 0f;
        threshold = r[3];
        provider = Provider.fromCode((int) r[4]);
        latencyMs = r[5];
        attackType = readAttackType(r, 6);
    }

    /**
     * Reads a record of {@code pack::detection} (android/jni/src/pack.rs): attack, live,
     * isAttack, threshold, provider, latencyMs, hasAttackType, then the four attack-type
     * probabilities (C {@code moae_result}'s fields in its order).
     */
    static DetectionResult fromNative(float[] r) {
        if (r.length != LEN) {
            throw new MoaeException(MoaeException.Status.INVALID_ARGUMENT,
                    "libmoae_jni returned a detection of " + r.length + " values, expected "
                            + LEN + ": ship the Java classes and libmoae_jni.so from one build");
        }
        return new DetectionResult(r);
    }

    /**
     * A record's {@code hasAttackType} flag at {@code at} and the probabilities after it,
     * checked (fail closed); null when the flag is 0.
     */
    static float[] readAttackType(float[] v, int at) throws MoaeException {
        if (v[at] == 0f) {
            return null;
        }
        float[] p = new float[ATTACK_TYPES.length];
        System.arraycopy(v, at + 1, p, 0, p.length);
        float sum = 0f;
        boolean ok = v[at] == 1f;
        for (float x : p) {
            ok &= x >= 0f && x <= 1f;
            sum += x;
        }
        if (!ok || Math.abs(sum - 1f) > 1e-3f) {
            throw new MoaeException(MoaeException.Status.INVALID_ARGUMENT,
                    "libmoae_jni returned attack-type probabilities " + Arrays.toString(p)
                            + " (flag " + v[at] + "; expected four values in [0, 1] summing to "
                            + "1): ship the Java classes and libmoae_jni.so from one build");
        }
        return p;
    }

    /**
     * Whether the model has an attack-type head (live, physical, adversarial, digital); false
     * for a model without one: there are then no probabilities, not zeros.
     */
    public boolean hasAttackType() {
        return attackType != null;
    }

    /**
     * The attack-type probabilities in {@link #ATTACK_TYPES} order, summing to 1 (a copy). The
     * decision stays {@link #attackScore} against {@link #threshold}.
     *
     * @throws IllegalStateException when {@link #hasAttackType()} is false (the model has no
     *     attack-type head).
     */
    public float[] attackTypeProbabilities() {
        if (attackType == null) {
            throw new IllegalStateException("the model has no attack-type head: no attack-type "
                    + "probabilities (check hasAttackType() first)");
        }
        return attackType.clone();
    }

    @Override
    public String toString() {
        return "DetectionResult[attack=" + attackScore + ", live=" + liveScore + ", isAttack="
                + isAttack + ", threshold=" + threshold + ", provider=" + provider
                + ", latencyMs=" + latencyMs
                + (attackType == null ? "" : ", attackType=" + Arrays.toString(attackType))
                + "]";
    }
}

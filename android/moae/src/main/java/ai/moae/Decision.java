package ai.moae;

/** The verdict on one face (C: {@code moae_decision}; codes live 0, attack 1, unsure 2). */
public enum Decision {
    /** Attack score below the threshold and every quality check passed. */
    LIVE(0),
    /** Attack score at or above the threshold and every quality check passed. */
    ATTACK(1),
    /**
     * A quality check failed (see {@link FaceResult#qualityFlags}): the score is computed and
     * returned, but not trusted. Ask the user to fix what the flags say and try again.
     */
    UNSURE(2);

    public final int code;

    Decision(int code) {
        this.code = code;
    }

    static Decision fromCode(int code) {
        for (Decision d : values()) {
            if (d.code == code) {
                return d;
            }
        }
        // Fail closed: an unknown verdict from a newer library is not "live".
        throw new MoaeException(MoaeException.Status.INVALID_ARGUMENT,
                "decision code " + code + " is unknown to this Java API: update the AAR");
    }
}

package ai.moae;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * Why a frame or face is not trusted (C: {@code MOAE_QUALITY_*} bits, the same bits in
 * Swift). Any flag on a face makes its {@link Decision} {@code UNSURE}.
 */
public enum QualityFlag {
    /** Frame level: the detector found no face. */
    NO_FACE(1 << 0),
    /** Frame level, and on every face: more than one face (unless allowed in the options). */
    SEVERAL_FACES(1 << 1),
    TOO_SMALL(1 << 2),
    PARTLY_OUTSIDE(1 << 3),
    TOO_DARK(1 << 4),
    TOO_BRIGHT(1 << 5),
    BLURRED(1 << 6),
    HEAD_ROLL(1 << 7),
    HEAD_YAW(1 << 8);

    public final int bit;

    QualityFlag(int bit) {
        this.bit = bit;
    }

    /** The flags set in {@code bits}; bits this version does not know are ignored here. */
    public static Set<QualityFlag> fromBits(int bits) {
        EnumSet<QualityFlag> out = EnumSet.noneOf(QualityFlag.class);
        for (QualityFlag f : values()) {
            if ((bits & f.bit) != 0) {
                out.add(f);
            }
        }
        return Collections.unmodifiableSet(out);
    }
}

package ai.moae;

/**
 * A caller's face box and how to read it: in the upright, un-mirrored frame (what every result
 * uses) or in the raw buffer as passed (before mirroring and rotation, e.g. MediaPipe on iOS),
 * in pixels or normalised to 0..1 of that image's width and height (Vision-style, top-left
 * origin). Boxes smaller than the runtime's minimum face size (16 upright pixels) fail with
 * {@code INVALID_FACE_BOX}: a wrong box is never scored.
 */
public final class BoxInput {
    /** Which image the coordinates refer to (C: {@code MOAE_BOX_UPRIGHT 0, MOAE_BOX_RAW 1}). */
    public enum Space {
        UPRIGHT(0),
        RAW(1);

        final int code;

        Space(int code) {
            this.code = code;
        }
    }

    /** C: {@code MOAE_UNITS_PIXELS 0, MOAE_UNITS_NORMALIZED 1}. */
    public enum Units {
        PIXELS(0),
        NORMALIZED(1);

        final int code;

        Units(int code) {
            this.code = code;
        }
    }

    public final FaceBox rect;
    public final Space space;
    public final Units units;

    public BoxInput(FaceBox rect, Space space, Units units) {
        this.rect = rect;
        this.space = space == null ? Space.UPRIGHT : space;
        this.units = units == null ? Units.PIXELS : units;
    }

    /** A box in upright, un-mirrored frame pixels (what {@link FaceBox} alone means). */
    public static BoxInput upright(FaceBox rect) {
        return new BoxInput(rect, Space.UPRIGHT, Units.PIXELS);
    }

    /** The layout {@code NativeBridge.analyze*} reads (android/jni/src/frame.rs). */
    static float[] pack(BoxInput[] boxes) {
        if (boxes == null) {
            return new float[0];
        }
        float[] out = new float[boxes.length * 6];
        for (int i = 0; i < boxes.length; i++) {
            BoxInput b = boxes[i];
            if (b == null || b.rect == null) {
                throw new NullPointerException(
                        "box " + i + " is null: pass a BoxInput with a FaceBox");
            }
            out[6 * i] = b.rect.x;
            out[6 * i + 1] = b.rect.y;
            out[6 * i + 2] = b.rect.width;
            out[6 * i + 3] = b.rect.height;
            out[6 * i + 4] = b.space.code;
            out[6 * i + 5] = b.units.code;
        }
        return out;
    }

    @Override
    public String toString() {
        return "BoxInput[" + rect + ", " + space + ", " + units + "]";
    }
}

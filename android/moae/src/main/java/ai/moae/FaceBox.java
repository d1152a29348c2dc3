package ai.moae;

/**
 * A face rectangle in pixels of the UPRIGHT frame (after rotation), like {@code RectF} but
 * free of {@code android.*} so it works in host tests. Validated by the native side.
 */
public final class FaceBox {
    public final float x;
    public final float y;
    public final float width;
    public final float height;

    public FaceBox(float x, float y, float width, float height) {
        this.x = x;
        this.y = y;
        this.width = width;
        this.height = height;
    }

    /** From {@code RectF}-style edges. */
    public static FaceBox fromEdges(float left, float top, float right, float bottom) {
        return new FaceBox(left, top, right - left, bottom - top);
    }

    /**
     * The same box mirrored left-right in an image {@code imageWidth} pixels wide: converts a
     * box taken from a mirrored (selfie) preview into the un-mirrored frame, and back.
     */
    public FaceBox flippedHorizontally(float imageWidth) {
        return new FaceBox(imageWidth - x - width, y, width, height);
    }

    float[] toArray() {
        return new float[] {x, y, width, height};
    }

    @Override
    public String toString() {
        return "FaceBox[x=" + x + ", y=" + y + ", w=" + width + ", h=" + height + "]";
    }
}

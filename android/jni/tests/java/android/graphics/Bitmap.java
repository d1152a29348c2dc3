package android.graphics;

import java.nio.Buffer;
import java.nio.ByteBuffer;

/**
 * HOST-TEST STAND-IN for {@code android.graphics.Bitmap}: the members
 * {@code ai.moae.android.MoaeAndroid} calls, with Android's signatures; pixels are RGBA rows of
 * {@code rowBytes}, as {@code copyPixelsToBuffer} writes an ARGB_8888 bitmap. Never packaged.
 */
public final class Bitmap {
    public enum Config { ALPHA_8, RGB_565, ARGB_4444, ARGB_8888 }

    private final int width;
    private final int height;
    private final int rowBytes;
    private final Config config;
    private final byte[] pixels;

    public Bitmap(int width, int height, int rowBytes, Config config, byte[] pixels) {
        this.width = width;
        this.height = height;
        this.rowBytes = rowBytes;
        this.config = config;
        this.pixels = pixels;
    }

    public int getWidth() {
        return width;
    }

    public int getHeight() {
        return height;
    }

    public int getRowBytes() {
        return rowBytes;
    }

    public Config getConfig() {
        return config;
    }

    public void copyPixelsToBuffer(Buffer dst) {
        ((ByteBuffer) dst).put(pixels);
    }
}

package android.media;

import java.nio.ByteBuffer;

/**
 * HOST-TEST STAND-IN for {@code android.media.Image}: the members
 * {@code ai.moae.android.MoaeAndroid} calls, with Android's signatures. Never packaged.
 */
public abstract class Image implements AutoCloseable {
    public abstract int getWidth();

    public abstract int getHeight();

    public abstract Plane[] getPlanes();

    @Override
    public abstract void close();

    public abstract static class Plane {
        public abstract int getRowStride();

        public abstract int getPixelStride();

        public abstract ByteBuffer getBuffer();
    }
}

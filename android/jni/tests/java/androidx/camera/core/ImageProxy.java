package androidx.camera.core;

import java.nio.ByteBuffer;

/**
 * HOST-TEST STAND-IN for CameraX's {@code androidx.camera.core.ImageProxy} (camera-core
 * 1.4): only the members {@code ai.moae.camerax.MoaeCameraX} calls, with CameraX's exact
 * names and signatures, so that the helper compiles and runs on a host JVM. Never packaged.
 */
public interface ImageProxy extends AutoCloseable {
    @Override
    void close();

    int getFormat();

    int getWidth();

    int getHeight();

    PlaneProxy[] getPlanes();

    ImageInfo getImageInfo();

    interface PlaneProxy {
        int getRowStride();

        int getPixelStride();

        ByteBuffer getBuffer();
    }
}

package androidx.camera.core;

/** HOST-TEST STAND-IN for CameraX's {@code ImageInfo}: the one member the helper calls. */
public interface ImageInfo {
    int getRotationDegrees();
}

package androidx.camera.core;

/** HOST-TEST STAND-IN for CameraX's {@code ImageAnalysis}: only its {@code Analyzer}. */
public final class ImageAnalysis {
    private ImageAnalysis() {}

    public interface Analyzer {
        void analyze(ImageProxy image);
    }
}

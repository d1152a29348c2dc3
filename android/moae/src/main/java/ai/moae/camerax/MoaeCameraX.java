package ai.moae.camerax;

import ai.moae.BoxInput;
import ai.moae.FrameAnalysis;
import ai.moae.MoaeDetector;
import ai.moae.MoaeException;
import ai.moae.MoaeFrame;
import ai.moae.PixelFormat;
import androidx.annotation.NonNull;
import androidx.annotation.Nullable;
import androidx.camera.core.ImageAnalysis;
import androidx.camera.core.ImageProxy;
import java.util.concurrent.atomic.AtomicLong;

/**
 * CameraX adapters: an {@link ImageProxy} of {@code ImageAnalysis} as a {@link MoaeFrame}
 * (the three output formats: {@code OUTPUT_IMAGE_FORMAT_YUV_420_888} (1),
 * {@code OUTPUT_IMAGE_FORMAT_RGBA_8888} (2) and {@code OUTPUT_IMAGE_FORMAT_NV21} (3, CameraX
 * 1.4+), with the rotation from {@code imageInfo.getRotationDegrees()}), and a ready
 * {@link ImageAnalysis.Analyzer} that drops frames once the detector is closed.
 *
 * <p>CameraX is a {@code compileOnly} dependency of the AAR: this class is the only one that
 * references it, and apps that do not use it do not need CameraX (consumer-rules.pro has the
 * matching {@code -dontwarn}). Uses no {@code android.*} class, so it is compiled and tested on
 * a host JVM against stand-ins of the three CameraX types it calls.
 *
 * <p>Mirroring: CameraX analysis frames are not mirrored, front camera included (only the
 * preview on screen is). {@link #frame(ImageProxy)} therefore says {@code mirrored = false};
 * use {@link #frame(ImageProxy, boolean)} only for a pipeline that flips its buffers. A box
 * from a mirrored selfie preview is converted with {@code FaceBox.flippedHorizontally}.
 */
public final class MoaeCameraX {
    /**
     * {@code ImageProxy.getFormat()} of YUV_420_888 output: {@code ImageFormat.YUV_420_888}.
     * (The {@code ImageAnalysis.OUTPUT_IMAGE_FORMAT_*} constants set on the builder are other
     * numbers: YUV_420_888 = 1, RGBA_8888 = 2, NV21 = 3.)
     */
    public static final int FORMAT_YUV_420_888 = 0x23;
    /** {@code ImageProxy.getFormat()} of RGBA_8888 output: {@code PixelFormat.RGBA_8888}. */
    public static final int FORMAT_RGBA_8888 = 1;
    /** {@code ImageProxy.getFormat()} of NV21 output: {@code ImageFormat.NV21}. */
    public static final int FORMAT_NV21 = 0x11;

    private MoaeCameraX() {}

    /** The frame of a CameraX analysis image (not mirrored: see the class comment). */
    @NonNull
    public static MoaeFrame frame(@NonNull ImageProxy image) {
        return frame(image, false);
    }

    /**
     * The frame of {@code image}: its planes read in place (no copy; valid until the image is
     * closed), its rotation, and {@code mirrored} as given. The whole buffer is used: a crop
     * rect set by a CameraX {@code ViewPort} ({@code image.getCropRect()}) is not applied, so
     * boxes and results are in the full buffer's (upright) pixels.
     *
     * <p>YUV_420_888 and NV21 output come as three planes (Y, U, V; NV21's U and V are views
     * of one interleaved VU buffer, pixel stride 2) and are read as such; an NV21 image of two
     * planes (Y, then interleaved VU) is read as NV21. RGBA_8888: one plane of 4-byte pixels.
     * Another format is {@link MoaeException} {@code UNKNOWN_FORMAT}; an image whose planes
     * do not match its format is {@code INVALID_FRAME}.
     */
    @NonNull
    public static MoaeFrame frame(@NonNull ImageProxy image, boolean mirrored) {
        if (image == null) {
            throw new NullPointerException("image is null: pass the analyzer's ImageProxy");
        }
        ImageProxy.PlaneProxy[] p = image.getPlanes();
        int rotation = image.getImageInfo().getRotationDegrees();
        int format = image.getFormat();
        MoaeFrame.Builder b;
        if ((format == FORMAT_YUV_420_888 || format == FORMAT_NV21) && p.length == 3) {
            if (p[1].getRowStride() != p[2].getRowStride()
                    || p[1].getPixelStride() != p[2].getPixelStride()) {
                throw new MoaeException(MoaeException.Status.INVALID_FRAME,
                        "U and V planes differ in row or pixel stride (" + p[1].getRowStride()
                                + "/" + p[1].getPixelStride() + " vs " + p[2].getRowStride()
                                + "/" + p[2].getPixelStride() + "): not a YUV 4:2:0 layout "
                                + "this library reads");
            }
            b = MoaeFrame.builder(PixelFormat.YUV_420_888, image.getWidth(), image.getHeight())
                    .plane(0, p[0].getBuffer(), p[0].getRowStride())
                    .plane(1, p[1].getBuffer(), p[1].getRowStride())
                    .plane(2, p[2].getBuffer(), p[2].getRowStride())
                    .pixelStride(p[1].getPixelStride());
        } else if (format == FORMAT_NV21 && p.length == 2) {
            if (p[0].getRowStride() != p[1].getRowStride() || p[1].getPixelStride() != 2) {
                throw new MoaeException(MoaeException.Status.INVALID_FRAME,
                        "NV21 ImageProxy: the VU plane has row stride " + p[1].getRowStride()
                                + " and pixel stride " + p[1].getPixelStride() + ", expected "
                                + "the Y row stride " + p[0].getRowStride() + " and 2");
            }
            b = MoaeFrame.builder(PixelFormat.NV21, image.getWidth(), image.getHeight())
                    .plane(0, p[0].getBuffer(), p[0].getRowStride())
                    .plane(1, p[1].getBuffer(), p[1].getRowStride());
        } else if (format == FORMAT_YUV_420_888 || format == FORMAT_NV21) {
            throw new MoaeException(MoaeException.Status.INVALID_FRAME,
                    (format == FORMAT_NV21 ? "NV21" : "YUV_420_888") + " ImageProxy has "
                            + p.length + " planes, expected 3 (Y, U, V)"
                            + (format == FORMAT_NV21 ? " or 2 (Y, VU)" : ""));
        } else if (format == FORMAT_RGBA_8888) {
            if (p.length != 1 || p[0].getPixelStride() != 4) {
                throw new MoaeException(MoaeException.Status.INVALID_FRAME,
                        "RGBA_8888 ImageProxy has " + p.length + " planes with pixel stride "
                                + (p.length > 0 ? p[0].getPixelStride() : 0)
                                + ", expected 1 plane of 4-byte pixels");
            }
            b = MoaeFrame.builder(PixelFormat.RGBA, image.getWidth(), image.getHeight())
                    .plane(0, p[0].getBuffer(), p[0].getRowStride());
        } else {
            throw new MoaeException(MoaeException.Status.UNKNOWN_FORMAT,
                    "ImageProxy format " + format + " is not supported: build the "
                            + "ImageAnalysis with setOutputImageFormat("
                            + "OUTPUT_IMAGE_FORMAT_YUV_420_888 (1), OUTPUT_IMAGE_FORMAT_RGBA_8888 "
                            + "(2) or OUTPUT_IMAGE_FORMAT_NV21 (3))");
        }
        return b.rotation(rotation).mirrored(mirrored).build();
    }

    /**
     * Analyses one image (the detector's faces, or {@code boxes}). Does not close the image.
     * Throws {@link MoaeException} with status CLOSED if the detector was closed.
     */
    @NonNull
    public static FrameAnalysis analyze(@NonNull MoaeDetector detector,
            @NonNull ImageProxy image, @Nullable BoxInput... boxes) {
        if (detector == null) {
            throw new NullPointerException("detector is null");
        }
        return detector.analyze(frame(image), boxes);
    }

    /** Receives what {@link FrameAnalyzer} finds; called on the analysis executor. */
    public interface Listener {
        /** One analysed frame. The image is closed after this returns. */
        void onAnalysis(@NonNull FrameAnalysis analysis);

        /** A frame could not be analysed (bad frame, inference error); not CLOSED. */
        void onError(@NonNull MoaeException error);
    }

    /** An analyzer for {@code ImageAnalysis.setAnalyzer(executor, ...)}. */
    @NonNull
    public static FrameAnalyzer analyzer(@NonNull MoaeDetector detector,
            @NonNull Listener listener) {
        return new FrameAnalyzer(detector, listener);
    }

    /**
     * Analyses each frame and always closes it. After {@code detector.close()}, frames still
     * queued on the executor are dropped (closed, counted, no listener call, no exception), so
     * the safe order at teardown is simply: {@code imageAnalysis.clearAnalyzer()} (optional),
     * then {@code detector.close()} — which waits for a frame being analysed to finish.
     */
    public static final class FrameAnalyzer implements ImageAnalysis.Analyzer {
        private final MoaeDetector detector;
        private final Listener listener;
        private final AtomicLong dropped = new AtomicLong();

        FrameAnalyzer(MoaeDetector detector, Listener listener) {
            if (detector == null || listener == null) {
                throw new NullPointerException("detector and listener must be non-null");
            }
            this.detector = detector;
            this.listener = listener;
        }

        @Override
        public void analyze(@NonNull ImageProxy image) {
            try {
                if (detector.isClosed()) {
                    dropped.incrementAndGet();
                    return;
                }
                FrameAnalysis a;
                try {
                    a = detector.analyze(frame(image));
                } catch (MoaeException e) {
                    if (e.status() == MoaeException.Status.CLOSED) {
                        dropped.incrementAndGet();
                    } else {
                        listener.onError(e);
                    }
                    return;
                }
                listener.onAnalysis(a);
            } finally {
                if (image != null) {
                    image.close();
                }
            }
        }

        /** Frames dropped because the detector was closed. */
        public long droppedFrames() {
            return dropped.get();
        }
    }
}

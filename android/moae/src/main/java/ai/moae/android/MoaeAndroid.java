package ai.moae.android;

import ai.moae.DetectionResult;
import ai.moae.FaceBox;
import ai.moae.MoaeDetector;
import ai.moae.MoaeException;
import ai.moae.MoaeFrame;
import ai.moae.Options;
import ai.moae.PixelFormat;
import android.content.res.AssetFileDescriptor;
import android.content.res.AssetManager;
import android.graphics.Bitmap;
import android.graphics.RectF;
import android.media.Image;
import androidx.annotation.NonNull;
import androidx.annotation.Nullable;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Android-only adapters around {@link MoaeDetector}: assets, {@link Bitmap} and Camera2
 * {@link Image} (CameraX: {@code ai.moae.camerax.MoaeCameraX}). Kept apart from {@code ai.moae}
 * so the core classes compile on a plain JVM; the host test compiles and runs this class
 * against stand-ins of the four Android classes it calls (android/jni/tests/java/android/).
 */
public final class MoaeAndroid {
    private MoaeAndroid() {}

    /**
     * Loads a model from the APK's assets (e.g. "moae.onnx") without reading it into the Java
     * heap. An asset stored uncompressed (add {@code androidResources { noCompress += "onnx" }}
     * to the app's build.gradle.kts) is memory-mapped through its file descriptor
     * ({@code AssetManager.openFd}) and read in place; a compressed one is streamed once to a
     * temporary file in the app's cache directory ({@code java.io.tmpdir}) and loaded from there.
     * A missing asset is {@link MoaeException} {@code IO}.
     */
    @NonNull
    public static MoaeDetector fromAsset(@NonNull AssetManager assets, @NonNull String name,
            @Nullable Options options) {
        if (assets == null || name == null) {
            throw new NullPointerException("assets and name must be non-null");
        }
        ByteBuffer mapped;
        try {
            mapped = mapAsset(assets, name);
        } catch (IOException e) {
            mapped = null; // compressed (or not mappable): stream it below
        }
        if (mapped != null) {
            return MoaeDetector.fromBuffer(mapped, options);
        }
        try (InputStream in = assets.open(name)) {
            return MoaeDetector.fromStream(in, options);
        } catch (IOException e) {
            throw new MoaeException(MoaeException.Status.IO,
                    "asset '" + name + "' could not be opened: " + e.getMessage()
                            + " (is it under src/main/assets?)");
        }
    }

    /**
     * The uncompressed asset's bytes mapped read-only; {@link IOException} when it is
     * compressed ({@code openFd} refuses those) or absent.
     */
    private static ByteBuffer mapAsset(AssetManager assets, String name) throws IOException {
        try (AssetFileDescriptor afd = assets.openFd(name)) {
            // The stream is not closed: its descriptor belongs to afd (closed above), and the
            // mapping stays valid after the descriptor is closed.
            @SuppressWarnings("resource")
            FileChannel channel = new FileInputStream(afd.getFileDescriptor()).getChannel();
            return channel.map(FileChannel.MapMode.READ_ONLY, afd.getStartOffset(),
                    afd.getLength());
        }
    }

    public static FaceBox box(RectF r) {
        return r == null ? null : FaceBox.fromEdges(r.left, r.top, r.right, r.bottom);
    }

    /** An ARGB_8888 bitmap (copied once into a direct buffer; reuse {@code scratch}). */
    public static DetectionResult detect(MoaeDetector detector, Bitmap bitmap,
            int rotationDegrees, RectF face, ByteBuffer scratch) {
        if (bitmap == null) {
            throw new NullPointerException("bitmap is null");
        }
        if (bitmap.getConfig() != Bitmap.Config.ARGB_8888) {
            throw new MoaeException(MoaeException.Status.INVALID_FRAME,
                    "bitmap config " + bitmap.getConfig() + " is not ARGB_8888: "
                            + "use bitmap.copy(Bitmap.Config.ARGB_8888, false)");
        }
        int bytes = bitmap.getRowBytes() * bitmap.getHeight();
        ByteBuffer buf = scratch != null && scratch.isDirect() && scratch.capacity() >= bytes
                ? scratch : ByteBuffer.allocateDirect(bytes);
        buf.clear();
        bitmap.copyPixelsToBuffer(buf);
        buf.flip();
        return detector.detect(buf, PixelFormat.RGBA, bitmap.getWidth(),
                bitmap.getHeight(), bitmap.getRowBytes(), rotationDegrees, box(face));
    }

    /**
     * A Camera2 {@code ImageReader} image in YUV_420_888 as a frame (planes read in place,
     * valid until the image is closed). Camera2 frames are not mirrored, front camera
     * included; {@code rotationDegrees} comes from the sensor orientation and device rotation.
     */
    public static MoaeFrame frame(Image image, int rotationDegrees) {
        if (image == null) {
            throw new NullPointerException("image is null");
        }
        Image.Plane[] p = image.getPlanes();
        if (p.length != 3) {
            throw new MoaeException(MoaeException.Status.INVALID_FRAME,
                    "image has " + p.length + " planes, expected YUV_420_888 (3)");
        }
        return MoaeFrame.builder(PixelFormat.YUV_420_888, image.getWidth(), image.getHeight())
                .plane(0, p[0].getBuffer(), p[0].getRowStride())
                .plane(1, p[1].getBuffer(), p[1].getRowStride())
                .plane(2, p[2].getBuffer(), p[2].getRowStride())
                .pixelStride(p[1].getPixelStride()).rotation(rotationDegrees).build();
    }

    /** Scores of one face box of a Camera2 image (use {@code analyze(frame(...))} for the
     *  detector). Not closed here. */
    public static DetectionResult detect(MoaeDetector detector, Image image,
            int rotationDegrees, RectF face) {
        return detector.detect(frame(image, rotationDegrees), box(face));
    }
}

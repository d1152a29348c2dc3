package ai.moae;

import androidx.annotation.NonNull;
import androidx.annotation.Nullable;

import java.nio.ByteBuffer;

/**
 * One camera frame, described once: pixel format, size, up to three planes with their row
 * strides, the chroma pixel stride of {@code YUV_420_888}, the rotation that makes it upright,
 * whether the buffer is mirrored, and the YUV range. Built with {@link #builder}; immutable.
 * Replaces the positional-argument calls ({@code detectYuv420888(y, u, v, yRowStride,
 * uvRowStride, uvPixelStride, w, h, rotation, box)}, now deprecated).
 *
 * <pre>{@code
 * MoaeFrame frame = MoaeFrame.builder(PixelFormat.YUV_420_888, width, height)
 *         .plane(0, yBuffer, yRowStride)
 *         .plane(1, uBuffer, uvRowStride)
 *         .plane(2, vBuffer, uvRowStride)
 *         .pixelStride(2)
 *         .rotation(270)           // ImageInfo.getRotationDegrees()
 *         .build();
 * }</pre>
 *
 * <p>Geometry (the same in C, Swift and Java): the upright, un-mirrored frame is
 * {@code rotate_cw(flip_left_right_if_mirrored(buffer), rotation)}, EXIF's order; every box,
 * keypoint and result is in that frame's pixels. Planes are not copied: direct
 * {@link ByteBuffer}s are read in place, heap buffers and {@code byte[]} once per call.
 */
public final class MoaeFrame {
    /** YUV quantisation range of NV21/NV12/I420/YUV_420_888 frames (ignored for RGB/gray). */
    public enum YuvRange {
        /** 0-255 (JFIF): Android camera frames, JPEG. The default. */
        FULL,
        /** 16-235 luma, 16-240 chroma ("video", "studio" range): most video decoders. */
        LIMITED
    }

    /** The YCbCr -> RGB matrix of YUV frames (C: {@code moae_yuv_matrix}). */
    public enum YuvMatrix {
        /** ITU-R BT.601: Android camera frames (JFIF), SD video. The default. */
        BT601,
        /** ITU-R BT.709: HD video (e.g. decoded 720p/1080p streams). */
        BT709
    }

    final PixelFormat format;
    final int width;
    final int height;
    final int rotation;
    final boolean mirrored;
    final YuvRange yuvRange;
    final YuvMatrix yuvMatrix;
    /** byte[] or ByteBuffer (or null) per plane. */
    final Object[] planes;
    final int[] strides;
    final int pixelStride;

    private MoaeFrame(Builder b) {
        this.format = b.format;
        this.width = b.width;
        this.height = b.height;
        this.rotation = b.rotation;
        this.mirrored = b.mirrored;
        this.yuvRange = b.yuvRange;
        this.yuvMatrix = b.yuvMatrix;
        this.planes = b.planes.clone();
        this.strides = b.strides.clone();
        this.pixelStride = b.pixelStride;
    }

    /** A builder for a frame of this format and buffer size (before rotation). */
    @NonNull
    public static Builder builder(@NonNull PixelFormat format, int width, int height) {
        return new Builder(format, width, height);
    }

    public PixelFormat format() {
        return format;
    }

    /** Width of the buffer as stored (before rotation). */
    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    public int rotation() {
        return rotation;
    }

    public boolean mirrored() {
        return mirrored;
    }

    @NonNull
    public YuvMatrix yuvMatrix() {
        return yuvMatrix;
    }

    @NonNull
    public YuvRange yuvRange() {
        return yuvRange;
    }

    /** Width of the upright frame: {@link #height()} when the rotation is 90 or 270. */
    public int uprightWidth() {
        return rotation == 90 || rotation == 270 ? height : width;
    }

    public int uprightHeight() {
        return rotation == 90 || rotation == 270 ? width : height;
    }

    /** The same planes with another rotation and mirroring (e.g. after the device turned). */
    @NonNull
    public MoaeFrame withOrientation(int rotationDegrees, boolean mirrored) {
        Builder b = new Builder(format, width, height);
        System.arraycopy(planes, 0, b.planes, 0, 3);
        System.arraycopy(strides, 0, b.strides, 0, 3);
        b.pixelStride = pixelStride;
        b.yuvRange = yuvRange;
        b.yuvMatrix = yuvMatrix;
        return b.rotation(rotationDegrees).mirrored(mirrored).buildUnchecked();
    }

    /** The description {@code NativeBridge} passes (layout: android/jni/src/frame.rs). */
    int[] nativeInts() {
        return new int[] {format.code, width, height, rotation, mirrored ? 1 : 0,
            yuvRange == YuvRange.LIMITED ? 1 : 0, strides[0], strides[1], strides[2],
            pixelStride, yuvMatrix == YuvMatrix.BT709 ? 1 : 0};
    }

    @Override
    public String toString() {
        return "MoaeFrame[" + format + " " + width + "x" + height + ", rotation=" + rotation
                + ", mirrored=" + mirrored + ", " + yuvRange + ", " + yuvMatrix + "]";
    }

    /**
     * Collects a frame's description; {@link #build()} checks what Java can (nulls, plane
     * count of the format); sizes and strides are checked by the native library, with the
     * same statuses and messages as the C ABI.
     */
    public static final class Builder {
        private final PixelFormat format;
        private final int width;
        private final int height;
        private int rotation = 0;
        private boolean mirrored = false;
        private YuvRange yuvRange = YuvRange.FULL;
        private YuvMatrix yuvMatrix = YuvMatrix.BT601;
        private final Object[] planes = new Object[3];
        private final int[] strides = new int[3];
        private int pixelStride = 1;

        private Builder(PixelFormat format, int width, int height) {
            this.format = format;
            this.width = width;
            this.height = height;
        }

        /**
         * Plane {@code index} (0 = Y or the packed pixels, 1 = U or interleaved chroma, 2 = V)
         * with its row stride in bytes (0 = packed rows). A buffer's remaining bytes are used.
         */
        @NonNull
        public Builder plane(int index, @NonNull ByteBuffer data, int rowStride) {
            return setPlane(index, data, rowStride);
        }

        /** Like {@link #plane(int, ByteBuffer, int)} for a byte array (all of it). */
        @NonNull
        public Builder plane(int index, @NonNull byte[] data, int rowStride) {
            return setPlane(index, data, rowStride);
        }

        private Builder setPlane(int index, Object data, int rowStride) {
            if (index < 0 || index > 2) {
                throw new IndexOutOfBoundsException("plane index " + index + ": use 0, 1 or 2");
            }
            planes[index] = data;
            strides[index] = rowStride;
            return this;
        }

        /** Bytes between adjacent chroma samples of {@code YUV_420_888} (1 or 2). */
        @NonNull
        public Builder pixelStride(int uvPixelStride) {
            this.pixelStride = uvPixelStride;
            return this;
        }

        /** Clockwise degrees that make the frame upright: 0, 90, 180 or 270. */
        @NonNull
        public Builder rotation(int degrees) {
            this.rotation = degrees;
            return this;
        }

        /**
         * True when the buffer holds the mirror image of the scene (flipped left-right before
         * the rotation, as EXIF orientations 2, 4, 5 and 7). Camera frames from Camera1,
         * Camera2 and CameraX analysis are NOT mirrored, front camera included (only the
         * on-screen preview is): leave this false for them.
         */
        @NonNull
        public Builder mirrored(boolean mirrored) {
            this.mirrored = mirrored;
            return this;
        }

        @NonNull
        public Builder yuvRange(@Nullable YuvRange range) {
            this.yuvRange = range == null ? YuvRange.FULL : range;
            return this;
        }

        /** The YCbCr matrix of a YUV frame ({@code null} = BT.601, the default). */
        @NonNull
        public Builder yuvMatrix(@Nullable YuvMatrix matrix) {
            this.yuvMatrix = matrix == null ? YuvMatrix.BT601 : matrix;
            return this;
        }

        /**
         * The frame. A null format or a missing plane the format needs is a
         * {@link NullPointerException} (NV21/NV12/I420 may be one buffer in plane 0, chroma
         * after luma); planes 1 or 2 on a packed format an {@link IllegalArgumentException}.
         * Sizes and strides are checked by the native library when the frame is used
         * ({@link MoaeException} {@code INVALID_FRAME}).
         */
        @NonNull
        public MoaeFrame build() {
            Checks.nonNull(format, "format");
            Checks.nonNull(planes[0], "plane 0 of the " + format + " frame");
            if (format == PixelFormat.YUV_420_888) {
                Checks.nonNull(planes[1], "YUV_420_888 plane 1 (U)");
                Checks.nonNull(planes[2], "YUV_420_888 plane 2 (V)");
            }
            Checks.argument(!format.isPacked() || (planes[1] == null && planes[2] == null),
                    format + " is a packed format with one plane: planes 1 and 2 must be null");
            return new MoaeFrame(this);
        }

        MoaeFrame buildUnchecked() {
            return new MoaeFrame(this);
        }
    }
}

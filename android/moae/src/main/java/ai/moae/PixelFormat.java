package ai.moae;

/** Frame layouts; {@link #code} is the C ABI's {@code moae_pixel_format} value. */
public enum PixelFormat {
    RGB(0, 3),
    BGR(1, 3),
    /** {@code Bitmap.Config.ARGB_8888} after {@code copyPixelsToBuffer}: bytes R,G,B,A. */
    RGBA(2, 4),
    BGRA(3, 4),
    GRAY(4, 1),
    /** Camera1 preview and {@code YuvImage}: Y plane, then interleaved V,U. */
    NV21(5, 0),
    NV12(6, 0),
    I420(7, 0),
    /** {@code ImageFormat.YUV_420_888} planes (CameraX ImageProxy, Camera2 Image). */
    YUV_420_888(8, 0);

    final int code;
    /** Bytes per pixel of a packed format; 0 for planar ones. */
    final int bytesPerPixel;

    PixelFormat(int code, int bytesPerPixel) {
        this.code = code;
        this.bytesPerPixel = bytesPerPixel;
    }

    public boolean isPacked() {
        return bytesPerPixel > 0;
    }
}

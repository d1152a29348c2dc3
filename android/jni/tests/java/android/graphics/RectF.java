package android.graphics;

/** HOST-TEST STAND-IN for {@code android.graphics.RectF}: its public edges. Never packaged. */
public class RectF {
    public float left;
    public float top;
    public float right;
    public float bottom;

    public RectF(float left, float top, float right, float bottom) {
        this.left = left;
        this.top = top;
        this.right = right;
        this.bottom = bottom;
    }
}

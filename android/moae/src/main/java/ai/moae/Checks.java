package ai.moae;

/** Argument checks of the Java API: programmer errors are the standard unchecked exceptions. */
final class Checks {
    private Checks() {}

    /** {@link NullPointerException} naming the argument and what to pass instead. */
    static <T> T nonNull(T value, String what) {
        if (value == null) {
            throw new NullPointerException(what + " is null: pass a non-null value");
        }
        return value;
    }

    /** {@link IllegalArgumentException} with {@code message} unless {@code ok}. */
    static void argument(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }
}

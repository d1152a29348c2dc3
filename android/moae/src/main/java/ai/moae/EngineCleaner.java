package ai.moae;

import java.lang.ref.PhantomReference;
import java.lang.ref.ReferenceQueue;
import java.util.Collections;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Frees the native engine of a {@link MoaeDetector} the app dropped without {@code close()}:
 * the same mechanism as {@code java.lang.ref.Cleaner} (a phantom reference and one daemon
 * thread), written out because {@code Cleaner} exists on Android only from API 33 and this
 * library supports API 24. The action never references the detector (else it would never
 * become unreachable); it is the detector's {@code Engine}, whose write lock also waits for a
 * call still running on a detector the JIT already considers unreachable.
 */
final class EngineCleaner {
    private EngineCleaner() {}

    private static final ReferenceQueue<Object> QUEUE = new ReferenceQueue<>();
    /** Keeps the references reachable until they are cleaned. */
    private static final Set<Cleanable> PENDING =
            Collections.newSetFromMap(new ConcurrentHashMap<Cleanable, Boolean>());
    private static Thread thread;

    /** A registration: {@link #clean()} runs the action at most once, from either side. */
    static final class Cleanable extends PhantomReference<Object> {
        private final Runnable action;

        Cleanable(Object owner, Runnable action) {
            super(owner, QUEUE);
            this.action = action;
        }

        /** Runs the action if it has not run yet (explicit close, or the owner was dropped). */
        void clean() {
            if (PENDING.remove(this)) {
                clear();
                action.run();
            }
        }
    }

    /** Runs {@code action} once {@code owner} is unreachable, unless cleaned before. */
    static Cleanable register(Object owner, Runnable action) {
        Cleanable c = new Cleanable(owner, action);
        PENDING.add(c);
        startThread();
        return c;
    }

    private static synchronized void startThread() {
        if (thread != null) {
            return;
        }
        thread = new Thread(EngineCleaner::drain, "moae-engine-cleaner");
        thread.setDaemon(true);
        thread.start();
    }

    private static void drain() {
        while (true) {
            try {
                ((Cleanable) QUEUE.remove()).clean();
            } catch (InterruptedException e) {
                // A daemon thread: nothing else stops it; keep serving.
            } catch (Throwable t) {
                // The action frees native memory and does not throw; never let the thread die.
            }
        }
    }
}

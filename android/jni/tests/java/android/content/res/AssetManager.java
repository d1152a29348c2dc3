package android.content.res;

import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * HOST-TEST STAND-IN for {@code android.content.res.AssetManager}: the members
 * {@code ai.moae.android.MoaeAndroid} calls ({@code open(String)}, {@code openFd(String)},
 * Android's signatures). The assets are written one after another into one file, as an APK
 * stores them, so that {@code openFd} hands out a descriptor of that file with the asset's
 * offset; {@code openFd} refuses compressed assets with {@link FileNotFoundException}, as
 * Android does. Never packaged.
 */
public final class AssetManager {
    private final Map<String, byte[]> assets;
    private final Set<String> compressed;
    private final File apk;
    private final Map<String, long[]> offsets = new HashMap<>();
    /** Descriptors handed out by {@link #openFd} (tests check the mapped path was taken). */
    public int descriptorsOpened = 0;

    /** {@code assets} by name; those in {@code compressed} cannot be opened by descriptor. */
    public AssetManager(Map<String, byte[]> assets, Set<String> compressed, File apk)
            throws IOException {
        this.assets = assets;
        this.compressed = compressed;
        this.apk = apk;
        long at = 0;
        try (RandomAccessFile out = new RandomAccessFile(apk, "rw")) {
            for (Map.Entry<String, byte[]> e : assets.entrySet()) {
                // A local-file-header-sized gap before each asset: offsets are never 0.
                at += 30 + e.getKey().length();
                out.seek(at);
                out.write(e.getValue());
                offsets.put(e.getKey(), new long[] {at, e.getValue().length});
                at += e.getValue().length;
            }
        }
    }

    public InputStream open(String fileName) throws IOException {
        byte[] b = assets.get(fileName);
        if (b == null) {
            throw new FileNotFoundException(fileName);
        }
        return new ByteArrayInputStream(b);
    }

    public AssetFileDescriptor openFd(String fileName) throws IOException {
        long[] at = offsets.get(fileName);
        if (at == null) {
            throw new FileNotFoundException(fileName);
        }
        if (compressed.contains(fileName)) {
            throw new FileNotFoundException("This file can not be opened as a file descriptor; "
                    + "it is probably compressed");
        }
        descriptorsOpened++;
        return new AssetFileDescriptor(new RandomAccessFile(apk, "r"), at[0], at[1]);
    }
}

package android.content.res;

import java.io.ByteArrayInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

/**
 * HOST-TEST STAND-IN for {@code android.content.res.AssetManager}: the one member
 * {@code ai.moae.android.MoaeAndroid} calls ({@code open(String)}, Android's signature), over
 * an in-memory map. Never packaged.
 */
public final class AssetManager {
    private final Map<String, byte[]> assets;

    public AssetManager(Map<String, byte[]> assets) {
        this.assets = assets;
    }

    public InputStream open(String fileName) throws IOException {
        byte[] b = assets.get(fileName);
        if (b == null) {
            throw new FileNotFoundException(fileName);
        }
        return new ByteArrayInputStream(b);
    }
}

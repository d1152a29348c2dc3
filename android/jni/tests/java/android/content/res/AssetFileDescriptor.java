package android.content.res;

import java.io.Closeable;
import java.io.FileDescriptor;
import java.io.IOException;
import java.io.RandomAccessFile;

/**
 * HOST-TEST STAND-IN for {@code android.content.res.AssetFileDescriptor}: the members
 * {@code ai.moae.android.MoaeAndroid} calls (Android's signatures): a descriptor of the file
 * holding the asset (the APK), the asset's offset in it and its length. Never packaged.
 */
public final class AssetFileDescriptor implements Closeable {
    private final RandomAccessFile file;
    private final long startOffset;
    private final long length;

    AssetFileDescriptor(RandomAccessFile file, long startOffset, long length) {
        this.file = file;
        this.startOffset = startOffset;
        this.length = length;
    }

    public FileDescriptor getFileDescriptor() {
        try {
            return file.getFD();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public long getStartOffset() {
        return startOffset;
    }

    public long getLength() {
        return length;
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}

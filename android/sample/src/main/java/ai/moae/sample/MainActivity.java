package ai.moae.sample;

import ai.moae.Decision;
import ai.moae.FaceResult;
import ai.moae.FrameAnalysis;
import ai.moae.MoaeDetector;
import ai.moae.MoaeException;
import ai.moae.Options;
import ai.moae.android.MoaeAndroid;
import ai.moae.camerax.MoaeCameraX;
import android.Manifest;
import android.content.pm.PackageManager;
import android.os.Bundle;
import android.widget.TextView;
import androidx.annotation.NonNull;
import androidx.appcompat.app.AppCompatActivity;
import androidx.camera.core.CameraSelector;
import androidx.camera.core.ImageAnalysis;
import androidx.camera.core.Preview;
import androidx.camera.lifecycle.ProcessCameraProvider;
import androidx.camera.view.PreviewView;
import androidx.core.content.ContextCompat;
import com.google.common.util.concurrent.ListenableFuture;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Front-camera liveness with CameraX. Geometry is right by construction: the analysis frames
 * are the camera's unmirrored buffers with {@code getRotationDegrees()} (MoaeCameraX reads
 * both), and only the on-screen preview is mirrored (by PreviewView). Assets (not committed):
 * {@code moae.onnx} (the liveness model) and {@code face_detection_front_128x128.onnx}.
 */
public final class MainActivity extends AppCompatActivity {
    private static final int CAMERA_REQUEST = 1;
    private static final String MODEL_ASSET = "moae.onnx";
    private static final String DETECTOR_ASSET = "face_detection_front_128x128.onnx";

    private final ExecutorService analysisExecutor = Executors.newSingleThreadExecutor();
    private MoaeDetector detector;
    private ProcessCameraProvider cameraProvider;
    private ImageAnalysis analysis;
    private TextView verdict;

    @Override
    protected void onCreate(Bundle savedInstanceState) {
        super.onCreate(savedInstanceState);
        setContentView(R.layout.activity_main);
        verdict = findViewById(R.id.verdict);
        if (ContextCompat.checkSelfPermission(this, Manifest.permission.CAMERA)
                == PackageManager.PERMISSION_GRANTED) {
            start();
        } else {
            requestPermissions(new String[] {Manifest.permission.CAMERA}, CAMERA_REQUEST);
        }
    }

    @Override
    public void onRequestPermissionsResult(int requestCode, @NonNull String[] permissions,
            @NonNull int[] results) {
        super.onRequestPermissionsResult(requestCode, permissions, results);
        if (requestCode == CAMERA_REQUEST && results.length > 0
                && results[0] == PackageManager.PERMISSION_GRANTED) {
            start();
        } else {
            verdict.setText("The camera permission is needed to check liveness.");
        }
    }

    private void start() {
        try {
            // The detector is a path (the runtime reads it natively); the liveness model is
            // mapped from the APK (uncompressed asset, see build.gradle.kts).
            String detectorPath = copyAssetOnce(DETECTOR_ASSET).getPath();
            detector = MoaeAndroid.fromAsset(getAssets(), MODEL_ASSET,
                    Options.builder().faceDetectorPath(detectorPath).threads(2).build());
        } catch (IOException | MoaeException e) {
            verdict.setText("Could not load the models: " + e.getMessage());
            return;
        }
        ListenableFuture<ProcessCameraProvider> future = ProcessCameraProvider.getInstance(this);
        future.addListener(() -> {
            try {
                bind(future.get());
            } catch (Exception e) {
                verdict.setText("Camera unavailable: " + e.getMessage());
            }
        }, ContextCompat.getMainExecutor(this));
    }

    private void bind(ProcessCameraProvider provider) {
        cameraProvider = provider;
        Preview preview = new Preview.Builder().build();
        preview.setSurfaceProvider(
                ((PreviewView) findViewById(R.id.preview)).getSurfaceProvider());
        analysis = new ImageAnalysis.Builder()
                // NV21 (CameraX 1.4+): one interleaved chroma plane, read in place.
                .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_NV21)
                .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                .build();
        analysis.setAnalyzer(analysisExecutor, MoaeCameraX.analyzer(detector,
                new MoaeCameraX.Listener() {
                    @Override
                    public void onAnalysis(@NonNull FrameAnalysis a) {
                        String text = describe(a);
                        runOnUiThread(() -> verdict.setText(text));
                    }

                    @Override
                    public void onError(@NonNull MoaeException e) {
                        runOnUiThread(() -> verdict.setText("Frame failed: " + e.status()));
                    }
                }));
        provider.unbindAll();
        provider.bindToLifecycle(this, CameraSelector.DEFAULT_FRONT_CAMERA, preview, analysis);
    }

    static String describe(FrameAnalysis a) {
        if (!a.hasFace()) {
            return "No face: look at the camera.";
        }
        FaceResult f = a.faces.get(0);
        if (f.decision == Decision.UNSURE) {
            return "Unsure: " + f.qualityFlags + " - adjust and hold still.";
        }
        return (f.decision == Decision.LIVE ? "Live" : "Attack")
                + String.format(" (attack score %.3f)", f.detection.attackScore);
    }

    /** Copies an asset to no-backup storage the first time (a path for the detector). */
    private File copyAssetOnce(String name) throws IOException {
        File out = new File(getNoBackupFilesDir(), name);
        if (!out.isFile()) {
            File tmp = new File(out.getPath() + ".part");
            try (InputStream in = getAssets().open(name);
                    OutputStream os = new FileOutputStream(tmp)) {
                byte[] buf = new byte[1 << 16];
                for (int n; (n = in.read(buf)) > 0; ) {
                    os.write(buf, 0, n);
                }
            }
            if (!tmp.renameTo(out)) {
                throw new IOException("could not move " + tmp + " to " + out);
            }
        }
        return out;
    }

    @Override
    protected void onDestroy() {
        // The safe order of README.md ("Closing safely").
        if (analysis != null) {
            analysis.clearAnalyzer();
        }
        if (cameraProvider != null) {
            cameraProvider.unbindAll();
        }
        if (detector != null) {
            detector.close();
        }
        analysisExecutor.shutdown();
        super.onDestroy();
    }
}

plugins {
    id("com.android.library")
}

android {
    namespace = "ai.moae"
    compileSdk = 35

    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
        ndk {
            // The ABIs ../build-native.sh builds into src/main/jniLibs.
            abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_1_8
        targetCompatibility = JavaVersion.VERSION_1_8
    }

    // libmoae_jni.so and libonnxruntime.so are prebuilt into src/main/jniLibs/<abi>/ by
    // ../build-native.sh (the default jniLibs source folder): no externalNativeBuild.
    packaging {
        jniLibs {
            // Keep .so files uncompressed and page-aligned in the APK (loaded in place).
            useLegacyPackaging = false
        }
    }
}

dependencies {
    // Only for ai.moae.android.MoaeAndroid's ImageProxy adapter; apps using CameraX have it.
    compileOnly("androidx.camera:camera-core:1.4.1")
    // ONNX Runtime's native library is packed by build-native.sh from the onnxruntime-android
    // AAR; do NOT also depend on com.microsoft.onnxruntime:onnxruntime-android here (two
    // libonnxruntime.so in one APK fail the merge).
}

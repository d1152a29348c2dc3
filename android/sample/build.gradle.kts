// Sample app: front-camera liveness with CameraX (see README.md, "Sample app").
// Needs the Android SDK and the native libraries from ../build-native.sh; the model and the
// face detector go into src/main/assets (not committed: copy them there, README).
plugins {
    id("com.android.application")
}

android {
    namespace = "ai.moae.sample"
    compileSdk = 35

    defaultConfig {
        applicationId = "ai.moae.sample"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "0.2.0"
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_1_8
        targetCompatibility = JavaVersion.VERSION_1_8
    }

    // Models stay uncompressed in the APK, so MoaeAndroid.fromAsset maps them in place
    // (openFd) instead of streaming them to the cache directory.
    androidResources {
        noCompress += "onnx"
    }
}

val cameraxVersion = "1.4.1"

dependencies {
    implementation(project(":moae"))
    implementation("androidx.camera:camera-core:$cameraxVersion")
    implementation("androidx.camera:camera-camera2:$cameraxVersion")
    implementation("androidx.camera:camera-lifecycle:$cameraxVersion")
    implementation("androidx.camera:camera-view:$cameraxVersion")
    implementation("androidx.appcompat:appcompat:1.7.0")
}

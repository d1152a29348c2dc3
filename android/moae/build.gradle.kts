plugins {
    id("com.android.library")
    `maven-publish`
}

// Maven coordinates of the AAR: ai.moae:moae:<version>.
group = "ai.moae"
version = "0.2.0"

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

    // libmoae_jni.so is prebuilt into src/main/jniLibs/<abi>/ by ../build-native.sh (the
    // default jniLibs source folder): no externalNativeBuild. libonnxruntime.so comes from the
    // onnxruntime-android dependency below, never from jniLibs.
    // The release variant is what maven-publish publishes, with sources for IDEs.
    publishing {
        singleVariant("release") {
            withSourcesJar()
        }
    }

    packaging {
        jniLibs {
            // Keep .so files uncompressed and page-aligned in the APK (loaded in place).
            useLegacyPackaging = false
        }
    }
}

// ONNX Runtime: the official package, pinned. libmoae_jni loads its libonnxruntime.so at run
// time (System.loadLibrary("onnxruntime"), then dlopen by soname), so the app's process has ONE
// ONNX Runtime whether or not the app also uses ORT itself: Gradle resolves every
// onnxruntime-android request in the app to one version (the highest), hence one
// libonnxruntime.so in the APK. moae-runtime needs ORT's C API 1.31 or newer (ort `api-31`):
// an app may raise this version, not lower it below 1.31.
val onnxruntimeVersion = "1.31.1"

dependencies {
    // `implementation`: apps that take this library from a Maven repository get it
    // transitively; apps that add the .aar file directly must declare it too (README).
    implementation("com.microsoft.onnxruntime:onnxruntime-android:$onnxruntimeVersion")
    // Only for ai.moae.camerax.MoaeCameraX; apps using CameraX have it (see consumer-rules.pro
    // for the -dontwarn that lets apps without CameraX minify).
    compileOnly("androidx.camera:camera-core:1.4.1")
    // @NonNull/@Nullable on the API, read by Kotlin as platform-type nullability.
    implementation("androidx.annotation:annotation:1.9.1")
}

// `gradle :moae:publishToMavenLocal` (or `publish` with a repository below) writes the AAR,
// its sources jar, and a POM/Gradle module that carry the onnxruntime-android dependency, so
// apps get ONNX Runtime transitively.
publishing {
    publications {
        register<MavenPublication>("release") {
            groupId = "ai.moae"
            artifactId = "moae"
            version = project.version.toString()
            afterEvaluate {
                from(components["release"])
            }
            pom {
                name.set("libmoae")
                description.set("On-device face liveness (presentation and digital attacks): " +
                    "Java API over the libmoae runtime")
                licenses {
                    license {
                        name.set("Apache-2.0")
                        url.set("https://www.apache.org/licenses/LICENSE-2.0")
                    }
                    license {
                        name.set("MIT")
                        url.set("https://opensource.org/licenses/MIT")
                    }
                }
            }
        }
    }
    repositories {
        // A file repository for checking the layout; CI replaces it with the real one
        // (credentials from the environment, never committed).
        maven {
            name = "buildRepo"
            url = uri(layout.buildDirectory.dir("repo"))
        }
    }
}

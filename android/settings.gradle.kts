// Android library project of libmoae's Java API. Build: see README.md (needs the Android SDK;
// the native libraries come from ./build-native.sh, which needs the NDK and cargo-ndk).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "moae-android"
include(":moae")
// The CameraX sample app (needs the model files in sample/src/main/assets: README.md).
include(":sample")

// swift-tools-version:6.0
// libmoae's Swift package, at the repository root so that apps add it by URL
// (File > Add Package Dependencies..., or `.package(url: "<this repository>", from: "0.2.0")`).
// Built in the Swift 6 language mode (strict concurrency). Needs Xcode 16+ / Swift 6.
//
// An app's integration is two packages: this one (product `Moae`) and ONNX Runtime's official
// SwiftPM package, which this package depends on for iOS and Mac Catalyst: libmoae's iOS slices
// call ONNX Runtime's C API (OrtGetApiBase) resolved at the app's link against that package's
// static `onnxruntime` framework - no ONNX Runtime source build, nothing to embed or dlopen.
// macOS slices load libonnxruntime.dylib at run time (ORT_DYLIB_PATH or
// MoaeOptions.ortLibraryPath), which is what `swift test` on a Mac uses.
//
// Where the C library (`CMoae`) comes from - exactly one of three, chosen by `cTarget` below:
//  1. default: ios/build/Moae.xcframework from ios/build-xcframework.sh (local path);
//  2. MOAE_LIB_DIR=/path/to/target/release swift test  (macOS development: the module map in
//     ios/Sources/CMoae over include/moae.h, linking libmoae from that folder);
//  3. a released zip: THE ONE EDIT for publishing is to set `release` below to the zip's URL
//     and the checksum build-xcframework.sh printed (it also writes
//     ios/build/Moae.xcframework.zip.checksum), e.g.
//       let release: (url: String, checksum: String)? = (
//           url: "https://example.com/libmoae/0.2.0/Moae.xcframework.zip",
//           checksum: "<64 hex digits from `swift package compute-checksum`>")
//     SwiftPM then downloads the zip and verifies it against the checksum.
import Foundation
import PackageDescription

let release: (url: String, checksum: String)? = nil

/// ONNX Runtime's official Swift package; libmoae needs its C API 1.31 or newer.
let onnxRuntimePackage = "https://github.com/microsoft/onnxruntime-swift-package-manager"
let onnxRuntimeMinimum: Version = "1.31.0"

let localLibDir = ProcessInfo.processInfo.environment["MOAE_LIB_DIR"]

let cTarget: Target
if let localLibDir, !localLibDir.isEmpty {
    cTarget = .systemLibrary(name: "CMoae", path: "ios/Sources/CMoae")
} else if let release {
    cTarget = .binaryTarget(name: "CMoae", url: release.url, checksum: release.checksum)
} else {
    cTarget = .binaryTarget(name: "CMoae", path: "ios/build/Moae.xcframework")
}

let package = Package(
    name: "Moae",
    platforms: [.iOS(.v15), .macOS(.v12), .macCatalyst(.v15)],
    products: [.library(name: "Moae", targets: ["Moae"])],
    dependencies: [
        .package(url: onnxRuntimePackage, from: onnxRuntimeMinimum),
    ],
    targets: [
        cTarget,
        .target(
            name: "Moae",
            dependencies: [
                "CMoae",
                // Statically linked ONNX Runtime for the iOS slices (see the top comment).
                .product(name: "onnxruntime", package: "onnxruntime-swift-package-manager",
                         condition: .when(platforms: [.iOS, .macCatalyst])),
            ],
            path: "ios/Sources/Moae",
            resources: [.copy("PrivacyInfo.xcprivacy")],
            linkerSettings: (localLibDir.map { [.unsafeFlags(["-L", $0])] } ?? [])
                // ONNX Runtime is C++: its static library needs libc++ at the app's link.
                + [.linkedLibrary("c++", .when(platforms: [.iOS, .macCatalyst]))]
        ),
        .testTarget(
            name: "MoaeTests",
            dependencies: ["Moae"],
            path: "ios/Tests/MoaeTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)

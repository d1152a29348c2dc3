// swift-tools-version:6.0
// Swift package over libmoae's C ABI (include/moae.h), built in the Swift 6 language mode
// (strict concurrency: `MoaeDetector` is `@unchecked Sendable`, value types are `Sendable`).
// Needs Xcode 16+ / Swift 6.
//
// Where the C library (`CMoae`) comes from - exactly one of three, chosen by `cTarget` below:
//  1. default: ios/build/Moae.xcframework from ./build-xcframework.sh (local path);
//  2. MOAE_LIB_DIR=/path/to/target/release swift test  (macOS development: the module map in
//     Sources/CMoae over ../include/moae.h, linking libmoae from that folder);
//  3. a released zip: THE ONE EDIT for publishing is to set `release` below to the zip's URL
//     and the checksum build-xcframework.sh printed (it also writes
//     build/Moae.xcframework.zip.checksum), e.g.
//       let release: (url: String, checksum: String)? = (
//           url: "https://example.com/libmoae/0.2.0/Moae.xcframework.zip",
//           checksum: "<64 hex digits from `swift package compute-checksum`>")
//     SwiftPM then downloads the zip and verifies it against the checksum.
import Foundation
import PackageDescription

let release: (url: String, checksum: String)? = nil

let localLibDir = ProcessInfo.processInfo.environment["MOAE_LIB_DIR"]

let cTarget: Target
if let localLibDir, !localLibDir.isEmpty {
    cTarget = .systemLibrary(name: "CMoae", path: "Sources/CMoae")
} else if let release {
    cTarget = .binaryTarget(name: "CMoae", url: release.url, checksum: release.checksum)
} else {
    cTarget = .binaryTarget(name: "CMoae", path: "build/Moae.xcframework")
}

let package = Package(
    name: "Moae",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [.library(name: "Moae", targets: ["Moae"])],
    targets: [
        cTarget,
        .target(
            name: "Moae",
            dependencies: ["CMoae"],
            path: "Sources/Moae",
            linkerSettings: localLibDir.map { [.unsafeFlags(["-L", $0])] } ?? []
        ),
        .testTarget(
            name: "MoaeTests",
            dependencies: ["Moae"],
            path: "Tests/MoaeTests"
        ),
    ],
    swiftLanguageModes: [.v6]
)

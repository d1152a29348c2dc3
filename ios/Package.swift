// swift-tools-version:5.9
// Swift package over libmoae's C ABI (include/moae.h). Two ways to get the C library:
//  - default: ios/build/Moae.xcframework from ./build-xcframework.sh (iOS device, iOS
//    simulator, macOS arm64+x86_64; static libmoae.a + moae.h + module map `CMoae`);
//  - MOAE_LIB_DIR=/path/to/target/release swift test  (macOS development: the module map in
//    Sources/CMoae over ../include/moae.h, linking libmoae from that folder).
import Foundation
import PackageDescription

let localLibDir = ProcessInfo.processInfo.environment["MOAE_LIB_DIR"]

let cTarget: Target = localLibDir == nil
    ? .binaryTarget(name: "CMoae", path: "build/Moae.xcframework")
    : .systemLibrary(name: "CMoae", path: "Sources/CMoae")

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
    ]
)

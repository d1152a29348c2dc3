import CoreVideo
import Foundation
import XCTest

@testable import Moae

/// Swift tests of the wrapper (macOS: `MOAE_LIB_DIR=... swift test`, see ios/README.md).
/// Model-based tests need MOAE_TEST_MODEL (an exported .onnx, e.g. from ./scripts/demo.sh) and
/// ORT_DYLIB_PATH (libonnxruntime.dylib); they are skipped without them.
final class MoaeTests: XCTestCase {
    private func modelOrSkip() throws -> URL {
        guard let path = ProcessInfo.processInfo.environment["MOAE_TEST_MODEL"] else {
            throw XCTSkip("set MOAE_TEST_MODEL to an exported libmoae .onnx")
        }
        return URL(fileURLWithPath: path)
    }

    private func expectStatus(_ status: MoaeError.Status, _ body: () throws -> Void,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard let e = error as? MoaeError else {
                return XCTFail("not a MoaeError: \(error)", file: file, line: line)
            }
            XCTAssertEqual(e.status, status, e.message, file: file, line: line)
            XCTAssertFalse(e.message.isEmpty, file: file, line: line)
        }
    }

    func testBadModelsThrow() {
        expectStatus(.io) {
            _ = try MoaeDetector(contentsOf: URL(fileURLWithPath: "/nonexistent/m.onnx"))
        }
        expectStatus(.model) { _ = try MoaeDetector(modelData: Data("not onnx".utf8)) }
        expectStatus(.model) { _ = try MoaeDetector(modelData: Data()) }
        var o = MoaeOptions()
        o.modelSha256 = Data([1, 2, 3])
        expectStatus(.invalidArgument) { _ = try MoaeDetector(modelData: Data([0]), options: o) }
    }

    func testVersionIsSet() {
        XCTAssertFalse(MoaeDetector.nativeVersion.isEmpty)
    }

    func testDetectAndErrors() throws {
        let det = try MoaeDetector(contentsOf: try modelOrSkip())
        let (w, h) = (64, 48)
        var nv12 = Data(count: w * h * 3 / 2)
        for i in 0..<nv12.count { nv12[i] = UInt8((i * 7 + i / w) % 251) }
        let r = try det.detect(pixels: nv12, format: .nv12, width: w, height: h)
        XCTAssertEqual(r.attackScore + r.liveScore, 1, accuracy: 1e-4)
        XCTAssertEqual(r.isAttack, r.attackScore >= r.threshold)

        expectStatus(.invalidFrame) {
            _ = try det.detect(pixels: nv12.prefix(10), format: .nv12, width: w, height: h)
        }
        expectStatus(.invalidArgument) {
            _ = try det.detect(pixels: nv12, format: .nv12, width: w, height: h, rotation: 45)
        }
        expectStatus(.invalidFaceBox) {
            _ = try det.detect(pixels: nv12, format: .nv12, width: w, height: h,
                               face: FaceBox(x: 1000, y: 1000, width: 5, height: 5))
        }
        det.close()
        det.close()
        XCTAssertTrue(det.isClosed)
        expectStatus(.closed) { _ = try det.detect(pixels: nv12, format: .nv12, width: w, height: h) }
    }

    /// The CVPixelBuffer path gives the same scores as the same bytes passed directly.
    func testPixelBufferMatchesBytes() throws {
        let det = try MoaeDetector(contentsOf: try modelOrSkip())
        let (w, h) = (32, 24)
        var pb: CVPixelBuffer?
        XCTAssertEqual(CVPixelBufferCreate(nil, w, h, kCVPixelFormatType_32BGRA, nil, &pb),
                       kCVReturnSuccess)
        let buffer = try XCTUnwrap(pb)
        CVPixelBufferLockBaseAddress(buffer, [])
        let stride = CVPixelBufferGetBytesPerRow(buffer)
        let base = CVPixelBufferGetBaseAddress(buffer)!.assumingMemoryBound(to: UInt8.self)
        for i in 0..<(stride * h) { base[i] = UInt8((i * 13) % 256) }
        let bytes = Data(bytes: base, count: stride * h)
        CVPixelBufferUnlockBaseAddress(buffer, [])
        let a = try det.detect(pixelBuffer: buffer, rotation: 90)
        let b = try det.detect(pixels: bytes, format: .bgra, width: w, height: h,
                               bytesPerRow: stride, rotation: 90)
        XCTAssertEqual(a.attackScore, b.attackScore, accuracy: 1e-6)
    }

    func testFourThreadsShareOneDetector() throws {
        let det = try MoaeDetector(contentsOf: try modelOrSkip())
        let rgb = Data((0..<(40 * 30 * 3)).map { UInt8($0 % 253) })
        let expected = try det.detect(pixels: rgb, format: .rgb, width: 40, height: 30)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<5 {
                let r = try? det.detect(pixels: rgb, format: .rgb, width: 40, height: 30)
                XCTAssertEqual(r?.attackScore ?? -1, expected.attackScore, accuracy: 1e-5)
            }
        }
    }
}

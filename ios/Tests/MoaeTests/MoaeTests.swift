import CoreVideo
import Foundation
import ImageIO
import XCTest

@testable import Moae

/// Swift tests of the wrapper (macOS: `MOAE_LIB_DIR=... swift test`, see ios/README.md).
/// Model-based tests need MOAE_TEST_MODEL (an exported .onnx, e.g. from ./scripts/demo.sh) and
/// ORT_DYLIB_PATH (libonnxruntime.dylib); they are skipped without them. NOT compiled or run
/// where this was written (Linux, no Swift toolchain): see ios/README.md.
final class MoaeTests: XCTestCase {
    private func modelOrSkip() throws -> URL {
        guard let path = ProcessInfo.processInfo.environment["MOAE_TEST_MODEL"] else {
            throw XCTSkip("set MOAE_TEST_MODEL to an exported libmoae .onnx")
        }
        return URL(fileURLWithPath: path)
    }

    /// Frames without a box are scored whole (pre-cropped test patterns).
    private func wholeFrameOptions() -> MoaeOptions {
        var o = MoaeOptions()
        o.wholeFrame = true
        return o
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
        var both = MoaeOptions()
        both.faceDetectorURL = URL(fileURLWithPath: "/tmp/d.onnx")
        both.faceDetectorData = Data([1])
        expectStatus(.invalidArgument) { _ = try MoaeDetector(modelData: Data([0]), options: both) }
    }

    func testVersionIsSet() {
        XCTAssertFalse(MoaeDetector.nativeVersion.isEmpty)
    }

    /// The EXIF table of the geometry contract, case by case.
    func testOrientationMapsToRotationAndMirroring() {
        let table: [(CGImagePropertyOrientation, Int32, Bool)] = [
            (.up, 0, false), (.upMirrored, 0, true), (.down, 180, false),
            (.downMirrored, 180, true), (.leftMirrored, 270, true), (.right, 90, false),
            (.rightMirrored, 90, true), (.left, 270, false),
        ]
        for (o, rotation, mirrored) in table {
            XCTAssertEqual(FrameOrientation(o), FrameOrientation(rotation: rotation, mirrored: mirrored),
                           "\(o.rawValue)")
        }
        XCTAssertEqual(FaceBox(x: 4, y: 2, width: 24, height: 20).flippedHorizontally(imageWidth: 40),
                       FaceBox(x: 12, y: 2, width: 24, height: 20))
    }

    func testCodesMatchTheCABI() {
        XCTAssertEqual(Decision.unsure.rawValue, 2)
        XCTAssertEqual(FaceSource.wholeFrame.rawValue, 2)
        XCTAssertEqual(QualityFlags.headYaw.rawValue, 1 << 8)
        XCTAssertEqual(BoxInput.Space.raw.rawValue, 1)
        XCTAssertEqual(BoxInput.Units.normalized.rawValue, 1)
        XCTAssertEqual(YuvRange.limited.rawValue, 1)
    }

    func testDetectAndErrors() throws {
        let det = try MoaeDetector(contentsOf: try modelOrSkip(), options: wholeFrameOptions())
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
            _ = try det.detect(pixels: nv12, format: .nv12, width: w, height: h,
                               orientation: FrameOrientation(rotation: 45))
        }
        expectStatus(.invalidFaceBox) {
            _ = try det.detect(pixels: nv12, format: .nv12, width: w, height: h,
                               face: FaceBox(x: 1000, y: 1000, width: 5, height: 5))
        }
        det.close()
        det.close()
        XCTAssertTrue(det.isClosed)
        expectStatus(.closed) { _ = try det.detect(pixels: nv12, format: .nv12, width: w, height: h) }
        expectStatus(.closed) { _ = try det.analyze(pixels: nv12, format: .nv12, width: w, height: h) }
    }

    func testNoBoxNeedsDetectorOrWholeFrame() throws {
        let det = try MoaeDetector(contentsOf: try modelOrSkip())
        let rgb = Data((0..<(40 * 30 * 3)).map { UInt8($0 % 253) })
        expectStatus(.invalidArgument) {
            _ = try det.detect(pixels: rgb, format: .rgb, width: 40, height: 30)
        }
        expectStatus(.invalidArgument) {
            _ = try det.analyze(pixels: rgb, format: .rgb, width: 40, height: 30)
        }
    }

    func testAnalyzeWholeFrameAndCallerBoxes() throws {
        let det = try MoaeDetector(contentsOf: try modelOrSkip(), options: wholeFrameOptions())
        let (w, h) = (64, 48)
        let rgb = Data((0..<(w * h * 3)).map { UInt8(($0 * 13) % 251) })
        let whole = try det.analyze(pixels: rgb, format: .rgb, width: w, height: h)
        XCTAssertEqual(whole.faces.count, 1)
        XCTAssertEqual(whole.faces[0].source, .wholeFrame)
        XCTAssertNil(whole.faces[0].keypoints)
        let scored = try det.detect(pixels: rgb, format: .rgb, width: w, height: h)
        XCTAssertEqual(whole.faces[0].attackScore, scored.attackScore, accuracy: 1e-5)

        let box = FaceBox(x: 8, y: 6, width: 32, height: 32)
        let boxes = [BoxInput(box),
                     BoxInput(FaceBox(x: 8 / Float(w), y: 6 / Float(h), width: 32 / Float(w),
                                      height: 32 / Float(h)),
                              space: .upright, units: .normalized)]
        let a = try det.analyze(pixels: rgb, format: .rgb, width: w, height: h, boxes: boxes)
        XCTAssertEqual(a.faces.count, 2)
        // The same box in pixels and normalised: the same crop and score.
        XCTAssertEqual(a.faces[0].attackScore, a.faces[1].attackScore, accuracy: 1e-5)
        for f in a.faces {
            XCTAssertEqual(f.source, .caller)
            XCTAssertEqual(f.decision == .unsure, !f.qualityFlags.isEmpty)
            if f.qualityFlags.isEmpty {
                XCTAssertEqual(f.decision == .attack, f.attackScore >= f.threshold)
            }
        }
        expectStatus(.invalidFaceBox) {
            _ = try det.analyze(pixels: rgb, format: .rgb, width: w, height: h,
                                boxes: [BoxInput(FaceBox(x: 1, y: 1, width: 4, height: 4))])
        }
    }

    /// The CVPixelBuffer path gives the same scores as the same bytes passed directly, and
    /// `.right` is rotation 90.
    func testPixelBufferMatchesBytes() throws {
        let det = try MoaeDetector(contentsOf: try modelOrSkip(), options: wholeFrameOptions())
        let (w, h) = (32, 24)
        let buffer = try makeBuffer(kCVPixelFormatType_32BGRA, w, h) { plane, base, stride, rows in
            for i in 0..<(stride * rows) { base[i] = UInt8((i * 13) % 256) }
        }
        CVPixelBufferLockBaseAddress(buffer, .readOnly)
        let stride = CVPixelBufferGetBytesPerRow(buffer)
        let bytes = Data(bytes: CVPixelBufferGetBaseAddress(buffer)!, count: stride * h)
        CVPixelBufferUnlockBaseAddress(buffer, .readOnly)
        let a = try det.detect(pixelBuffer: buffer, orientation: .right)
        let b = try det.detect(pixels: bytes, format: .bgra, width: w, height: h,
                               bytesPerRow: stride, orientation: FrameOrientation(rotation: 90))
        XCTAssertEqual(a.attackScore, b.attackScore, accuracy: 1e-6)
        let m = try det.detect(pixelBuffer: buffer, orientation: .rightMirrored)
        let n = try det.detect(pixels: bytes, format: .bgra, width: w, height: h,
                               bytesPerRow: stride,
                               orientation: FrameOrientation(rotation: 90, mirrored: true))
        XCTAssertEqual(m.attackScore, n.attackScore, accuracy: 1e-6)
    }

    /// 420v (video range) and 420f (full range) buffers of the same picture score alike; the
    /// 420v bytes read as full range (the 0.1 behaviour) score differently.
    func testVideoRangeAndFullRangeAgree() throws {
        let det = try MoaeDetector(contentsOf: try modelOrSkip(), options: wholeFrameOptions())
        let (w, h) = (64, 48)
        func luma(_ x: Int, _ y: Int) -> Int { (x * 5 + y * 3) % 256 }
        func chroma(_ x: Int, _ y: Int, _ c: Int) -> Int { (x * 9 + y * 7 + c * 60) % 256 }
        let full = try makeBuffer(kCVPixelFormatType_420YpCbCr8BiPlanarFullRange, w, h) {
            plane, base, stride, rows in
            for y in 0..<rows {
                for x in 0..<(plane == 0 ? w : w / 2) {
                    if plane == 0 {
                        base[y * stride + x] = UInt8(luma(x, y))
                    } else {
                        base[y * stride + 2 * x] = UInt8(chroma(x, y, 0))
                        base[y * stride + 2 * x + 1] = UInt8(chroma(x, y, 1))
                    }
                }
            }
        }
        // The same colours in video range: Y' = 16 + Y * 219/255, C' = 128 + (C-128) * 224/255.
        let video = try makeBuffer(kCVPixelFormatType_420YpCbCr8BiPlanarVideoRange, w, h) {
            plane, base, stride, rows in
            for y in 0..<rows {
                for x in 0..<(plane == 0 ? w : w / 2) {
                    if plane == 0 {
                        base[y * stride + x] = UInt8((16 + Double(luma(x, y)) * 219 / 255).rounded())
                    } else {
                        for c in 0..<2 {
                            let v = 128 + (Double(chroma(x, y, c)) - 128) * 224 / 255
                            base[y * stride + 2 * x + c] = UInt8(v.rounded())
                        }
                    }
                }
            }
        }
        let f = try det.detect(pixelBuffer: full)
        let v = try det.detect(pixelBuffer: video)
        XCTAssertEqual(f.attackScore, v.attackScore, accuracy: 2e-3)
        // Read as full range, the 420v bytes are a washed-out picture: a different score.
        CVPixelBufferLockBaseAddress(video, .readOnly)
        let yStride = CVPixelBufferGetBytesPerRowOfPlane(video, 0)
        let cStride = CVPixelBufferGetBytesPerRowOfPlane(video, 1)
        var nv12 = Data()
        for y in 0..<h {
            nv12.append(Data(bytes: CVPixelBufferGetBaseAddressOfPlane(video, 0)! + y * yStride, count: w))
        }
        for y in 0..<(h / 2) {
            nv12.append(Data(bytes: CVPixelBufferGetBaseAddressOfPlane(video, 1)! + y * cStride, count: w))
        }
        CVPixelBufferUnlockBaseAddress(video, .readOnly)
        let asFull = try det.detect(pixels: nv12, format: .nv12, width: w, height: h)
        let asLimited = try det.detect(pixels: nv12, format: .nv12, width: w, height: h,
                                       yuvRange: .limited)
        XCTAssertEqual(asLimited.attackScore, v.attackScore, accuracy: 1e-6)
        XCTAssertNotEqual(asFull.attackScore, v.attackScore)
    }

    func testFourThreadsShareOneDetector() throws {
        let det = try MoaeDetector(contentsOf: try modelOrSkip(), options: wholeFrameOptions())
        let rgb = Data((0..<(40 * 30 * 3)).map { UInt8($0 % 253) })
        let expected = try det.detect(pixels: rgb, format: .rgb, width: 40, height: 30)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<5 {
                let r = try? det.detect(pixels: rgb, format: .rgb, width: 40, height: 30)
                XCTAssertEqual(r?.attackScore ?? -1, expected.attackScore, accuracy: 1e-5)
            }
        }
    }

    /// Swift concurrency: the detector crosses into tasks (Sendable) and the async variants
    /// give the synchronous results; a close() during them yields results or `.closed` only.
    func testAsyncVariantsAndCloseWhileInFlight() async throws {
        let det = try MoaeDetector(contentsOf: try modelOrSkip(), options: wholeFrameOptions())
        let rgb = Data((0..<(40 * 30 * 3)).map { UInt8($0 % 251) })
        // In an async context Swift picks the async overload; the synchronous one is called
        // from a synchronous helper.
        let sync = try Self.syncDetect(det, rgb)
        let viaAsync: DetectionResult = try await det.detect(pixels: rgb, format: .rgb,
                                                              width: 40, height: 30)
        XCTAssertEqual(sync.attackScore, viaAsync.attackScore, accuracy: 1e-6)
        let analysis: FrameAnalysis = try await det.analyze(pixels: rgb, format: .rgb,
                                                            width: 40, height: 30)
        XCTAssertEqual(analysis.faces.first?.attackScore ?? -1, sync.attackScore, accuracy: 1e-5)

        let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<16 {
                group.addTask {
                    if i == 4 { det.close() }
                    do {
                        _ = try await det.detect(pixels: rgb, format: .rgb, width: 40, height: 30)
                        return "ok"
                    } catch let e as MoaeError where e.status == .closed {
                        return "closed"
                    }
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        XCTAssertEqual(outcomes.count, 16)
        XCTAssertTrue(outcomes.contains("closed"))
        XCTAssertTrue(det.isClosed)
    }

    private static func syncDetect(_ det: MoaeDetector, _ rgb: Data) throws -> DetectionResult {
        try det.detect(pixels: rgb, format: .rgb, width: 40, height: 30)
    }

    private func makeBuffer(_ format: OSType, _ w: Int, _ h: Int,
                            fill: (Int, UnsafeMutablePointer<UInt8>, Int, Int) -> Void) throws
        -> CVPixelBuffer {
        var pb: CVPixelBuffer?
        XCTAssertEqual(CVPixelBufferCreate(nil, w, h, format, nil, &pb), kCVReturnSuccess)
        let buffer = try XCTUnwrap(pb)
        CVPixelBufferLockBaseAddress(buffer, [])
        defer { CVPixelBufferUnlockBaseAddress(buffer, []) }
        if CVPixelBufferIsPlanar(buffer) {
            for p in 0..<CVPixelBufferGetPlaneCount(buffer) {
                let base = CVPixelBufferGetBaseAddressOfPlane(buffer, p)!
                    .assumingMemoryBound(to: UInt8.self)
                fill(p, base, CVPixelBufferGetBytesPerRowOfPlane(buffer, p),
                     CVPixelBufferGetHeightOfPlane(buffer, p))
            }
        } else {
            let base = CVPixelBufferGetBaseAddress(buffer)!.assumingMemoryBound(to: UInt8.self)
            fill(0, base, CVPixelBufferGetBytesPerRow(buffer), h)
        }
        return buffer
    }
}

import CMoae
import CoreMedia
import CoreVideo
import Foundation
import ImageIO

/// Face anti-spoofing detector over libmoae (mirror of Android's `ai.moae.MoaeDetector`):
/// camera frames in, decisions with reasons out.
///
/// ```swift
/// var o = MoaeOptions()
/// o.faceDetectorURL = Bundle.main.url(forResource: "face_detection_front_128x128",
///                                     withExtension: "onnx")
/// let detector = try MoaeDetector(bundleResource: "moae", options: o)
/// // AVCaptureVideoDataOutputSampleBufferDelegate, front camera in portrait:
/// let analysis = try await detector.analyze(sampleBuffer: sampleBuffer, orientation: .leftMirrored)
/// for face in analysis.faces { ... face.decision, face.qualityFlags, face.box ... }
/// ```
///
/// Thread-safe (`Sendable`): any number of threads or tasks may call `analyze`/`detect` at
/// once; `close()` takes the write side of a read-write lock, so it waits for running calls, is
/// idempotent, and afterwards every call throws `MoaeError` with status `.closed`. `deinit`
/// closes. The `async` variants run the call on a global dispatch queue, never on the caller's
/// actor.
public final class MoaeDetector: @unchecked Sendable {
    // @unchecked: `engine` is only read under the read lock and written under the write lock;
    // the C engine itself is thread-safe (moae.h: all engine functions take it const).
    private var engine: OpaquePointer?
    // Heap-allocated: a pthread lock must not move, which a Swift stored property may.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t> = {
        let l = UnsafeMutablePointer<pthread_rwlock_t>.allocate(capacity: 1)
        pthread_rwlock_init(l, nil)
        return l
    }()

    /// Loads an ONNX model exported by `trainer export`.
    public init(contentsOf url: URL, options: MoaeOptions = MoaeOptions()) throws {
        engine = try Self.withCOptions(options) { opts in
            var out: OpaquePointer?
            let status = url.path.withCString { CABI.createFromFile($0, opts, &out) }
            guard cInt(status) == 0, let engine = out else { throw MoaeError.from(status) }
            return engine
        }
    }

    /// Loads a model from memory.
    public init(modelData: Data, options: MoaeOptions = MoaeOptions()) throws {
        engine = try Self.withCOptions(options) { opts in
            var out: OpaquePointer?
            let status = modelData.withUnsafeBytes { raw in
                CABI.createFromMemory(raw.bindMemory(to: UInt8.self).baseAddress, raw.count,
                                      opts, &out)
            }
            guard cInt(status) == 0, let engine = out else { throw MoaeError.from(status) }
            return engine
        }
    }

    /// The Android "asset" path: a model shipped in the app bundle.
    public convenience init(bundleResource name: String, withExtension ext: String = "onnx",
                            bundle: Bundle = .main, options: MoaeOptions = MoaeOptions()) throws {
        guard let url = bundle.url(forResource: name, withExtension: ext) else {
            throw MoaeError(code: MoaeError.Status.io.rawValue,
                            message: "resource \(name).\(ext) is not in bundle \(bundle.bundlePath)")
        }
        try self.init(contentsOf: url, options: options)
    }

    deinit {
        close()
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    public static var nativeVersion: String {
        CABI.versionString().map { String(cString: $0) } ?? "?"
    }

    /// Frees the native engine after running calls finish. Safe to call twice.
    public func close() {
        pthread_rwlock_wrlock(lock)
        let e = engine
        engine = nil
        pthread_rwlock_unlock(lock)
        if let e { CABI.destroy(e) }
    }

    public var isClosed: Bool { withEngine { $0 } == nil }

    public func info() throws -> DetectorInfo {
        try withLiveEngine { e in
            var info = moae_engine_info()
            info.struct_size = UInt32(MemoryLayout<moae_engine_info>.size)
            let status = CABI.getInfo(e, &info)
            guard cInt(status) == 0 else { throw MoaeError.from(status) }
            return DetectorInfo(
                provider: Provider(rawValue: info.provider) ?? .cpu,
                inputSize: Int(info.input_size),
                threshold: info.threshold,
                thresholdCalibrated: info.threshold_calibrated != 0,
                modelSha256: Self.string(fromTuple: info.model_sha256),
                precision: Self.string(fromTuple: info.precision),
                ortVersion: Self.string(fromTuple: info.ort_version),
                ortLibraryPath: Self.string(fromTuple: info.ort_library_path),
                fallbackReason: Self.string(fromTuple: info.fallback_reason))
        }
    }

    // MARK: - analyze: frame in, decision out

    /// A camera frame: the face detector finds the faces (`MoaeOptions.faceDetectorURL`), or
    /// `boxes` are used in order. Every face gets its box, keypoints, scores, quality and a
    /// `Decision`; a frame without a face gives no faces and `.noFace`.
    /// `orientation`: how the buffer relates to the upright scene, e.g. `.leftMirrored` for a
    /// front camera in portrait with the connection's default (landscape) buffers and
    /// `isVideoMirrored`, `.right` for the back camera in portrait.
    public func analyze(pixelBuffer: CVPixelBuffer,
                        orientation: CGImagePropertyOrientation = .up,
                        boxes: [BoxInput] = []) throws -> FrameAnalysis {
        try withFrame(of: pixelBuffer) { frame in
            try analyze(frame: frame, orientation: FrameOrientation(orientation), boxes: boxes)
        }
    }

    /// `AVCaptureVideoDataOutput`'s sample buffer (its image buffer; see
    /// `analyze(pixelBuffer:orientation:boxes:)`).
    public func analyze(sampleBuffer: CMSampleBuffer,
                        orientation: CGImagePropertyOrientation = .up,
                        boxes: [BoxInput] = []) throws -> FrameAnalysis {
        try analyze(pixelBuffer: try Self.imageBuffer(of: sampleBuffer),
                    orientation: orientation, boxes: boxes)
    }

    /// One packed frame (RGB/BGR/RGBA/BGRA/GRAY) or a contiguous NV21/NV12/I420 buffer
    /// (chroma right after luma). `bytesPerRow` 0 = packed rows.
    public func analyze(pixels: Data, format: PixelFormat, width: Int, height: Int,
                        bytesPerRow: Int = 0, orientation: FrameOrientation = .up,
                        yuvRange: YuvRange = .full, yuvMatrix: YuvMatrix = .bt601,
                        boxes: [BoxInput] = []) throws -> FrameAnalysis {
        try withFrame(pixels: pixels, format: format, width: width, height: height,
                      bytesPerRow: bytesPerRow, yuvRange: yuvRange,
                      yuvMatrix: yuvMatrix) { frame in
            try analyze(frame: frame, orientation: orientation, boxes: boxes)
        }
    }

    // MARK: - detect: scores of one caller box

    /// Liveness scores of one face box in upright pixels (no quality checks, no detector);
    /// `face` nil = the whole frame, which needs `MoaeOptions.wholeFrame`.
    public func detect(pixels: Data, format: PixelFormat, width: Int, height: Int,
                       bytesPerRow: Int = 0, orientation: FrameOrientation = .up,
                       yuvRange: YuvRange = .full, yuvMatrix: YuvMatrix = .bt601,
                       face: FaceBox? = nil) throws -> DetectionResult {
        try withFrame(pixels: pixels, format: format, width: width, height: height,
                      bytesPerRow: bytesPerRow, yuvRange: yuvRange,
                      yuvMatrix: yuvMatrix) { frame in
            try detect(frame: frame, orientation: orientation, face: face)
        }
    }

    /// The 0.1 signature (clockwise degrees, never mirrored).
    @available(*, deprecated, message: "use detect(pixels:...orientation: FrameOrientation(rotation:))")
    public func detect(pixels: Data, format: PixelFormat, width: Int, height: Int,
                       bytesPerRow: Int = 0, rotation: Int,
                       face: FaceBox? = nil) throws -> DetectionResult {
        try detect(pixels: pixels, format: format, width: width, height: height,
                   bytesPerRow: bytesPerRow,
                   orientation: FrameOrientation(rotation: Int32(truncatingIfNeeded: rotation)),
                   face: face)
    }

    /// A camera frame: 420f (full range) and 420v (video range) NV12, and BGRA. Locked
    /// read-only for the call; nothing is copied.
    public func detect(pixelBuffer: CVPixelBuffer,
                       orientation: CGImagePropertyOrientation = .up,
                       face: FaceBox? = nil) throws -> DetectionResult {
        try withFrame(of: pixelBuffer) { frame in
            try detect(frame: frame, orientation: FrameOrientation(orientation), face: face)
        }
    }

    public func detect(sampleBuffer: CMSampleBuffer,
                       orientation: CGImagePropertyOrientation = .up,
                       face: FaceBox? = nil) throws -> DetectionResult {
        try detect(pixelBuffer: try Self.imageBuffer(of: sampleBuffer),
                   orientation: orientation, face: face)
    }

    /// The 0.1 signature (clockwise degrees, never mirrored).
    @available(*, deprecated, message: "use detect(pixelBuffer:orientation:face:) with a CGImagePropertyOrientation")
    public func detect(pixelBuffer: CVPixelBuffer, rotation: Int,
                       face: FaceBox? = nil) throws -> DetectionResult {
        try withFrame(of: pixelBuffer) { frame in
            try detect(frame: frame,
                       orientation: FrameOrientation(rotation: Int32(truncatingIfNeeded: rotation)),
                       face: face)
        }
    }

    // MARK: - async variants (Swift concurrency)

    public func analyze(pixelBuffer: CVPixelBuffer,
                        orientation: CGImagePropertyOrientation = .up,
                        boxes: [BoxInput] = []) async throws -> FrameAnalysis {
        let buffer = UncheckedSendable(pixelBuffer)
        return try await offload {
            try self.analyze(pixelBuffer: buffer.value, orientation: orientation, boxes: boxes)
        }
    }

    public func analyze(sampleBuffer: CMSampleBuffer,
                        orientation: CGImagePropertyOrientation = .up,
                        boxes: [BoxInput] = []) async throws -> FrameAnalysis {
        let buffer = UncheckedSendable(try Self.imageBuffer(of: sampleBuffer))
        return try await offload {
            try self.analyze(pixelBuffer: buffer.value, orientation: orientation, boxes: boxes)
        }
    }

    public func analyze(pixels: Data, format: PixelFormat, width: Int, height: Int,
                        bytesPerRow: Int = 0, orientation: FrameOrientation = .up,
                        yuvRange: YuvRange = .full, yuvMatrix: YuvMatrix = .bt601,
                        boxes: [BoxInput] = []) async throws -> FrameAnalysis {
        try await offload {
            try self.analyze(pixels: pixels, format: format, width: width, height: height,
                             bytesPerRow: bytesPerRow, orientation: orientation,
                             yuvRange: yuvRange, yuvMatrix: yuvMatrix, boxes: boxes)
        }
    }

    public func detect(pixelBuffer: CVPixelBuffer,
                       orientation: CGImagePropertyOrientation = .up,
                       face: FaceBox? = nil) async throws -> DetectionResult {
        let buffer = UncheckedSendable(pixelBuffer)
        return try await offload {
            try self.detect(pixelBuffer: buffer.value, orientation: orientation, face: face)
        }
    }

    public func detect(pixels: Data, format: PixelFormat, width: Int, height: Int,
                       bytesPerRow: Int = 0, orientation: FrameOrientation = .up,
                       yuvRange: YuvRange = .full, yuvMatrix: YuvMatrix = .bt601,
                       face: FaceBox? = nil) async throws -> DetectionResult {
        try await offload {
            try self.detect(pixels: pixels, format: format, width: width, height: height,
                            bytesPerRow: bytesPerRow, orientation: orientation,
                            yuvRange: yuvRange, yuvMatrix: yuvMatrix, face: face)
        }
    }

    // MARK: - internals

    struct Plane {
        var base: UnsafePointer<UInt8>?
        var size: Int
        var stride: Int
    }

    /// A frame's description, valid while its planes are (inside a `withFrame` call).
    struct Frame {
        var planes: [Plane]
        var format: PixelFormat
        var width: Int
        var height: Int
        var yuvRange: YuvRange
        var yuvMatrix: YuvMatrix = .bt601
    }

    /// A CVPixelBuffer that crosses into the async variants' queue. The caller hands it over
    /// for the call's duration (camera buffers are not written after delivery); it is only
    /// read, under CVPixelBufferLockBaseAddress(.readOnly).
    private struct UncheckedSendable<T>: @unchecked Sendable {
        let value: T
        init(_ value: T) { self.value = value }
    }

    private func offload<T: Sendable>(
        _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global(qos: .userInitiated).async {
                continuation.resume(with: Result { try body() })
            }
        }
    }

    private static func imageBuffer(of sampleBuffer: CMSampleBuffer) throws -> CVPixelBuffer {
        guard let buffer = CMSampleBufferGetImageBuffer(sampleBuffer) else {
            throw MoaeError(code: MoaeError.Status.nullArgument.rawValue,
                            message: "the CMSampleBuffer has no image buffer "
                                + "(CMSampleBufferGetImageBuffer returned nil)")
        }
        return buffer
    }

    private func withFrame<T>(pixels: Data, format: PixelFormat, width: Int, height: Int,
                              bytesPerRow: Int, yuvRange: YuvRange, yuvMatrix: YuvMatrix,
                              _ body: (Frame) throws -> T) throws -> T {
        try pixels.withUnsafeBytes { raw in
            let base = raw.bindMemory(to: UInt8.self).baseAddress
            let stride = bytesPerRow > 0 ? bytesPerRow
                : (format.bytesPerPixel > 0 ? width * format.bytesPerPixel : width)
            var planes: [Plane] = [Plane(base: base, size: raw.count, stride: stride)]
            if format.bytesPerPixel == 0 {
                planes = Self.splitContiguous(format: format, base: base, size: raw.count,
                                              stride: stride, width: width, height: height)
            }
            return try body(Frame(planes: planes, format: format, width: width,
                                  height: height, yuvRange: yuvRange, yuvMatrix: yuvMatrix))
        }
    }

    /// The planes of a camera buffer, locked read-only for `body`. 420f and 420v are NV12 with
    /// full and limited ("video") range: the range goes to libmoae (`moae_image.yuv_range`),
    /// which converts each correctly; BGRA has no range. The YCbCr matrix comes from the
    /// buffer's `kCVImageBufferYCbCrMatrixKey` attachment (`moae_image.yuv_matrix`).
    private func withFrame<T>(of pixelBuffer: CVPixelBuffer,
                              _ body: (Frame) throws -> T) throws -> T {
        let type = CVPixelBufferGetPixelFormatType(pixelBuffer)
        let range: YuvRange
        switch type {
        case kCVPixelFormatType_420YpCbCr8BiPlanarFullRange: range = .full
        case kCVPixelFormatType_420YpCbCr8BiPlanarVideoRange: range = .limited
        case kCVPixelFormatType_32BGRA: range = .full
        default:
            throw MoaeError(code: MoaeError.Status.unknownFormat.rawValue,
                            message: "CVPixelBuffer format \(Self.fourCC(type)) is not "
                                + "supported: use 420f, 420v (420YpCbCr8BiPlanarFull/VideoRange) "
                                + "or BGRA (AVCaptureVideoDataOutput.videoSettings)")
        }
        guard CVPixelBufferLockBaseAddress(pixelBuffer, .readOnly) == kCVReturnSuccess else {
            throw MoaeError(code: MoaeError.Status.invalidFrame.rawValue,
                            message: "CVPixelBufferLockBaseAddress failed")
        }
        defer { CVPixelBufferUnlockBaseAddress(pixelBuffer, .readOnly) }
        let width = CVPixelBufferGetWidth(pixelBuffer)
        let height = CVPixelBufferGetHeight(pixelBuffer)
        if type == kCVPixelFormatType_32BGRA {
            let stride = CVPixelBufferGetBytesPerRow(pixelBuffer)
            let base = CVPixelBufferGetBaseAddress(pixelBuffer)?
                .assumingMemoryBound(to: UInt8.self)
            let plane = Plane(base: UnsafePointer(base), size: stride * height, stride: stride)
            return try body(Frame(planes: [plane], format: .bgra, width: width,
                                  height: height, yuvRange: .full))
        }
        let planes = (0..<2).map { i -> Plane in
            let stride = CVPixelBufferGetBytesPerRowOfPlane(pixelBuffer, i)
            let rows = CVPixelBufferGetHeightOfPlane(pixelBuffer, i)
            let base = CVPixelBufferGetBaseAddressOfPlane(pixelBuffer, i)?
                .assumingMemoryBound(to: UInt8.self)
            return Plane(base: UnsafePointer(base), size: stride * rows, stride: stride)
        }
        return try body(Frame(planes: planes, format: .nv12, width: width, height: height,
                              yuvRange: range, yuvMatrix: Self.yuvMatrix(of: pixelBuffer)))
    }

    /// The buffer's YCbCr matrix tag: ITU-R BT.709 (HD capture) or BT.601; a buffer without
    /// the tag is taken as BT.601 (SD video, JPEG), and BT.2020 (HDR capture, not one of the
    /// formats accepted above) as its nearest, BT.709.
    static func yuvMatrix(of pixelBuffer: CVPixelBuffer) -> YuvMatrix {
        guard let tag = CVBufferCopyAttachment(pixelBuffer, kCVImageBufferYCbCrMatrixKey, nil)
        else { return .bt601 }
        let name = tag as? String
        if name == (kCVImageBufferYCbCrMatrix_ITU_R_709_2 as String)
            || name == (kCVImageBufferYCbCrMatrix_ITU_R_2020 as String) {
            return .bt709
        }
        return .bt601
    }

    /// `moae_image` for `frame` (pointers valid while the frame's planes are).
    private static func cImage(_ frame: Frame, _ orientation: FrameOrientation) throws -> moae_image {
        let (width, height) = (frame.width, frame.height)
        guard width >= 0, height >= 0, width <= Int(UInt32.max), height <= Int(UInt32.max) else {
            throw MoaeError(code: MoaeError.Status.invalidFrame.rawValue,
                            message: "frame size \(width)x\(height) is out of range")
        }
        var image = moae_image()
        CABI.imageInitSized(&image, MemoryLayout<moae_image>.size)
        image.format = frame.format.rawValue
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.rotation = orientation.rotation
        image.mirrored = orientation.mirrored ? 1 : 0
        image.yuv_range = frame.yuvRange.rawValue
        image.yuv_matrix = frame.yuvMatrix.rawValue
        let p = frame.planes + Array(repeating: Plane(base: nil, size: 0, stride: 0),
                                     count: max(0, 3 - frame.planes.count))
        image.planes = (p[0].base, p[1].base, p[2].base)
        image.plane_sizes = (p[0].size, p[1].size, p[2].size)
        image.strides = (p[0].stride, p[1].stride, p[2].stride)
        return image
    }

    private func detect(frame: Frame, orientation: FrameOrientation,
                        face: FaceBox?) throws -> DetectionResult {
        var image = try Self.cImage(frame, orientation)
        var box = moae_box()
        if let face {
            box.x = face.x; box.y = face.y; box.width = face.width; box.height = face.height
        }
        return try withLiveEngine { e in
            var result = moae_result()
            var count = 0
            let status = withUnsafePointer(to: &image) { img in
                withUnsafePointer(to: &box) { b in
                    CABI.detect(e, img, face == nil ? nil : b, face == nil ? 0 : 1,
                                &result, MemoryLayout<moae_result>.stride, 1, &count)
                }
            }
            guard cInt(status) == 0 else { throw MoaeError.from(status) }
            // libmoae never returns a non-finite score (MOAE_ERR_INFERENCE instead); checked
            // again so that this wrapper can never turn one into a verdict.
            guard result.attack_score.isFinite, result.threshold.isFinite else {
                throw MoaeError(code: MoaeError.Status.inference.rawValue,
                                message: "moae_detect: non-finite attack_score; no decision")
            }
            let attackType = try Self.attackTypeProbabilities(
                has: result.has_attack_type, probs: result.attack_type_probs,
                call: "moae_detect")
            return DetectionResult(
                attackScore: result.attack_score, liveScore: result.live_score,
                isAttack: result.is_attack != 0, threshold: result.threshold,
                provider: Provider(rawValue: result.provider) ?? .cpu,
                latencyMs: result.latency_ms, attackType: attackType)
        }
    }

    private func analyze(frame: Frame, orientation: FrameOrientation,
                         boxes: [BoxInput]) throws -> FrameAnalysis {
        var image = try Self.cImage(frame, orientation)
        let cBoxes = boxes.map { b in
            moae_box_input(rect: moae_box(x: b.rect.x, y: b.rect.y, width: b.rect.width,
                                          height: b.rect.height),
                           space: b.space.rawValue, units: b.units.rawValue)
        }
        return try withLiveEngine { e in
            // Room for every caller box, or a few detected faces; a frame with more faces
            // answers BUFFER_TOO_SMALL with the count needed, and the call is repeated.
            var capacity = max(boxes.count, 4)
            for _ in 0..<2 {
                var faces = [moae_face](repeating: moae_face(), count: capacity)
                var count = 0
                var frameFlags: UInt32 = 0
                let status = withUnsafePointer(to: &image) { img in
                    cBoxes.withUnsafeBufferPointer { b in
                        faces.withUnsafeMutableBufferPointer { f in
                            CABI.analyze(e, img, b.baseAddress, b.count, f.baseAddress,
                                         MemoryLayout<moae_face>.stride, f.count, &count,
                                         &frameFlags)
                        }
                    }
                }
                let code = cInt(status)
                if code == MoaeError.Status.bufferTooSmall.rawValue, count > capacity {
                    capacity = count
                    continue
                }
                guard code == 0 else { throw MoaeError.from(status) }
                return FrameAnalysis(faces: try faces.prefix(count).map(Self.faceResult),
                                     flags: QualityFlags(rawValue: frameFlags))
            }
            throw MoaeError(code: MoaeError.Status.bufferTooSmall.rawValue,
                            message: "moae_analyze: the face count grew between two calls")
        }
    }

    private static func faceResult(_ f: moae_face) throws -> FaceResult {
        guard let source = FaceSource(rawValue: f.source),
              let decision = Decision(rawValue: f.decision) else {
            // Fail closed: an unknown verdict from a newer library is not "live".
            throw MoaeError(code: MoaeError.Status.invalidArgument.rawValue,
                            message: "moae_analyze returned decision \(f.decision) / source "
                                + "\(f.source), unknown to this Swift wrapper: update it")
        }
        guard f.attack_score.isFinite, f.threshold.isFinite else {
            throw MoaeError(code: MoaeError.Status.inference.rawValue,
                            message: "moae_analyze: non-finite attack_score; no decision")
        }
        let points = withUnsafeBytes(of: f.keypoints) { raw in
            Array(raw.bindMemory(to: Float.self))
        }
        let keypoints = f.has_keypoints != 0
            ? stride(from: 0, to: 12, by: 2).map { Keypoint(x: points[$0], y: points[$0 + 1]) }
            : nil
        let q = f.quality
        let attackType = try attackTypeProbabilities(
            has: f.has_attack_type, probs: f.attack_type_probs, call: "moae_analyze")
        return FaceResult(
            source: source,
            box: FaceBox(x: f.box.x, y: f.box.y, width: f.box.width, height: f.box.height),
            keypoints: keypoints,
            detectorScore: source == .detector ? f.detector_score : nil,
            attackScore: f.attack_score, liveScore: f.live_score, threshold: f.threshold,
            decision: decision,
            qualityFlags: QualityFlags(rawValue: f.quality_flags),
            quality: QualityValues(facePx: q.face_px, outsideFraction: q.outside_fraction,
                                   brightness: q.brightness,
                                   overexposedFraction: q.overexposed_fraction,
                                   sharpness: q.sharpness, rollDeg: q.roll_deg,
                                   yawDeg: q.yaw_deg),
            latencyMs: f.latency_ms,
            attackType: attackType)
    }

    /// `has_attack_type` + `attack_type_probs` of a `moae_face` or `moae_result`: nil without
    /// the head, else the four probabilities, checked (fail closed).
    private static func attackTypeProbabilities(
        has: Int32, probs: (Float, Float, Float, Float), call: String
    ) throws -> [Float]? {
        if has == 0 {
            return nil
        }
        let p = [probs.0, probs.1, probs.2, probs.3]
        let sum = p.reduce(0, +)
        guard has == 1, p.count == FaceResult.attackTypes.count,
              p.allSatisfy({ $0 >= 0 && $0 <= 1 }), abs(sum - 1) <= 1e-3 else {
            throw MoaeError(code: MoaeError.Status.inference.rawValue,
                            message: "\(call) returned attack-type probabilities \(p) "
                                + "(expected four values in [0, 1] summing to 1)")
        }
        return p
    }

    /// Y then chroma planes of a contiguous YUV buffer.
    static func splitContiguous(format: PixelFormat, base: UnsafePointer<UInt8>?, size: Int,
                                stride: Int, width: Int, height: Int) -> [Plane] {
        let ySize = min(size, stride * height)
        let rest = size - ySize
        let chroma = base.map { $0 + ySize }
        if format == .i420 {
            let cStride = (width + 1) / 2
            let uSize = min(rest, cStride * ((height + 1) / 2))
            return [Plane(base: base, size: ySize, stride: stride),
                    Plane(base: chroma, size: uSize, stride: cStride),
                    Plane(base: chroma.map { $0 + uSize }, size: rest - uSize, stride: cStride)]
        }
        return [Plane(base: base, size: ySize, stride: stride),
                Plane(base: chroma, size: rest, stride: stride)]
    }

    private func withEngine<T>(_ body: (OpaquePointer?) throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(engine)
    }

    private func withLiveEngine<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        try withEngine { e in
            guard let e else { throw MoaeError.closed }
            return try body(e)
        }
    }

    /// Fills a moae_options whose pointers stay valid for `body`'s duration only.
    private static func withCOptions<T>(_ o: MoaeOptions,
                                        _ body: (UnsafePointer<moae_options>) throws -> T) throws -> T {
        var c = moae_options()
        CABI.optionsInitSized(&c, MemoryLayout<moae_options>.size)
        c.require_provider = o.requireProvider ? 1 : 0
        c.intra_op_threads = Int32(clamping: o.threads)
        c.max_sessions = Int32(clamping: o.maxSessions)
        c.threshold = o.threshold ?? -1
        c.crop_scale = o.cropScale ?? 0
        c.coreml_compute_units = o.coreMLComputeUnits
        c.detector_min_score = o.detectorMinScore ?? -1
        c.whole_frame = o.wholeFrame ? 1 : 0
        let q = o.quality
        if let v = q.minFacePx { c.quality.min_face_px = v }
        if let v = q.maxOutsideFraction { c.quality.max_outside_fraction = v }
        if let v = q.minBrightness { c.quality.min_brightness = v }
        if let v = q.maxBrightness { c.quality.max_brightness = v }
        if let v = q.maxOverexposedFraction { c.quality.max_overexposed_fraction = v }
        if let v = q.minSharpness { c.quality.min_sharpness = v }
        if let v = q.maxRollDeg { c.quality.max_roll_deg = v }
        if let v = q.maxYawDeg { c.quality.max_yaw_deg = v }
        c.quality.allow_several_faces = q.allowSeveralFaces ? 1 : 0
        if o.faceDetectorURL != nil, o.faceDetectorData != nil {
            throw MoaeError(code: MoaeError.Status.invalidArgument.rawValue,
                            message: "set faceDetectorURL or faceDetectorData, not both")
        }
        let providers = o.providers.map(\.rawValue)
        let ortPath = o.ortLibraryPath
        let sha = o.modelSha256.map { [UInt8]($0) }
        if let sha, sha.count != 32 {
            throw MoaeError(code: MoaeError.Status.invalidArgument.rawValue,
                            message: "modelSha256 has \(sha.count) bytes, a SHA-256 has 32")
        }
        let detector = o.faceDetectorData.map { [UInt8]($0) }
        return try providers.withUnsafeBufferPointer { prov in
            c.providers = prov.baseAddress
            c.provider_count = prov.count
            return try withOptionalCString(ortPath) { path in
                c.ort_library_path = path
                return try withOptionalCString(o.faceDetectorURL?.path) { detectorPath in
                    c.face_detector_path = detectorPath
                    return try withOptionalBytes(detector) { detectorBytes in
                        c.face_detector_data = detectorBytes
                        c.face_detector_len = detector?.count ?? 0
                        return try withOptionalBytes(sha) { shaPtr in
                            c.model_sha256 = shaPtr
                            return try withUnsafePointer(to: &c) { try body($0) }
                        }
                    }
                }
            }
        }
    }

    private static func withOptionalCString<T>(_ s: String?,
                                               _ body: (UnsafePointer<CChar>?) throws -> T) rethrows -> T {
        guard let s else { return try body(nil) }
        return try s.withCString { try body($0) }
    }

    private static func withOptionalBytes<T>(_ b: [UInt8]?,
                                             _ body: (UnsafePointer<UInt8>?) throws -> T) rethrows -> T {
        guard let b else { return try body(nil) }
        return try b.withUnsafeBufferPointer { try body($0.baseAddress) }
    }

    private static func string<T>(fromTuple tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    private static func fourCC(_ t: OSType) -> String {
        let chars = [24, 16, 8, 0].map { Character(UnicodeScalar(UInt8((t >> $0) & 0xff))) }
        return String(chars)
    }
}

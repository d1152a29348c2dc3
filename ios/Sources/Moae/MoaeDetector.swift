import CMoae
import CoreVideo
import Foundation

/// Face anti-spoofing detector over libmoae (mirror of Android's `ai.moae.MoaeDetector`).
///
/// Thread-safe: any number of threads may call `detect` at once; `close()` takes the write side
/// of a read-write lock, so it waits for running detections, is idempotent, and afterwards every
/// call throws `MoaeError` with status `.closed`. `deinit` closes.
public final class MoaeDetector {
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

    /// Frees the native engine after running detections finish. Safe to call twice.
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

    // MARK: - detect

    /// One packed frame (RGB/BGR/RGBA/BGRA/GRAY) or a contiguous NV21/NV12/I420 buffer
    /// (chroma right after luma). `bytesPerRow` 0 = packed rows. `rotation`: clockwise degrees
    /// that make the frame upright (0/90/180/270); `face` in upright coordinates, nil = whole.
    public func detect(pixels: Data, format: PixelFormat, width: Int, height: Int,
                       bytesPerRow: Int = 0, rotation: Int = 0,
                       face: FaceBox? = nil) throws -> DetectionResult {
        try pixels.withUnsafeBytes { raw in
            let base = raw.bindMemory(to: UInt8.self).baseAddress
            let stride = bytesPerRow > 0 ? bytesPerRow
                : (format.bytesPerPixel > 0 ? width * format.bytesPerPixel : width)
            var planes: [Plane] = [Plane(base: base, size: raw.count, stride: stride)]
            if format.bytesPerPixel == 0 {
                planes = Self.splitContiguous(format: format, base: base, size: raw.count,
                                              stride: stride, width: width, height: height)
            }
            return try detect(planes: planes, format: format, width: width, height: height,
                              rotation: rotation, face: face)
        }
    }

    /// A camera frame. Supported: kCVPixelFormatType_420YpCbCr8BiPlanarFullRange and
    /// ...VideoRange (NV12), kCVPixelFormatType_32BGRA (BGRA). Locked read-only for the call.
    public func detect(pixelBuffer: CVPixelBuffer, rotation: Int = 0,
                       face: FaceBox? = nil) throws -> DetectionResult {
        let type = CVPixelBufferGetPixelFormatType(pixelBuffer)
        guard CVPixelBufferLockBaseAddress(pixelBuffer, .readOnly) == kCVReturnSuccess else {
            throw MoaeError(code: MoaeError.Status.invalidFrame.rawValue,
                            message: "CVPixelBufferLockBaseAddress failed")
        }
        defer { CVPixelBufferUnlockBaseAddress(pixelBuffer, .readOnly) }
        let width = CVPixelBufferGetWidth(pixelBuffer)
        let height = CVPixelBufferGetHeight(pixelBuffer)
        switch type {
        case kCVPixelFormatType_420YpCbCr8BiPlanarFullRange,
             kCVPixelFormatType_420YpCbCr8BiPlanarVideoRange:
            // Video range is treated like full range (the runtime's NV12 conversion is
            // full-range BT.601); cameras deliver full range when asked (AVCaptureVideoDataOutput
            // videoSettings), which is what apps should configure.
            let planes = (0..<2).map { i -> Plane in
                let stride = CVPixelBufferGetBytesPerRowOfPlane(pixelBuffer, i)
                let rows = CVPixelBufferGetHeightOfPlane(pixelBuffer, i)
                let base = CVPixelBufferGetBaseAddressOfPlane(pixelBuffer, i)?
                    .assumingMemoryBound(to: UInt8.self)
                return Plane(base: UnsafePointer(base), size: stride * rows, stride: stride)
            }
            return try detect(planes: planes, format: .nv12, width: width, height: height,
                              rotation: rotation, face: face)
        case kCVPixelFormatType_32BGRA:
            let stride = CVPixelBufferGetBytesPerRow(pixelBuffer)
            let base = CVPixelBufferGetBaseAddress(pixelBuffer)?
                .assumingMemoryBound(to: UInt8.self)
            let plane = Plane(base: UnsafePointer(base), size: stride * height, stride: stride)
            return try detect(planes: [plane], format: .bgra, width: width, height: height,
                              rotation: rotation, face: face)
        default:
            throw MoaeError(code: MoaeError.Status.unknownFormat.rawValue,
                            message: "CVPixelBuffer format \(Self.fourCC(type)) is not supported: "
                                + "use 420f (420YpCbCr8BiPlanarFullRange) or BGRA")
        }
    }

    // MARK: - internals

    struct Plane {
        var base: UnsafePointer<UInt8>?
        var size: Int
        var stride: Int
    }

    func detect(planes: [Plane], format: PixelFormat, width: Int, height: Int,
                rotation: Int, face: FaceBox?) throws -> DetectionResult {
        guard width >= 0, height >= 0, width <= Int(UInt32.max), height <= Int(UInt32.max) else {
            throw MoaeError(code: MoaeError.Status.invalidFrame.rawValue,
                            message: "frame size \(width)x\(height) is out of range")
        }
        var image = moae_image()
        image.struct_size = UInt32(MemoryLayout<moae_image>.size)
        image.format = format.rawValue
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.rotation = Int32(truncatingIfNeeded: rotation)
        let p = planes + Array(repeating: Plane(base: nil, size: 0, stride: 0),
                               count: max(0, 3 - planes.count))
        image.planes = (p[0].base, p[1].base, p[2].base)
        image.plane_sizes = (p[0].size, p[1].size, p[2].size)
        image.strides = (p[0].stride, p[1].stride, p[2].stride)
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
                                &result, 1, &count)
                }
            }
            guard cInt(status) == 0 else { throw MoaeError.from(status) }
            // libmoae never returns a non-finite score (MOAE_ERR_INFERENCE instead); checked
            // again so that this wrapper can never turn one into a verdict.
            guard result.attack_score.isFinite, result.threshold.isFinite else {
                throw MoaeError(code: MoaeError.Status.inference.rawValue,
                                message: "moae_detect: non-finite attack_score; no decision")
            }
            return DetectionResult(
                attackScore: result.attack_score, liveScore: result.live_score,
                isAttack: result.is_attack != 0, threshold: result.threshold,
                provider: Provider(rawValue: result.provider) ?? .cpu,
                latencyMs: result.latency_ms)
        }
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
        CABI.optionsInit(&c)
        c.require_provider = o.requireProvider ? 1 : 0
        c.intra_op_threads = Int32(clamping: o.threads)
        c.max_sessions = Int32(clamping: o.maxSessions)
        c.threshold = o.threshold ?? -1
        c.crop_scale = o.cropScale ?? 0
        c.coreml_compute_units = o.coreMLComputeUnits
        let providers = o.providers.map(\.rawValue)
        let ortPath = o.ortLibraryPath ?? MoaeOptions.embeddedOrtLibrary()
        let sha = o.modelSha256.map { [UInt8]($0) }
        if let sha, sha.count != 32 {
            throw MoaeError(code: MoaeError.Status.invalidArgument.rawValue,
                            message: "modelSha256 has \(sha.count) bytes, a SHA-256 has 32")
        }
        return try providers.withUnsafeBufferPointer { prov in
            c.providers = prov.baseAddress
            c.provider_count = prov.count
            return try withOptionalCString(ortPath) { path in
                c.ort_library_path = path
                return try withOptionalBytes(sha) { shaPtr in
                    c.model_sha256 = shaPtr
                    return try withUnsafePointer(to: &c) { try body($0) }
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

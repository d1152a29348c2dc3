import CMoae
import Foundation

/// A failure of libmoae: `status` is the C ABI's `moae_status` (the same numbers the Android
/// `MoaeException.Status` uses), `message` the detail from `moae_last_error()` (what, where,
/// what to do), falling back to `moae_status_message`.
public struct MoaeError: Error, CustomStringConvertible, Equatable {
    public enum Status: Int32 {
        case nullArgument = 1, invalidArgument = 2, structSize = 3, abiVersion = 4
        case ortLibrary = 5, providerUnavailable = 6, model = 7, modelHash = 8, io = 9
        case invalidFrame = 10, invalidFaceBox = 11, inference = 12, bufferTooSmall = 13
        case unknownFormat = 14, panic = 15, imageDecode = 16
        /// Use after `close()` (Android: IllegalStateException). Not a C status.
        case closed = -2
        /// A code newer than this wrapper.
        case unknown = -1
    }

    public let status: Status
    public let code: Int32
    public let message: String

    public var description: String { "MoaeError.\(status) (\(code)): \(message)" }

    init(code: Int32, message: String) {
        self.code = code
        self.status = Status(rawValue: code) ?? .unknown
        self.message = message
    }

    static let closed = MoaeError(code: Status.closed.rawValue,
                                  message: "MoaeDetector is closed: create a new detector")

    /// Builds the error for a failed call, on the calling thread (moae_last_error is
    /// thread-local, so this must run right after the failing call).
    static func from(_ status: moae_status) -> MoaeError {
        let detail = CABI.lastError().map { String(cString: $0) } ?? ""
        let generic = CABI.statusMessage(cInt(status)).map { String(cString: $0) } ?? ""
        return MoaeError(code: cInt(status), message: detail.isEmpty ? generic : detail)
    }
}

/// `moae_status` as an Int32 whether the header declares it as an int32_t typedef (Swift:
/// Int32) or as a C enum (Swift: a RawRepresentable struct).
@inline(__always) func cInt<T: BinaryInteger>(_ v: T) -> Int32 { Int32(truncatingIfNeeded: v) }
@inline(__always) func cInt<T: RawRepresentable>(_ v: T) -> Int32 where T.RawValue: BinaryInteger {
    Int32(truncatingIfNeeded: v.rawValue)
}

/// ONNX Runtime execution providers (C: `moae_provider`). On iOS: `.coreML` or `.cpu`.
public enum Provider: Int32 {
    case cpu = 0, cuda = 1, tensorRT = 2, coreML = 3
}

/// Frame layouts (C: `moae_pixel_format`).
public enum PixelFormat: Int32 {
    case rgb = 0, bgr = 1, rgba = 2, bgra = 3, gray = 4, nv21 = 5, nv12 = 6, i420 = 7

    var bytesPerPixel: Int {
        switch self {
        case .rgb, .bgr: return 3
        case .rgba, .bgra: return 4
        case .gray: return 1
        case .nv21, .nv12, .i420: return 0
        }
    }
}

/// A face rectangle in pixels of the upright (rotated) frame.
public struct FaceBox: Equatable {
    public var x, y, width, height: Float
    public init(x: Float, y: Float, width: Float, height: Float) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
    public init(_ rect: CGRect) {
        self.init(x: Float(rect.minX), y: Float(rect.minY),
                  width: Float(rect.width), height: Float(rect.height))
    }
}

public struct DetectionResult: Equatable {
    public let attackScore: Float
    public let liveScore: Float
    public let isAttack: Bool
    public let threshold: Float
    public let provider: Provider
    public let latencyMs: Float
}

public struct DetectorInfo: Equatable {
    public let provider: Provider
    public let inputSize: Int
    public let threshold: Float
    public let thresholdCalibrated: Bool
    public let modelSha256: String
    public let precision: String
    /// The loaded ONNX Runtime's version and path.
    public let ortVersion: String
    public let ortLibraryPath: String
    /// Why preferred providers were skipped; empty when the first one was used.
    public let fallbackReason: String
}

/// Detector options (mirror of Android's `ai.moae.Options`).
public struct MoaeOptions {
    /// Preference order; unavailable ones are skipped down to CPU unless `requireProvider`.
    public var providers: [Provider] = [.cpu]
    public var requireProvider = false
    /// ONNX Runtime intra-op threads; 0 = its default.
    public var threads = 0
    public var maxSessions = 0
    /// libonnxruntime to dlopen. nil: the `onnxruntime.framework` embedded in the app (see
    /// ios/README.md), else ORT_DYLIB_PATH / beside libmoae / the system loader.
    public var ortLibraryPath: String?
    /// Pin the model file's SHA-256 (32 bytes); a mismatch throws `.modelHash`.
    public var modelSha256: Data?
    /// Override the model's decision threshold.
    public var threshold: Float?
    /// Face box enlargement; nil = the runtime's default.
    public var cropScale: Float?
    /// CoreML compute units (C: `coreml_compute_units`; 0 = all).
    public var coreMLComputeUnits: Int32 = 0

    public init() {}

    /// Where an app that embeds ONNX Runtime as a dynamic framework has it.
    static func embeddedOrtLibrary() -> String? {
        guard let frameworks = Bundle.main.privateFrameworksURL else { return nil }
        let binary = frameworks.appendingPathComponent("onnxruntime.framework/onnxruntime")
        return FileManager.default.fileExists(atPath: binary.path) ? binary.path : nil
    }
}

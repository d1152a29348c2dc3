import CMoae
import Foundation
import ImageIO

/// A failure of libmoae: `status` is the C ABI's `moae_status` (the same numbers the Android
/// `MoaeException.Status` uses), `message` the detail from `moae_last_error()` (what, where,
/// what to do), falling back to `moae_status_message`.
public struct MoaeError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Status: Int32, Sendable {
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
public enum Provider: Int32, Sendable {
    case cpu = 0, cuda = 1, tensorRT = 2, coreML = 3
}

/// Frame layouts (C: `moae_pixel_format`).
public enum PixelFormat: Int32, Sendable {
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

/// A face rectangle in pixels of the upright, un-mirrored frame.
public struct FaceBox: Equatable, Sendable {
    public var x, y, width, height: Float
    public init(x: Float, y: Float, width: Float, height: Float) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
    public init(_ rect: CGRect) {
        self.init(x: Float(rect.minX), y: Float(rect.minY),
                  width: Float(rect.width), height: Float(rect.height))
    }

    /// The same box mirrored left-right in an image `imageWidth` wide (a box from a mirrored
    /// selfie preview -> the un-mirrored frame, and back).
    public func flippedHorizontally(imageWidth: Float) -> FaceBox {
        FaceBox(x: imageWidth - x - width, y: y, width: width, height: height)
    }
}

public struct DetectionResult: Equatable, Sendable {
    public let attackScore: Float
    public let liveScore: Float
    public let isAttack: Bool
    public let threshold: Float
    public let provider: Provider
    public let latencyMs: Float
    /// Probabilities of live, physical, adversarial, digital (`FaceResult.attackTypes`'
    /// order), summing to 1; nil when the model has no attack-type head (not zeros).
    public let attackType: [Float]?
}

public struct DetectorInfo: Equatable, Sendable {
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
public struct MoaeOptions: Sendable {
    /// Preference order; unavailable ones are skipped down to CPU unless `requireProvider`.
    public var providers: [Provider] = [.cpu]
    public var requireProvider = false
    /// ONNX Runtime intra-op threads; 0 = its default.
    public var threads = 0
    public var maxSessions = 0
    /// macOS only: libonnxruntime.dylib to load; nil = ORT_DYLIB_PATH / beside libmoae / the
    /// system loader. On iOS and Mac Catalyst ONNX Runtime is linked statically from ORT's
    /// package and this must stay nil (else `.ortLibrary`).
    public var ortLibraryPath: String?
    /// Pin the model file's SHA-256 (32 bytes); a mismatch throws `.modelHash`.
    public var modelSha256: Data?
    /// Override the model's decision threshold.
    public var threshold: Float?
    /// Face box enlargement; nil = the runtime's default.
    public var cropScale: Float?
    /// CoreML compute units (C: `coreml_compute_units`; 0 = all).
    public var coreMLComputeUnits: Int32 = 0
    /// The face detector (BlazeFace ONNX: `face_detection_front_128x128.onnx` for selfie and
    /// kiosk distance, `face_detection_back_256x256.onnx` for faces farther away). Needed by
    /// `analyze` without boxes. At most one of the URL and the data.
    public var faceDetectorURL: URL?
    public var faceDetectorData: Data?
    /// Faces the detector scores below are dropped; nil = the default (0.5).
    public var detectorMinScore: Float?
    /// The whole image is the face (pre-cropped images such as data sets): a call without a
    /// box scores the centre square. Default false: without a box the face detector decides,
    /// and a frame without a face is "no face", never a score of the centre. `detect` without
    /// a face box needs this (else `.invalidArgument`).
    public var wholeFrame = false
    /// Limits of the quality checks; nil fields keep the documented defaults.
    public var quality = QualityLimits()

    public init() {}
}

/// Limits of the quality checks that make a face `.unsure` (C: `moae_quality_options`); nil =
/// the default `moae_options_init_sized` fills in.
public struct QualityLimits: Sendable, Equatable {
    /// Smallest face (longer box side, upright pixels) that is not `.tooSmall`; at least 16
    /// (`MOAE_MIN_FACE_SIZE_PX`; lower values fail with `.invalidArgument`).
    public var minFacePx: Float?
    /// Largest share of the face box outside the frame that is not `.partlyOutside`.
    public var maxOutsideFraction: Float?
    /// Mean face luma (0-255) below which it is `.tooDark`.
    public var minBrightness: Float?
    /// Mean face luma above which it is `.tooBright`.
    public var maxBrightness: Float?
    /// Share of saturated face pixels above which it is `.tooBright`.
    public var maxOverexposedFraction: Float?
    /// Variance of the Laplacian of the face crop below which it is `.blurred`.
    public var minSharpness: Float?
    public var maxRollDeg: Float?
    public var maxYawDeg: Float?
    /// Several faces allowed (else every face gets `.severalFaces`).
    public var allowSeveralFaces = false
    public init() {}
}

/// YUV quantisation range (C: `moae_yuv_range`). iOS: `420f` is full, `420v` limited.
public enum YuvRange: Int32, Sendable {
    case full = 0, limited = 1
}

/// The YCbCr -> RGB matrix (C: `moae_yuv_matrix`). Camera buffers say theirs in the
/// `kCVImageBufferYCbCrMatrixKey` attachment, which the pixel-buffer calls read: HD capture
/// (720p and up) is BT.709, SD and JPEG-style frames BT.601.
public enum YuvMatrix: Int32, Sendable {
    case bt601 = 0, bt709 = 1
}

/// How the pixels of a frame relate to the upright scene: the clockwise rotation (0, 90,
/// 180, 270) that makes the buffer upright after mirroring it left-right when `mirrored`.
/// The upright, un-mirrored frame is `rotate_cw(flip_lr_if_mirrored(buffer), rotation)`,
/// EXIF's order, so every `CGImagePropertyOrientation` is one (rotation, mirrored) pair.
public struct FrameOrientation: Sendable, Equatable {
    public var rotation: Int32
    public var mirrored: Bool

    public init(rotation: Int32, mirrored: Bool = false) {
        self.rotation = rotation
        self.mirrored = mirrored
    }

    public static let up = FrameOrientation(rotation: 0)

    /// EXIF / `CGImagePropertyOrientation`: (0,F)=1 (0,T)=2 (180,F)=3 (180,T)=4 (270,T)=5
    /// (90,F)=6 (90,T)=7 (270,F)=8. Checked against the `image` crate's EXIF semantics by
    /// android/jni/tests/swift_header_check.rs.
    public init(_ orientation: CGImagePropertyOrientation) {
        // On the raw value (= the EXIF tag): the cases below are the whole table, and an
        // unknown value becomes rotation -1, which libmoae rejects (.invalidArgument).
        switch orientation.rawValue {
        case 1: self.init(rotation: 0, mirrored: false) // .up
        case 2: self.init(rotation: 0, mirrored: true) // .upMirrored
        case 3: self.init(rotation: 180, mirrored: false) // .down
        case 4: self.init(rotation: 180, mirrored: true) // .downMirrored
        case 5: self.init(rotation: 270, mirrored: true) // .leftMirrored
        case 6: self.init(rotation: 90, mirrored: false) // .right
        case 7: self.init(rotation: 90, mirrored: true) // .rightMirrored
        case 8: self.init(rotation: 270, mirrored: false) // .left
        default: self.init(rotation: -1, mirrored: false)
        }
    }
}

/// A caller's face box and how to read it (C: `moae_box_input`).
public struct BoxInput: Sendable, Equatable {
    /// Which image the coordinates refer to.
    public enum Space: Int32, Sendable {
        /// The upright, un-mirrored frame, as every result.
        case upright = 0
        /// The buffer as passed, before mirroring and rotation (e.g. MediaPipe on iOS).
        case raw = 1
    }

    public enum Units: Int32, Sendable {
        case pixels = 0
        /// 0...1 of the image named by the space (Vision-style rect, top-left origin).
        case normalized = 1
    }

    public var rect: FaceBox
    public var space: Space
    public var units: Units

    public init(_ rect: FaceBox, space: Space = .upright, units: Units = .pixels) {
        self.rect = rect
        self.space = space
        self.units = units
    }
}

/// The verdict on one face (C: `moae_decision`).
public enum Decision: Int32, Sendable {
    /// Attack score below the threshold, every quality check passed.
    case live = 0
    /// Attack score at or above the threshold, every quality check passed.
    case attack = 1
    /// A quality check failed (see `FaceResult.qualityFlags`): the score is computed and
    /// returned but not trusted.
    case unsure = 2
}

/// Where a face's box came from (C: `moae_face_source`).
public enum FaceSource: Int32, Sendable {
    case detector = 0, caller = 1, wholeFrame = 2
}

/// Why a frame or face is not trusted (C: `MOAE_QUALITY_*`, the same bits as Android's
/// `QualityFlag`).
public struct QualityFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let noFace = QualityFlags(rawValue: 1 << 0)
    public static let severalFaces = QualityFlags(rawValue: 1 << 1)
    public static let tooSmall = QualityFlags(rawValue: 1 << 2)
    public static let partlyOutside = QualityFlags(rawValue: 1 << 3)
    public static let tooDark = QualityFlags(rawValue: 1 << 4)
    public static let tooBright = QualityFlags(rawValue: 1 << 5)
    public static let blurred = QualityFlags(rawValue: 1 << 6)
    public static let headRoll = QualityFlags(rawValue: 1 << 7)
    public static let headYaw = QualityFlags(rawValue: 1 << 8)
}

/// Measured quality of one face (C: `moae_quality`).
public struct QualityValues: Sendable, Equatable {
    public let facePx: Float
    public let outsideFraction: Float
    public let brightness: Float
    public let overexposedFraction: Float
    public let sharpness: Float
    public let rollDeg: Float
    public let yawDeg: Float
}

/// A point in upright, un-mirrored frame pixels.
public struct Keypoint: Sendable, Equatable {
    public let x: Float
    public let y: Float
}

/// Everything about one face (C: `moae_face`).
public struct FaceResult: Sendable, Equatable {
    public let source: FaceSource
    public let box: FaceBox
    /// MediaPipe's 6 keypoints (right eye, left eye, nose tip, mouth, right ear tragion, left
    /// ear tragion; the subject's right); nil unless `source == .detector`.
    public let keypoints: [Keypoint]?
    /// nil unless `source == .detector`.
    public let detectorScore: Float?
    public let attackScore: Float
    public let liveScore: Float
    public let threshold: Float
    public let decision: Decision
    public let qualityFlags: QualityFlags
    public let quality: QualityValues
    public let latencyMs: Float
    /// Probabilities of live, physical, adversarial, digital (`FaceResult.attackTypes`'
    /// order), summing to 1; nil when the model has no attack-type head (not zeros).
    public let attackType: [Float]?

    /// Class order of `attackType` (spec §6's fine-grained labels).
    public static let attackTypes = ["live", "physical", "adversarial", "digital"]
}

/// What `analyze` found in one frame. No face is not an error: `faces` is empty and `flags`
/// contains `.noFace`.
public struct FrameAnalysis: Sendable, Equatable {
    public let faces: [FaceResult]
    /// Frame level: `.noFace`, `.severalFaces`.
    public let flags: QualityFlags
}

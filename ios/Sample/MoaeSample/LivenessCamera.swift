import AVFoundation
import Moae
import UIKit

/// Front camera -> libmoae, with the geometry right by construction:
/// - the video data output's connection is left as AVFoundation delivers it (not mirrored,
///   not rotated: buffers in the sensor's landscape orientation);
/// - each frame gets the orientation ML Kit's published table (and Apple's Vision samples)
///   give for such buffers, from the device orientation and the camera position
///   (`FrameSink.orientation`);
/// - only the preview layer mirrors the picture.
/// Boxes and results come back in the upright, un-mirrored frame.
@MainActor
final class LivenessCamera: ObservableObject {
    @Published private(set) var verdict = "Starting..."
    let session = AVCaptureSession()
    private let queue = DispatchQueue(label: "moae.sample.frames")
    private var sink: FrameSink?

    func start() async {
        guard await AVCaptureDevice.requestAccess(for: .video) else {
            verdict = "The camera permission is needed to check liveness."
            return
        }
        let detector: MoaeDetector
        do {
            var options = MoaeOptions()
            options.faceDetectorURL = Bundle.main.url(
                forResource: "face_detection_front_128x128", withExtension: "onnx")
            detector = try MoaeDetector(bundleResource: "moae", options: options)
        } catch {
            verdict = "Could not load the models: \(error)"
            return
        }
        let sink = FrameSink(detector: detector, position: .front) { [weak self] text in
            Task { @MainActor in self?.verdict = text }
        }
        self.sink = sink
        UIDevice.current.beginGeneratingDeviceOrientationNotifications()
        NotificationCenter.default.addObserver(
            forName: UIDevice.orientationDidChangeNotification, object: nil, queue: .main
        ) { _ in
            MainActor.assumeIsolated { sink.deviceOrientation = UIDevice.current.orientation }
        }
        configure(sink)
    }

    private func configure(_ sink: FrameSink) {
        guard let device = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video,
                                                   position: sink.position),
              let input = try? AVCaptureDeviceInput(device: device) else {
            verdict = "No front camera."
            return
        }
        session.beginConfiguration()
        session.sessionPreset = .hd1280x720
        if session.canAddInput(input) { session.addInput(input) }
        let output = AVCaptureVideoDataOutput()
        // 420f: full-range NV12, read in place (420v would be passed as limited range).
        output.videoSettings = [kCVPixelBufferPixelFormatTypeKey as String:
                                    kCVPixelFormatType_420YpCbCr8BiPlanarFullRange]
        output.alwaysDiscardsLateVideoFrames = true
        output.setSampleBufferDelegate(sink, queue: queue)
        if session.canAddOutput(output) { session.addOutput(output) }
        // Deliberately no connection.isVideoMirrored and no rotation: the orientation table
        // is for unmirrored buffers in the sensor's orientation.
        session.commitConfiguration()
        let session = self.session
        queue.async { session.startRunning() }
        verdict = "Look at the camera."
    }
}

/// Receives the frames on the capture queue; its one mutable field is behind a lock.
final class FrameSink: NSObject, AVCaptureVideoDataOutputSampleBufferDelegate,
    @unchecked Sendable {
    let detector: MoaeDetector
    let position: AVCaptureDevice.Position
    private let report: @Sendable (String) -> Void
    private let lock = NSLock()
    private var lastOrientation: UIDeviceOrientation = .portrait

    init(detector: MoaeDetector, position: AVCaptureDevice.Position,
         report: @escaping @Sendable (String) -> Void) {
        self.detector = detector
        self.position = position
        self.report = report
    }

    /// The last portrait or landscape device orientation (face up/down keep the previous).
    var deviceOrientation: UIDeviceOrientation {
        get {
            lock.lock()
            defer { lock.unlock() }
            return lastOrientation
        }
        set {
            guard newValue.isPortrait || newValue.isLandscape else { return }
            lock.lock()
            lastOrientation = newValue
            lock.unlock()
        }
    }

    /// ML Kit's published table (iOS, "image orientation"; Apple's Vision samples agree): the
    /// orientation of an unmirrored capture buffer for this device orientation and camera.
    static func orientation(device: UIDeviceOrientation, position: AVCaptureDevice.Position)
        -> CGImagePropertyOrientation {
        let front = position == .front
        switch device {
        case .portraitUpsideDown: return front ? .rightMirrored : .left
        case .landscapeLeft: return front ? .downMirrored : .up
        case .landscapeRight: return front ? .upMirrored : .down
        default: return front ? .leftMirrored : .right
        }
    }

    static func describe(_ a: FrameAnalysis) -> String {
        guard let face = a.faces.first else { return "No face: look at the camera." }
        switch face.decision {
        case .live: return String(format: "Live (attack score %.3f)", face.attackScore)
        case .attack: return String(format: "Attack (attack score %.3f)", face.attackScore)
        case .unsure: return "Unsure: \(face.qualityFlags) - adjust and hold still."
        }
    }

    func captureOutput(_ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer,
                       from connection: AVCaptureConnection) {
        let orientation = Self.orientation(device: deviceOrientation, position: position)
        do {
            let analysis = try detector.analyze(sampleBuffer: sampleBuffer,
                                                orientation: orientation)
            report(Self.describe(analysis))
        } catch {
            report("Frame failed: \(error)")
        }
    }
}

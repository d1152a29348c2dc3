import SwiftUI

@main
struct MoaeSampleApp: App {
    var body: some Scene {
        WindowGroup { ContentView() }
    }
}

struct ContentView: View {
    @StateObject private var camera = LivenessCamera()

    var body: some View {
        ZStack(alignment: .bottom) {
            CameraPreview(session: camera.session).ignoresSafeArea()
            Text(camera.verdict)
                .font(.title3)
                .foregroundStyle(.white)
                .padding()
                .frame(maxWidth: .infinity)
                .background(.black.opacity(0.6))
        }
        .task { await camera.start() }
    }
}

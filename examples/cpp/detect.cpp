// Example: frame in, decision out for image files with the C++ wrapper (moae.hpp).
//   c++ -std=c++17 detect.cpp $(pkg-config --cflags --libs moae) -o detect_cpp
//   MOAE_FACE_DETECTOR=face_detection_front_128x128.onnx ./detect_cpp model.onnx photo.jpg ...
//   ./detect_cpp --whole-frame model.onnx face_crop.png ...   (each image is already the face)
// Prints "<image>: <live|attack|unsure> <attack score>" per face, with box, quality and flags.
#include <moae.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>

int main(int argc, char** argv) {
  int first = 1;
  moae::Options opts;
  if (argc > 1 && std::strcmp(argv[1], "--whole-frame") == 0) {
    opts.whole_frame();
    first = 2;
  } else if (const char* det = std::getenv("MOAE_FACE_DETECTOR"); det && *det) {
    opts.face_detector(det);
  } else {
    std::fprintf(stderr,
                 "no face detector: set MOAE_FACE_DETECTOR (scripts/setup.sh puts it in "
                 ".venv/face/), or pass --whole-frame for images that are already the face\n");
    return 2;
  }
  if (argc < first + 2) {
    std::fprintf(stderr, "usage: %s [--whole-frame] MODEL.onnx IMAGE...\n", argv[0]);
    return 2;
  }
  try {
    moae::Engine engine(argv[first], opts);
    auto info = engine.info();
    std::printf("libmoae %s, input %upx, threshold %.4f\n", moae::version().c_str(),
                info.input_size, info.threshold);
    for (int i = first + 1; i < argc; i++) {
      moae::DecodedImage pixels(argv[i]);
      auto analysis = engine.analyze(pixels.image());
      if (analysis.faces.empty()) std::printf("%s: no face\n", argv[i]);
      for (const moae::Face& f : analysis.faces) {
        std::printf("%s: %s %.6f box %.1f,%.1f,%.1f,%.1f quality", argv[i],
                    moae::decision_name(f.c.decision), f.c.attack_score, f.c.box.x, f.c.box.y,
                    f.c.box.width, f.c.box.height);
        auto flags = f.quality_flag_names();
        if (flags.empty()) std::printf(" ok");
        for (const auto& name : flags) std::printf(" %s", name.c_str());
        std::printf(" (face %.0fpx, brightness %.0f, sharpness %.0f)\n", f.c.quality.face_px,
                    f.c.quality.brightness, f.c.quality.sharpness);
        if (auto types = f.attack_type()) {
          std::printf("  attack type:");
          for (std::size_t k = 0; k < types->size(); k++) {
            std::printf(" %s %.3f", moae::attack_types[k], (*types)[k]);
          }
          std::printf("\n");
        }
      }
    }
  } catch (const moae::Error& e) {
    std::fprintf(stderr, "error %d: %s\n", static_cast<int>(e.status()), e.what());
    return 2;
  }
  return 0;
}

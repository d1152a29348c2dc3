// Example: live vs attack for image files with the C++ wrapper (moae.hpp).
//   c++ -std=c++17 detect.cpp $(pkg-config --cflags --libs moae) -o detect_cpp
//   ./detect_cpp model.onnx face1.jpg [face2.png ...]
#include <moae.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL.onnx IMAGE...\n", argv[0]);
    return 2;
  }
  try {
    moae::Engine engine(argv[1]);
    auto info = engine.info();
    std::printf("libmoae %s, input %upx, threshold %.4f\n", moae::version().c_str(),
                info.input_size, info.threshold);
    for (int i = 2; i < argc; i++) {
      moae::DecodedImage pixels(argv[i]);
      auto r = engine.detect(pixels.image()).at(0);
      std::printf("%s: %s %.6f\n", argv[i], r.is_attack ? "attack" : "live", r.attack_score);
    }
  } catch (const moae::Error& e) {
    std::fprintf(stderr, "error %d: %s\n", static_cast<int>(e.status()), e.what());
    return 2;
  }
  return 0;
}

// C++ consumer test: the RAII wrapper gives the same scores as C/Rust, moves ownership, and
// turns failures into moae::Error with status + message; attack types on detect and analyze.
//   MOAE_TYPED_MODEL=typed.onnx cpp_test MODEL W H IMG.rgb...
// prints "SCORE path whole" lines, and "TYPES i p0 p1 p2 p3" for the typed model's detect()
// on the first image's two boxes.
#include "moae.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

static int failures = 0;
#define CHECK(c, msg)                                        \
  do {                                                       \
    if (!(c)) {                                              \
      std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, msg); \
      failures++;                                            \
    }                                                        \
  } while (0)

int main(int argc, char** argv) {
  if (argc < 5) return 2;
  std::uint32_t w = std::atoi(argv[2]), h = std::atoi(argv[3]);
  moae::Options opts;
  opts.whole_frame();
  moae::Options copy = opts;  // the copy keeps its own strings and settings
  CHECK(copy.c.whole_frame == 1, "options copy");
  moae::Engine first(argv[1], copy);
  moae::Engine engine(std::move(first));  // move-only ownership
  CHECK(first.get() == nullptr && engine.get() != nullptr, "move leaves the source empty");
  for (int i = 4; i < argc; i++) {
    std::ifstream f(argv[i], std::ios::binary);
    std::vector<std::uint8_t> rgb((std::istreambuf_iterator<char>(f)), {});
    CHECK(rgb.size() == std::size_t(w) * h * 3, "image size");
    auto img = moae::Image::packed(MOAE_PIXEL_RGB, rgb.data(), rgb.size(), w, h);
    auto r = engine.detect(img);
    CHECK(r.size() == 1, "one result");
    auto two = engine.detect(img, {{0, 0, 16, 16}, {4, 4, 20, 20}});
    CHECK(two.size() == 2, "two results");
    // analyze: the whole frame is the same score; caller boxes come back as given.
    auto whole = engine.analyze(img);
    CHECK(whole.faces.size() == 1 && whole.faces[0].c.attack_score == r[0].attack_score,
          "analyze whole frame = detect");
    CHECK(whole.faces.size() == 1 && whole.faces[0].c.source == MOAE_FACE_SOURCE_WHOLE_FRAME,
          "whole-frame source");
    auto boxed = engine.analyze(img, {moae::BoxInput(0.f, 0.f, 1.f, 1.f, MOAE_BOX_UPRIGHT,
                                                     MOAE_UNITS_NORMALIZED)});
    CHECK(boxed.faces.size() == 1 && boxed.faces[0].c.box.width == float(w),
          "normalised box");
    // MODEL has no attack-type head: no probabilities, not zeros.
    CHECK(!r[0].attack_type() && !two[1].attack_type() && !whole.faces[0].attack_type(),
          "no attack type without the head");
    std::printf("SCORE %s %.9g\n", argv[i], r[0].attack_score);
  }
  const char* typed_model = std::getenv("MOAE_TYPED_MODEL");
  CHECK(typed_model && *typed_model, "MOAE_TYPED_MODEL names the typed model");
  if (typed_model && *typed_model) {
    moae::Engine typed(typed_model, opts);
    std::ifstream f(argv[4], std::ios::binary);
    std::vector<std::uint8_t> rgb((std::istreambuf_iterator<char>(f)), {});
    auto img = moae::Image::packed(MOAE_PIXEL_RGB, rgb.data(), rgb.size(), w, h);
    auto d = typed.detect(img, {{0, 0, 16, 16}, {4, 4, 20, 20}});
    auto a = typed.analyze(img, {moae::BoxInput(0, 0, 16, 16), moae::BoxInput(4, 4, 20, 20)});
    CHECK(d.size() == 2 && a.faces.size() == 2, "two typed results");
    for (std::size_t i = 0; i < d.size() && i < a.faces.size(); i++) {
      auto t = d[i].attack_type();
      CHECK(t.has_value(), "detect: the typed model's attack type");
      CHECK(t == a.faces[i].attack_type(), "detect and analyze: the same attack type");
      if (!t) continue;
      float sum = (*t)[0] + (*t)[1] + (*t)[2] + (*t)[3];
      CHECK(std::fabs(sum - 1.f) < 1e-5f, "attack types sum to 1");
      std::printf("TYPES %zu %.9g %.9g %.9g %.9g\n", i, (*t)[0], (*t)[1], (*t)[2], (*t)[3]);
    }
  }
  try {
    moae::Engine missing("/nonexistent/model.onnx");
    CHECK(false, "no exception for a missing model");
  } catch (const moae::Error& e) {
    CHECK(e.status() == MOAE_ERR_IO, "status IO");
    CHECK(std::strstr(e.what(), "/nonexistent/model.onnx") != nullptr, "message names the path");
    std::printf("ok exception %d: %s\n", static_cast<int>(e.status()), e.what());
  }
  try {
    std::uint8_t px[3] = {1, 2, 3};
    auto bad = moae::Image::packed(static_cast<moae_pixel_format>(99), px, 3, 1, 1);
    engine.detect(bad);
    CHECK(false, "no exception for an unknown format");
  } catch (const moae::Error& e) {
    CHECK(e.status() == MOAE_ERR_UNKNOWN_FORMAT, "status UNKNOWN_FORMAT");
  }
  try {
    moae::Engine plain(argv[1]);  // neither a detector nor whole_frame
    std::uint8_t px[16 * 16 * 3] = {0};
    plain.analyze(moae::Image::packed(MOAE_PIXEL_RGB, px, sizeof px, 16, 16));
    CHECK(false, "no exception for analyze without detector and whole_frame");
  } catch (const moae::Error& e) {
    CHECK(e.status() == MOAE_ERR_INVALID_ARGUMENT, "status INVALID_ARGUMENT");
    std::printf("ok exception %d: %s\n", static_cast<int>(e.status()), e.what());
  }
  CHECK(moae::Face::flag_names(MOAE_QUALITY_TOO_DARK | MOAE_QUALITY_HEAD_YAW).size() == 2,
        "flag names");
  auto info = engine.info();
  CHECK(info.model_sha256.size() == 64, "sha256 hex");
  std::printf("%d failures\n", failures);
  return failures ? 1 : 0;
}

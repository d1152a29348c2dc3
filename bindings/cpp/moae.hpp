// moae.hpp - header-only C++17 RAII wrapper over the libmoae C ABI (moae.h).
//
// moae::Engine owns a moae_engine (move-only; destroyed with the object). Failures throw
// moae::Error, which carries the moae_status and the detail of moae_last_error().
// Thread safety is the C ABI's: one Engine may be used by many threads at once (analyze(),
// detect() and info() are const); moving or destroying it must not overlap with other use.
//
// Frame in, decision out: Engine::analyze(image) finds the faces with the face detector
// (Options::face_detector), checks their quality and returns a Decision per face (LIVE, ATTACK,
// or UNSURE when a quality flag is set); no face is an empty list with MOAE_QUALITY_NO_FACE.
#ifndef MOAE_HPP
#define MOAE_HPP

#include "moae.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace moae {

class Error : public std::runtime_error {
 public:
  Error(moae_status status, const std::string& what)
      : std::runtime_error(what), status_(status) {}
  moae_status status() const noexcept { return status_; }

 private:
  moae_status status_;
};

namespace detail {
inline void check(moae_status status, const char* call) {
  if (status != MOAE_OK) {
    throw Error(status, std::string(call) + ": " + moae_status_message(status) + " (" +
                            moae_last_error() + ")");
  }
}

/// The C fields `has_attack_type` + `attack_type_probs`: nullopt without an attack-type head;
/// else the four probabilities, checked to be a distribution (fail closed: anything else is
/// MOAE_ERR_INFERENCE, never an answer).
inline std::optional<std::array<float, 4>> attack_type(std::int32_t has, const float (&p)[4],
                                                       const char* call) {
  if (has == 0) return std::nullopt;
  std::array<float, 4> out{};
  float sum = 0.f;
  bool ok = has == 1;
  for (std::size_t i = 0; i < out.size(); i++) {
    out[i] = p[i];
    ok = ok && p[i] >= 0.f && p[i] <= 1.f;
    sum += p[i];
  }
  if (!ok || !(std::fabs(sum - 1.f) <= 1e-3f)) {
    throw Error(MOAE_ERR_INFERENCE, std::string(call) +
                                        ": attack-type probabilities are not a distribution; "
                                        "no answer (has_attack_type " +
                                        std::to_string(has) + ")");
  }
  return out;
}
}  // namespace detail

/// Class order of the attack-type probabilities (spec §6's fine-grained labels).
inline constexpr std::array<const char*, 4> attack_types = {"live", "physical", "adversarial",
                                                            "digital"};

/// Options with the C defaults (moae_options_init); set fields directly, then pass to Engine.
/// The strings set through the helpers are kept in this object (the C struct points to them),
/// so it must outlive the Engine's construction (not the Engine).
struct Options {
  moae_options c;
  // The sized init (sizeof as this header has it), never the 80-byte legacy symbol.
  Options() { moae_options_init_sized(&c, sizeof c); }
  Options(const Options& o) : c(o.c), detector_path_(o.detector_path_) { repoint(); }
  Options& operator=(const Options& o) {
    c = o.c;
    detector_path_ = o.detector_path_;
    repoint();
    return *this;
  }
  /// The face detector (BlazeFace ONNX) that analyze() uses when no boxes are given.
  Options& face_detector(const std::string& path) {
    detector_path_ = path;
    repoint();
    return *this;
  }
  /// The whole image is the face (pre-cropped images, data sets).
  Options& whole_frame(bool on = true) {
    c.whole_frame = on ? 1 : 0;
    return *this;
  }
  Options& threshold(float t) {
    c.threshold = t;
    return *this;
  }

 private:
  void repoint() {
    if (!detector_path_.empty()) c.face_detector_path = detector_path_.c_str();
  }
  std::string detector_path_;
};

/// A caller's face box for analyze(): upright or raw buffer coordinates, pixels or normalised.
struct BoxInput {
  moae_box_input c;
  BoxInput(float x, float y, float w, float h, moae_box_space space = MOAE_BOX_UPRIGHT,
           moae_box_units units = MOAE_UNITS_PIXELS) {
    c.rect = moae_box{x, y, w, h};
    c.space = space;
    c.units = units;
  }
};

/// One analysed face (the C struct, with helpers).
struct Face {
  moae_face c;
  moae_decision decision() const { return static_cast<moae_decision>(c.decision); }
  bool unsure() const { return c.decision == MOAE_DECISION_UNSURE; }
  /// The names of the set quality flags ("too_dark", ...), in bit order.
  std::vector<std::string> quality_flag_names() const { return flag_names(c.quality_flags); }
  /// P(live), P(physical), P(adversarial), P(digital) (moae::attack_types), summing to 1;
  /// nullopt when the model has no attack-type head. The decision stays the attack score.
  std::optional<std::array<float, 4>> attack_type() const {
    return detail::attack_type(c.has_attack_type, c.attack_type_probs, "moae_analyze");
  }

  static std::vector<std::string> flag_names(std::uint32_t flags) {
    static const char* names[] = {"no_face",   "several_faces", "too_small",
                                  "partly_outside", "too_dark", "too_bright",
                                  "blurred",   "head_roll",     "head_yaw"};
    std::vector<std::string> out;
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
      if (flags & (1u << i)) out.emplace_back(names[i]);
    }
    return out;
  }
};

/// One detect() result: the C struct (its fields read directly, e.g. `r.attack_score`), with
/// the attack type.
struct Detection : moae_result {
  explicit Detection(const moae_result& r) : moae_result(r) {}
  /// As Face::attack_type(); nullopt when the model has no attack-type head.
  std::optional<std::array<float, 4>> attack_type() const {
    return detail::attack_type(has_attack_type, attack_type_probs, "moae_detect");
  }
};

inline const char* decision_name(int decision) {
  switch (decision) {
    case MOAE_DECISION_LIVE: return "live";
    case MOAE_DECISION_ATTACK: return "attack";
    case MOAE_DECISION_UNSURE: return "unsure";
    default: return "unknown";
  }
}

/// Everything about one frame: the faces (empty when none was found) and the frame's flags
/// (MOAE_QUALITY_NO_FACE, MOAE_QUALITY_SEVERAL_FACES).
struct FrameAnalysis {
  std::vector<Face> faces;
  std::uint32_t flags = 0;
  bool no_face() const { return (flags & MOAE_QUALITY_NO_FACE) != 0; }
};

struct Info {
  moae_provider provider;
  std::uint32_t input_size;
  float threshold;
  bool threshold_calibrated;
  std::string model_sha256;
  std::string precision;
  std::string ort_version;
  std::string ort_library_path;
  /// Why preferred providers were skipped; empty when the first one was used.
  std::string fallback_reason;
};

/// A frame: a view of caller memory, which must stay valid during detect().
struct Image {
  moae_image c;
  Image() { moae_image_init_sized(&c, sizeof c); }
  static Image packed(moae_pixel_format format, const std::uint8_t* data, std::size_t size,
                      std::uint32_t width, std::uint32_t height, std::size_t stride = 0,
                      int rotation = 0, bool mirrored = false) {
    Image img;
    img.c.mirrored = mirrored ? 1 : 0;
    img.c.format = format;
    img.c.width = width;
    img.c.height = height;
    img.c.planes[0] = data;
    img.c.plane_sizes[0] = size;
    img.c.strides[0] = stride;
    img.c.rotation = rotation;
    return img;
  }
};

/// Pixels decoded by moae_decode_image_file (packed RGB), freed on destruction.
class DecodedImage {
 public:
  explicit DecodedImage(const std::string& path) {
    detail::check(moae_decode_image_file(path.c_str(), &rgb_, &width_, &height_),
                  "moae_decode_image_file");
  }
  ~DecodedImage() { moae_image_free(rgb_); }
  DecodedImage(const DecodedImage&) = delete;
  DecodedImage& operator=(const DecodedImage&) = delete;
  DecodedImage(DecodedImage&& o) noexcept
      : rgb_(std::exchange(o.rgb_, nullptr)), width_(o.width_), height_(o.height_) {}
  DecodedImage& operator=(DecodedImage&& o) noexcept {
    if (this != &o) {
      moae_image_free(rgb_);
      rgb_ = std::exchange(o.rgb_, nullptr);
      width_ = o.width_;
      height_ = o.height_;
    }
    return *this;
  }
  std::uint32_t width() const noexcept { return width_; }
  std::uint32_t height() const noexcept { return height_; }
  const std::uint8_t* data() const noexcept { return rgb_; }
  std::size_t size() const noexcept { return std::size_t(width_) * height_ * 3; }
  Image image() const { return Image::packed(MOAE_PIXEL_RGB, rgb_, size(), width_, height_); }

 private:
  std::uint8_t* rgb_ = nullptr;
  std::uint32_t width_ = 0, height_ = 0;
};

class Engine {
 public:
  explicit Engine(const std::string& model_path, const Options& opts = Options()) {
    detail::check(moae_engine_create_from_file(model_path.c_str(), &opts.c, &engine_),
                  "moae_engine_create_from_file");
  }
  Engine(const std::uint8_t* data, std::size_t len, const Options& opts = Options()) {
    detail::check(moae_engine_create_from_memory(data, len, &opts.c, &engine_),
                  "moae_engine_create_from_memory");
  }
  ~Engine() { moae_engine_destroy(engine_); }
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  Engine(Engine&& o) noexcept : engine_(std::exchange(o.engine_, nullptr)) {}
  Engine& operator=(Engine&& o) noexcept {
    if (this != &o) {
      moae_engine_destroy(engine_);
      engine_ = std::exchange(o.engine_, nullptr);
    }
    return *this;
  }

  /// Frame in, decision out (moae_analyze): no boxes = the face detector finds the faces (or,
  /// with whole_frame, the image is the face); else one face per box, in order.
  FrameAnalysis analyze(const Image& image, const std::vector<BoxInput>& boxes = {}) const {
    std::vector<moae_box_input> in;
    in.reserve(boxes.size());
    for (const BoxInput& b : boxes) in.push_back(b.c);
    std::vector<moae_face> faces(boxes.empty() ? 4 : boxes.size());
    std::size_t n = 0;
    std::uint32_t flags = 0;
    auto call = [&] {
      return moae_analyze(engine_, &image.c, in.empty() ? nullptr : in.data(), in.size(),
                          faces.data(), sizeof(moae_face), faces.size(), &n, &flags);
    };
    moae_status st = call();
    if (st == MOAE_ERR_BUFFER_TOO_SMALL && n > faces.size()) {
      faces.resize(n);
      st = call();
    }
    detail::check(st, "moae_analyze");
    FrameAnalysis out;
    out.flags = flags;
    for (std::size_t i = 0; i < n; i++) {
      const moae_face& f = faces[i];
      if (!std::isfinite(f.attack_score) || !std::isfinite(f.threshold)) {
        throw Error(MOAE_ERR_INFERENCE, "moae_analyze: non-finite attack_score; no decision");
      }
      out.faces.push_back(Face{f});
      out.faces.back().attack_type();  // checked here: a bad distribution throws now
    }
    return out;
  }

  /// Scores the given boxes (upright pixels), one result per box, in order. No boxes: one
  /// result for the whole image, only with Options::whole_frame (else MOAE_ERR_INVALID_ARGUMENT;
  /// use analyze() to let the face detector find the faces).
  std::vector<Detection> detect(const Image& image,
                                const std::vector<moae_box>& boxes = {}) const {
    std::vector<moae_result> results(boxes.empty() ? 1 : boxes.size());
    std::size_t n = 0;
    // moae_detect_sized with this header's sizeof(moae_result) (what the moae_detect macro
    // passes), so the attack-type fields are written.
    detail::check(moae_detect_sized(engine_, &image.c, boxes.empty() ? nullptr : boxes.data(),
                                    boxes.size(), results.data(), sizeof(moae_result),
                                    results.size(), &n),
                  "moae_detect");
    results.resize(n);
    // libmoae never returns a non-finite score (it is MOAE_ERR_INFERENCE); checked again here
    // so that no build of the wrapper can turn one into a verdict.
    std::vector<Detection> out;
    out.reserve(n);
    for (const moae_result& r : results) {
      if (!std::isfinite(r.attack_score) || !std::isfinite(r.threshold)) {
        throw Error(MOAE_ERR_INFERENCE, "moae_detect: non-finite attack_score; no decision");
      }
      out.emplace_back(r);
      out.back().attack_type();  // checked here: a bad distribution throws now
    }
    return out;
  }

  Info info() const {
    moae_engine_info i{};
    i.struct_size = sizeof i;
    detail::check(moae_engine_get_info(engine_, &i), "moae_engine_get_info");
    return Info{static_cast<moae_provider>(i.provider),
                i.input_size,
                i.threshold,
                i.threshold_calibrated != 0,
                i.model_sha256,
                i.precision,
                i.ort_version,
                i.ort_library_path,
                i.fallback_reason};
  }

  /// The C handle, still owned by this object (NULL after a move).
  const moae_engine* get() const noexcept { return engine_; }

 private:
  moae_engine* engine_ = nullptr;
};

inline std::string version() { return moae_version_string(); }

}  // namespace moae

#endif  // MOAE_HPP

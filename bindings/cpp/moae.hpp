// moae.hpp - header-only C++17 RAII wrapper over the libmoae C ABI (moae.h).
//
// moae::Engine owns a moae_engine (move-only; destroyed with the object). Failures throw
// moae::Error, which carries the moae_status and the detail of moae_last_error().
// Thread safety is the C ABI's: one Engine may be used by many threads at once (detect() and
// info() are const); moving or destroying it must not overlap with other use.
#ifndef MOAE_HPP
#define MOAE_HPP

#include "moae.h"

#include <cmath>
#include <cstdint>
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
}  // namespace detail

/// Options with the C defaults (moae_options_init); set fields directly, then pass to Engine.
struct Options {
  moae_options c;
  Options() { moae_options_init(&c); }
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
  Image() { moae_image_init(&c); }
  static Image packed(moae_pixel_format format, const std::uint8_t* data, std::size_t size,
                      std::uint32_t width, std::uint32_t height, std::size_t stride = 0,
                      int rotation = 0) {
    Image img;
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

  /// The whole frame (no boxes: one result) or one result per box, in order.
  std::vector<moae_result> detect(const Image& image,
                                  const std::vector<moae_box>& boxes = {}) const {
    std::vector<moae_result> results(boxes.empty() ? 1 : boxes.size());
    std::size_t n = 0;
    detail::check(moae_detect(engine_, &image.c, boxes.empty() ? nullptr : boxes.data(),
                              boxes.size(), results.data(), results.size(), &n),
                  "moae_detect");
    results.resize(n);
    // libmoae never returns a non-finite score (it is MOAE_ERR_INFERENCE); checked again here
    // so that no build of the wrapper can turn one into a verdict.
    for (const moae_result& r : results) {
      if (!std::isfinite(r.attack_score) || !std::isfinite(r.threshold)) {
        throw Error(MOAE_ERR_INFERENCE, "moae_detect: non-finite attack_score; no decision");
      }
    }
    return results;
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

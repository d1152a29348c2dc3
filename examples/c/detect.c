/* Example: decide live vs attack for one image file with libmoae's C ABI.
 *   cc detect.c $(pkg-config --cflags --libs moae) -o detect
 *   ./detect model.onnx face.jpg
 * Prints "live" or "attack" with the score; exit 0 live, 1 attack, 2 error. */
#include <moae.h>
#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s MODEL.onnx IMAGE\n", argv[0]);
    return 2;
  }
  moae_options opts;
  moae_options_init(&opts);
  moae_engine *engine = NULL;
  moae_status st = moae_engine_create_from_file(argv[1], &opts, &engine);
  if (st != MOAE_OK) {
    fprintf(stderr, "cannot load %s: %s: %s\n", argv[1], moae_status_message(st),
            moae_last_error());
    return 2;
  }
  uint8_t *rgb = NULL;
  uint32_t w = 0, h = 0;
  st = moae_decode_image_file(argv[2], &rgb, &w, &h);
  if (st != MOAE_OK) {
    fprintf(stderr, "cannot read %s: %s\n", argv[2], moae_last_error());
    moae_engine_destroy(engine);
    return 2;
  }
  moae_image img;
  moae_image_init(&img);
  img.format = MOAE_PIXEL_RGB;
  img.width = w;
  img.height = h;
  img.planes[0] = rgb;
  img.plane_sizes[0] = (size_t)w * h * 3;
  moae_result result;
  size_t n = 0;
  st = moae_detect(engine, &img, NULL, 0, &result, 1, &n); /* whole frame */
  moae_image_free(rgb);
  moae_engine_destroy(engine);
  if (st != MOAE_OK) {
    fprintf(stderr, "detection failed: %s\n", moae_last_error());
    return 2;
  }
  printf("%s %.6f (threshold %.6f, %.2f ms)\n", result.is_attack ? "attack" : "live",
         result.attack_score, result.threshold, result.latency_ms);
  return result.is_attack ? 1 : 0;
}

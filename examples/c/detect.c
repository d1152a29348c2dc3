/* Example: frame in, decision out with libmoae's C ABI.
 *   cc detect.c $(pkg-config --cflags --libs moae) -o detect
 *   ./detect model.onnx photo.jpg face_detection_front_128x128.onnx
 *   ./detect model.onnx photo.jpg              (detector from $MOAE_FACE_DETECTOR)
 *   ./detect model.onnx face_crop.png --whole-frame   (the image is already the face)
 * The face detector finds every face; for each, prints one line
 *   "<live|attack|unsure> <attack score> (threshold T, X ms)"
 * then its box (upright pixels), detector score, quality flags and values.
 * Exit status: 0 all faces live, 1 an attack, 3 unsure (a quality check failed: ask for a
 * better frame), 4 no face, 2 error. */
#include <moae.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *decision_name(int d) {
  return d == MOAE_DECISION_LIVE ? "live" : d == MOAE_DECISION_ATTACK ? "attack" : "unsure";
}

static void print_flags(uint32_t flags) {
  static const char *names[] = {"no_face",  "several_faces", "too_small", "partly_outside",
                                "too_dark", "too_bright",    "blurred",   "head_roll",
                                "head_yaw"};
  int any = 0;
  for (unsigned i = 0; i < sizeof names / sizeof *names; i++)
    if (flags & (1u << i)) printf("%s%s", any++ ? "," : "", names[i]);
  printf("%s\n", any ? "" : "none");
}

int main(int argc, char **argv) {
  if (argc < 3 || argc > 4) {
    fprintf(stderr, "usage: %s MODEL.onnx IMAGE [DETECTOR.onnx | --whole-frame]\n", argv[0]);
    return 2;
  }
  moae_options opts;
  moae_options_init(&opts);
  const char *detector = argc == 4 ? argv[3] : getenv("MOAE_FACE_DETECTOR");
  if (detector && strcmp(detector, "--whole-frame") == 0) {
    opts.whole_frame = 1;
  } else if (detector && *detector) {
    opts.face_detector_path = detector;
  } else {
    fprintf(stderr, "no face detector: pass DETECTOR.onnx or set MOAE_FACE_DETECTOR "
                    "(scripts/setup.sh puts it in .venv/face/), or --whole-frame for an image "
                    "that is already the face\n");
    return 2;
  }
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
  /* A phone frame would also set img.rotation (0/90/180/270) and img.mirrored (front camera). */
  moae_face faces[8];
  size_t n = 0;
  uint32_t frame_flags = 0;
  st = moae_analyze(engine, &img, NULL, 0, faces, sizeof(moae_face), 8, &n, &frame_flags);
  moae_image_free(rgb);
  moae_engine_destroy(engine);
  if (st == MOAE_ERR_BUFFER_TOO_SMALL) {
    fprintf(stderr, "%zu faces: more than this example prints\n", n);
    return 2;
  }
  if (st != MOAE_OK) {
    fprintf(stderr, "analysis failed: %s: %s\n", moae_status_message(st), moae_last_error());
    return 2;
  }
  if (n == 0) {
    printf("no face (frame flags: ");
    print_flags(frame_flags);
    return 4;
  }
  int rc = 0;
  for (size_t i = 0; i < n; i++) {
    const moae_face *f = &faces[i];
    printf("%s %.6f (threshold %.6f, %.2f ms)\n", decision_name(f->decision), f->attack_score,
           f->threshold, f->latency_ms);
    printf("  face %zu: box x=%.1f y=%.1f w=%.1f h=%.1f", i, f->box.x, f->box.y, f->box.width,
           f->box.height);
    if (f->source == MOAE_FACE_SOURCE_DETECTOR)
      printf(", detector score %.3f, nose at %.1f,%.1f\n", f->detector_score, f->keypoints[4],
             f->keypoints[5]);
    else
      printf(", %s\n", f->source == MOAE_FACE_SOURCE_WHOLE_FRAME ? "whole frame" : "caller box");
    printf("  quality flags: ");
    print_flags(f->quality_flags);
    printf("  quality values: face_px=%.1f outside=%.3f brightness=%.1f overexposed=%.3f "
           "sharpness=%.1f roll=%.1f yaw=%.1f\n",
           f->quality.face_px, f->quality.outside_fraction, f->quality.brightness,
           f->quality.overexposed_fraction, f->quality.sharpness, f->quality.roll_deg,
           f->quality.yaw_deg);
    if (f->has_attack_type)
      printf("  attack type: live %.3f, physical %.3f, adversarial %.3f, digital %.3f\n",
             f->attack_type_probs[0], f->attack_type_probs[1], f->attack_type_probs[2],
             f->attack_type_probs[3]);
    int code = f->decision == MOAE_DECISION_ATTACK ? 1 : f->decision == MOAE_DECISION_UNSURE ? 3 : 0;
    if (code == 1 || (code == 3 && rc == 0)) rc = code;
  }
  return rc;
}

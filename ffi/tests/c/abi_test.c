/*
 * C consumer of libmoae, driven by ffi/tests/c_abi.rs. Modes:
 *   abi_test scores MODEL W H IMG.rgb...   print scores of each raw RGB image (3 variants each)
 *   abi_test errors MODEL CORRUPT          every error path returns its status and a message
 *   abi_test threads MODEL W H IMG.rgb...  8 pthreads share one engine; results match serial
 *   abi_test old_options MODEL             an older, smaller moae_options is accepted
 *   abi_test missing_ort MODEL             a missing ORT library is MOAE_ERR_ORT_LIBRARY
 *   abi_test analyze MODEL                 moae_analyze: whole frame = moae_detect's score; one
 *                                          face box given upright/raw x pixels/normalised x
 *                                          mirrored or not, in every rotation, gives one score
 *   abi_test init_sizes MODEL              the exported legacy moae_options_init/moae_image_init
 *                                          write only the 80/96-byte version-1 structs (canary
 *                                          after them intact); the _sized ones write exactly
 *                                          min(size, sizeof) bytes, for smaller/larger sizes
 *   abi_test noface MODEL DETECTOR [PHOTO] with the face detector: an empty frame is NO_FACE
 *                                          (no face, no score); PHOTO has exactly one face,
 *                                          the same with the detector given as bytes and
 *                                          from 4 threads at once
 * Exit status 0 = all checks passed. Output lines "FAIL ..." name a failed check.
 */
#include "moae.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

static int failures = 0;

#define CHECK(cond, ...)                                                   \
  do {                                                                     \
    if (!(cond)) {                                                         \
      printf("FAIL %s:%d: ", __FILE__, __LINE__);                          \
      printf(__VA_ARGS__);                                                 \
      printf(" [last_error: %s]\n", moae_last_error());                    \
      failures++;                                                          \
    }                                                                      \
  } while (0)

/* The status AND a non-empty detail message, and the static message is not the generic one. */
#define EXPECT_STATUS(call, expected)                                                   \
  do {                                                                                  \
    moae_clear_last_error();                                                            \
    moae_status st_ = (call);                                                           \
    CHECK(st_ == (expected), "%s returned %d (%s), expected %d", #call, (int)st_,       \
          moae_status_message(st_), (int)(expected));                                   \
    CHECK(strlen(moae_last_error()) > 0, "%s: no moae_last_error detail", #call);      \
    CHECK(strcmp(moae_status_message(st_), moae_status_message(9999)) != 0,            \
          "%s: no specific message", #call);                                            \
    printf("ok %-60.60s -> %d: %s | %s\n", #call, (int)st_, moae_status_message(st_),   \
           moae_last_error());                                                          \
  } while (0)

static unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *buf = malloc((size_t)n > 0 ? (size_t)n : 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return buf;
}

/* The scoring modes score whole images too: the engine is made with whole_frame = 1. */
static moae_engine *create(const char *model) {
  moae_options opts;
  moae_options_init(&opts);
  opts.intra_op_threads = 1;
  opts.whole_frame = 1;
  moae_engine *engine = NULL;
  moae_status st = moae_engine_create_from_file(model, &opts, &engine);
  if (st != MOAE_OK) {
    printf("FAIL create %s: %s: %s\n", model, moae_status_message(st), moae_last_error());
    exit(2);
  }
  return engine;
}

static moae_image rgb_image(const unsigned char *rgb, uint32_t w, uint32_t h) {
  moae_image img;
  moae_image_init(&img);
  img.format = MOAE_PIXEL_RGB;
  img.width = w;
  img.height = h;
  img.planes[0] = rgb;
  img.plane_sizes[0] = (size_t)w * h * 3;
  img.strides[0] = (size_t)w * 3;
  return img;
}

/* Three scores per image, in the order the Rust driver computes them:
 * whole frame RGB; RGB with one face box; BGRA with padded stride, rotated 90 degrees. */
static int score_image(const moae_engine *engine, const unsigned char *rgb, uint32_t w,
                       uint32_t h, float out[3]) {
  moae_result r[2];
  size_t n = 0;
  moae_image img = rgb_image(rgb, w, h);
  moae_status st = moae_detect(engine, &img, NULL, 0, r, 2, &n);
  if (st != MOAE_OK || n != 1) return -1;
  out[0] = r[0].attack_score;
  if (fabsf(r[0].attack_score + r[0].live_score - 1.0f) > 1e-5f) return -2;
  if (r[0].is_attack != (r[0].attack_score >= r[0].threshold)) return -3;

  moae_box box = {(float)w * 0.25f, (float)h * 0.2f, (float)w * 0.5f, (float)h * 0.6f};
  st = moae_detect(engine, &img, &box, 1, r, 2, &n);
  if (st != MOAE_OK || n != 1) return -4;
  out[1] = r[0].attack_score;

  size_t stride = (size_t)w * 4 + 12;
  unsigned char *bgra = calloc(stride * h, 1);
  for (uint32_t y = 0; y < h; y++)
    for (uint32_t x = 0; x < w; x++) {
      const unsigned char *p = rgb + ((size_t)y * w + x) * 3;
      unsigned char *q = bgra + (size_t)y * stride + (size_t)x * 4;
      q[0] = p[2], q[1] = p[1], q[2] = p[0], q[3] = 255;
    }
  moae_image b;
  moae_image_init(&b);
  b.format = MOAE_PIXEL_BGRA;
  b.width = w;
  b.height = h;
  b.planes[0] = bgra;
  b.plane_sizes[0] = stride * h;
  b.strides[0] = stride;
  b.rotation = 90;
  st = moae_detect(engine, &b, NULL, 0, r, 1, &n);
  free(bgra); /* libmoae keeps nothing of ours: freeing right after the call is fine */
  if (st != MOAE_OK || n != 1) return -5;
  out[2] = r[0].attack_score;
  return 0;
}

static int mode_scores(int argc, char **argv) {
  moae_engine *engine = create(argv[2]);
  uint32_t w = (uint32_t)atoi(argv[3]), h = (uint32_t)atoi(argv[4]);
  for (int i = 5; i < argc; i++) {
    size_t len = 0;
    unsigned char *rgb = read_file(argv[i], &len);
    CHECK(rgb && len == (size_t)w * h * 3, "reading %s", argv[i]);
    if (!rgb) continue;
    float s[3];
    int rc = score_image(engine, rgb, w, h, s);
    CHECK(rc == 0, "score_image %s: %d", argv[i], rc);
    if (rc == 0) printf("SCORE %s %.9g %.9g %.9g\n", argv[i], s[0], s[1], s[2]);
    free(rgb);
  }
  moae_engine_info info;
  info.struct_size = sizeof info;
  CHECK(moae_engine_get_info(engine, &info) == MOAE_OK, "get_info");
  printf("INFO provider=%d input=%u threshold=%.9g calibrated=%d sha256=%s precision=%s\n",
         info.provider, info.input_size, info.threshold, info.threshold_calibrated,
         info.model_sha256, info.precision);
  moae_engine_destroy(engine);
  return failures ? 1 : 0;
}

static int mode_errors(char **argv) {
  const char *model = argv[2], *corrupt = argv[3];
  moae_engine *engine = create(model);
  unsigned char px[32 * 32 * 3];
  memset(px, 100, sizeof px);
  moae_image img = rgb_image(px, 32, 32);
  moae_result r[2];
  size_t n = 99;

  EXPECT_STATUS(moae_detect(NULL, &img, NULL, 0, r, 2, &n), MOAE_ERR_NULL_ARGUMENT);
  EXPECT_STATUS(moae_detect(engine, NULL, NULL, 0, r, 2, &n), MOAE_ERR_NULL_ARGUMENT);
  EXPECT_STATUS(moae_detect(engine, &img, NULL, 0, r, 2, NULL), MOAE_ERR_NULL_ARGUMENT);
  EXPECT_STATUS(moae_detect(engine, &img, NULL, 0, NULL, 2, &n), MOAE_ERR_NULL_ARGUMENT);
  EXPECT_STATUS(moae_detect(engine, &img, NULL, 2, r, 2, &n), MOAE_ERR_NULL_ARGUMENT);

  moae_image bad = img;
  bad.format = 42;
  EXPECT_STATUS(moae_detect(engine, &bad, NULL, 0, r, 2, &n), MOAE_ERR_UNKNOWN_FORMAT);
  bad = img;
  bad.plane_sizes[0] = 32 * 32 * 3 - 1; /* one byte short */
  EXPECT_STATUS(moae_detect(engine, &bad, NULL, 0, r, 2, &n), MOAE_ERR_INVALID_FRAME);
  bad = img;
  bad.width = 0;
  EXPECT_STATUS(moae_detect(engine, &bad, NULL, 0, r, 2, &n), MOAE_ERR_INVALID_FRAME);
  bad = img;
  bad.strides[0] = 5; /* less than a row */
  EXPECT_STATUS(moae_detect(engine, &bad, NULL, 0, r, 2, &n), MOAE_ERR_INVALID_FRAME);
  bad = img;
  bad.planes[0] = NULL;
  EXPECT_STATUS(moae_detect(engine, &bad, NULL, 0, r, 2, &n), MOAE_ERR_NULL_ARGUMENT);
  bad = img;
  bad.rotation = 45;
  EXPECT_STATUS(moae_detect(engine, &bad, NULL, 0, r, 2, &n), MOAE_ERR_INVALID_ARGUMENT);
  bad = img;
  bad.struct_size = 8; /* wrong struct size */
  EXPECT_STATUS(moae_detect(engine, &bad, NULL, 0, r, 2, &n), MOAE_ERR_STRUCT_SIZE);

  moae_box outside = {1000.f, 1000.f, 20.f, 20.f};
  EXPECT_STATUS(moae_detect(engine, &img, &outside, 1, r, 2, &n), MOAE_ERR_INVALID_FACE_BOX);
  moae_box nan_box = {NAN, 0.f, 20.f, 20.f};
  EXPECT_STATUS(moae_detect(engine, &img, &nan_box, 1, r, 2, &n), MOAE_ERR_INVALID_FACE_BOX);
  moae_box tiny = {0.f, 0.f, 8.f, 8.f}; /* under MOAE_MIN_FACE_SIZE_PX */
  EXPECT_STATUS(moae_detect(engine, &img, &tiny, 1, r, 2, &n), MOAE_ERR_INVALID_FACE_BOX);

  moae_box two[2] = {{0, 0, 16, 16}, {8, 8, 20, 20}};
  n = 0;
  EXPECT_STATUS(moae_detect(engine, &img, two, 2, r, 1, &n), MOAE_ERR_BUFFER_TOO_SMALL);
  CHECK(n == 2, "BUFFER_TOO_SMALL sets the needed count, got %zu", n);
  n = 0;
  EXPECT_STATUS(moae_detect(engine, &img, NULL, 0, NULL, 0, &n), MOAE_ERR_BUFFER_TOO_SMALL);
  CHECK(n == 1, "count query gives 1, got %zu", n);
  CHECK(moae_detect(engine, &img, two, 2, r, 2, &n) == MOAE_OK && n == 2, "two boxes");

  /* Without whole_frame, a call without boxes is refused (never a centre-square score). */
  {
    moae_options o;
    moae_options_init(&o);
    o.intra_op_threads = 1;
    moae_engine *plain = NULL;
    CHECK(moae_engine_create_from_file(model, &o, &plain) == MOAE_OK, "plain engine");
    n = 7;
    EXPECT_STATUS(moae_detect(plain, &img, NULL, 0, r, 2, &n), MOAE_ERR_INVALID_ARGUMENT);
    CHECK(n == 0 && strstr(moae_last_error(), "whole_frame") != NULL,
          "the detail says what to do, n=%zu", n);
    moae_face faces[2];
    uint32_t flags = 99;
    EXPECT_STATUS(moae_analyze(plain, &img, NULL, 0, faces, sizeof(moae_face), 2, &n, &flags),
                  MOAE_ERR_INVALID_ARGUMENT);
    CHECK(n == 0 && flags == 0, "no faces, no flags after an error");
    moae_engine_destroy(plain);
  }

  moae_engine_info info;
  EXPECT_STATUS(moae_engine_get_info(NULL, &info), MOAE_ERR_NULL_ARGUMENT);
  EXPECT_STATUS(moae_engine_get_info(engine, NULL), MOAE_ERR_NULL_ARGUMENT);
  info.struct_size = 2;
  EXPECT_STATUS(moae_engine_get_info(engine, &info), MOAE_ERR_STRUCT_SIZE);

  /* Creation errors: *out is NULL after each. */
  moae_options opts;
  moae_engine *e2 = (moae_engine *)&opts; /* garbage that must be overwritten */
  moae_options_init(&opts);
  EXPECT_STATUS(moae_engine_create_from_file(NULL, &opts, &e2), MOAE_ERR_NULL_ARGUMENT);
  CHECK(e2 == NULL, "out is NULL after a failed create");
  EXPECT_STATUS(moae_engine_create_from_file(model, &opts, NULL), MOAE_ERR_NULL_ARGUMENT);
  EXPECT_STATUS(moae_engine_create_from_file("/nonexistent/model.onnx", &opts, &e2),
                MOAE_ERR_IO);
  EXPECT_STATUS(moae_engine_create_from_file(corrupt, &opts, &e2), MOAE_ERR_MODEL);
  CHECK(e2 == NULL, "out is NULL after a failed create");
  size_t clen = 0;
  unsigned char *cbytes = read_file(corrupt, &clen);
  EXPECT_STATUS(moae_engine_create_from_memory(cbytes, clen, &opts, &e2), MOAE_ERR_MODEL);
  free(cbytes);
  EXPECT_STATUS(moae_engine_create_from_memory(NULL, 10, &opts, &e2), MOAE_ERR_NULL_ARGUMENT);
  uint8_t zero_hash[32] = {0};
  opts.model_sha256 = zero_hash;
  EXPECT_STATUS(moae_engine_create_from_file(model, &opts, &e2), MOAE_ERR_MODEL_HASH);
  moae_options_init(&opts);
  opts.struct_size = 4; /* wrong struct size: not even abi_version fits */
  EXPECT_STATUS(moae_engine_create_from_file(model, &opts, &e2), MOAE_ERR_STRUCT_SIZE);
  moae_options_init(&opts);
  opts.abi_version = MOAE_ABI_VERSION + 1;
  EXPECT_STATUS(moae_engine_create_from_file(model, &opts, &e2), MOAE_ERR_ABI_VERSION);
  moae_options_init(&opts);
  int32_t bogus_provider = 17;
  opts.providers = &bogus_provider;
  opts.provider_count = 1;
  EXPECT_STATUS(moae_engine_create_from_file(model, &opts, &e2), MOAE_ERR_INVALID_ARGUMENT);
  opts.providers = NULL;
  EXPECT_STATUS(moae_engine_create_from_file(model, &opts, &e2), MOAE_ERR_NULL_ARGUMENT);
  moae_options_init(&opts);
  opts.threshold = 2.0f;
  EXPECT_STATUS(moae_engine_create_from_file(model, &opts, &e2), MOAE_ERR_INVALID_ARGUMENT);

  /* A larger (newer) struct is accepted; its extra bytes are ignored. */
  struct {
    moae_options base;
    unsigned char future[64];
  } newer;
  memset(&newer, 0xAB, sizeof newer);
  moae_options_init(&newer.base);
  newer.base.struct_size = sizeof newer;
  CHECK(moae_engine_create_from_file(model, &newer.base, &e2) == MOAE_OK, "larger options");
  moae_engine_destroy(e2);

  /* Decoding convenience. */
  uint8_t *rgb = NULL;
  uint32_t w = 0, h = 0;
  EXPECT_STATUS(moae_decode_image_file("/nonexistent.png", &rgb, &w, &h), MOAE_ERR_IO);
  EXPECT_STATUS(moae_decode_image_file(corrupt, &rgb, &w, &h), MOAE_ERR_IMAGE_DECODE);
  CHECK(rgb == NULL, "no pixels after a failed decode");
  EXPECT_STATUS(moae_decode_image_file(corrupt, NULL, &w, &h), MOAE_ERR_NULL_ARGUMENT);

  /* Static messages and misc. */
  CHECK(moae_status_message(MOAE_OK) != NULL && moae_status_message(-5) != NULL, "messages");
  CHECK(moae_version() == ((MOAE_VERSION_MAJOR << 16) | (MOAE_VERSION_MINOR << 8) |
                           MOAE_VERSION_PATCH), "moae_version");
  CHECK(moae_abi_version() == MOAE_ABI_VERSION, "abi version");
  char expect_version[32];
  snprintf(expect_version, sizeof expect_version, "%d.%d.%d", MOAE_VERSION_MAJOR,
           MOAE_VERSION_MINOR, MOAE_VERSION_PATCH);
  CHECK(strcmp(moae_version_string(), expect_version) == 0, "version string");
  moae_engine_destroy(NULL);
  moae_image_free(NULL);
  moae_options_init_sized(NULL, sizeof(moae_options));
  (moae_options_init)(NULL);
  (moae_image_init)(NULL);
  moae_image_init_sized(NULL, sizeof(moae_image));

  moae_engine_destroy(engine);
  printf("%d failures\n", failures);
  return failures ? 1 : 0;
}

struct thread_job {
  const moae_engine *engine;
  unsigned char **images;
  int count;
  uint32_t w, h;
  const float *expected; /* [count][3] */
  int index, mismatches, errors;
};

static void *thread_main(void *arg) {
  struct thread_job *job = arg;
  for (int round = 0; round < 3; round++)
    for (int i = 0; i < job->count; i++) {
      /* Each thread walks the images in a different order. */
      int k = (i + round + job->index) % job->count;
      float s[3];
      if (score_image(job->engine, job->images[k], job->w, job->h, s) != 0) {
        job->errors++;
        continue;
      }
      for (int j = 0; j < 3; j++)
        if (fabsf(s[j] - job->expected[k * 3 + j]) > 1e-5f) job->mismatches++;
    }
  return NULL;
}

static int mode_threads(int argc, char **argv) {
  moae_engine *engine = create(argv[2]);
  uint32_t w = (uint32_t)atoi(argv[3]), h = (uint32_t)atoi(argv[4]);
  int count = argc - 5;
  unsigned char **images = calloc((size_t)count, sizeof *images);
  float *expected = calloc((size_t)count * 3, sizeof *expected);
  for (int i = 0; i < count; i++) {
    size_t len;
    images[i] = read_file(argv[5 + i], &len);
    CHECK(images[i] && len == (size_t)w * h * 3, "reading %s", argv[5 + i]);
    CHECK(score_image(engine, images[i], w, h, expected + i * 3) == 0, "serial %d", i);
  }
  enum { THREADS = 8 };
  pthread_t tids[THREADS];
  struct thread_job jobs[THREADS];
  for (int t = 0; t < THREADS; t++) {
    jobs[t] = (struct thread_job){engine, images, count, w, h, expected, t, 0, 0};
    CHECK(pthread_create(&tids[t], NULL, thread_main, &jobs[t]) == 0, "pthread_create");
  }
  int total = 0;
  for (int t = 0; t < THREADS; t++) {
    pthread_join(tids[t], NULL);
    CHECK(jobs[t].errors == 0 && jobs[t].mismatches == 0, "thread %d: %d errors, %d mismatches",
          t, jobs[t].errors, jobs[t].mismatches);
    total += jobs[t].errors + jobs[t].mismatches;
  }
  printf("THREADS %d threads x 3 rounds x %d images x 3 variants, %d bad\n", THREADS, count,
         total);
  for (int i = 0; i < count; i++) free(images[i]);
  free(images);
  free(expected);
  moae_engine_destroy(engine);
  return failures ? 1 : 0;
}

/* The moae_options of an older header: everything up to max_sessions. */
typedef struct moae_options_v0 {
  uint32_t struct_size, abi_version;
  const int32_t *providers;
  size_t provider_count;
  int32_t require_provider, intra_op_threads, max_sessions;
} moae_options_v0;

static int mode_old_options(char **argv) {
  /* The old struct sits at the start of a buffer of garbage: a library that read past
   * struct_size would see threshold = NaN-ish bytes and fail or change the threshold. */
  union {
    moae_options_v0 v0;
    unsigned char raw[sizeof(moae_options) + 64];
  } buf;
  memset(&buf, 0xFF, sizeof buf);
  buf.v0.struct_size = sizeof(moae_options_v0);
  buf.v0.abi_version = MOAE_ABI_VERSION;
  buf.v0.providers = NULL;
  buf.v0.provider_count = 0;
  buf.v0.require_provider = 0;
  buf.v0.intra_op_threads = 1;
  buf.v0.max_sessions = 0;
  moae_engine *engine = NULL;
  moae_status st =
      moae_engine_create_from_file(argv[2], (const moae_options *)&buf.v0, &engine);
  CHECK(st == MOAE_OK, "old options: %s", moae_status_message(st));
  if (engine) {
    moae_engine_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    CHECK(moae_engine_get_info(engine, &info) == MOAE_OK, "info");
    printf("OLD threshold=%.9g size=%zu\n", info.threshold, sizeof(moae_options_v0));
    /* An older, smaller info struct: only the fields that fit are written. */
    struct { uint32_t struct_size; int32_t provider; uint32_t input_size; uint32_t canary; } small;
    small.struct_size = 12;
    small.canary = 0xC0FFEE;
    CHECK(moae_engine_get_info(engine, (moae_engine_info *)&small) == MOAE_OK, "small info");
    CHECK(small.canary == 0xC0FFEE && small.input_size == info.input_size,
          "small info wrote past its size");
  }
  moae_engine_destroy(engine);
  return failures ? 1 : 0;
}

static int mode_missing_ort(char **argv) {
  moae_options opts;
  moae_options_init(&opts);
  opts.ort_library_path = "/nonexistent/libonnxruntime.so.1.31.1";
  moae_engine *engine = NULL;
  EXPECT_STATUS(moae_engine_create_from_file(argv[2], &opts, &engine), MOAE_ERR_ORT_LIBRARY);
  CHECK(engine == NULL, "no engine");
  return failures ? 1 : 0;
}

/* A W x H RGB pattern with structure everywhere (so that a wrong crop changes the score). */
static unsigned char *pattern(uint32_t w, uint32_t h) {
  unsigned char *p = malloc((size_t)w * h * 3);
  for (uint32_t y = 0; y < h; y++)
    for (uint32_t x = 0; x < w; x++)
      for (uint32_t c = 0; c < 3; c++)
        p[((size_t)y * w + x) * 3 + c] =
            (unsigned char)((x * (7 + c * 3) + y * (13 - c * 2) + (x * y) % (11 + c)) & 255);
  return p;
}

/* The raw buffer whose upright view (rotate_cw(flip_lr_if_mirrored(raw), rot)) is `up`
 * (uw x uh RGB); the raw size goes to *rw, *rh. */
static unsigned char *raw_of(const unsigned char *up, uint32_t uw, uint32_t uh, int rot,
                             int mirrored, uint32_t *rw, uint32_t *rh) {
  int swap = rot == 90 || rot == 270;
  uint32_t w = swap ? uh : uw, h = swap ? uw : uh;
  unsigned char *raw = malloc((size_t)w * h * 3);
  for (uint32_t y = 0; y < h; y++)
    for (uint32_t x = 0; x < w; x++) {
      uint32_t fx = mirrored ? w - 1 - x : x, fy = y, ux, uy;
      switch (rot) {
        case 90: ux = h - 1 - fy, uy = fx; break;
        case 180: ux = w - 1 - fx, uy = h - 1 - fy; break;
        case 270: ux = fy, uy = w - 1 - fx; break;
        default: ux = fx, uy = fy;
      }
      memcpy(raw + ((size_t)y * w + x) * 3, up + ((size_t)uy * uw + ux) * 3, 3);
    }
  *rw = w, *rh = h;
  return raw;
}

/* An upright box in the raw buffer's coordinates (continuous pixels). */
static moae_box raw_box(moae_box b, uint32_t rw, uint32_t rh, int rot, int mirrored) {
  float xs[2] = {b.x, b.x + b.width}, ys[2] = {b.y, b.y + b.height};
  float minx = 1e30f, miny = 1e30f, maxx = -1e30f, maxy = -1e30f;
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) {
      float u = xs[i], v = ys[j], x, y;
      switch (rot) { /* inverse of the clockwise rotation, in the flipped buffer */
        case 90: x = v, y = (float)rh - u; break;
        case 180: x = (float)rw - u, y = (float)rh - v; break;
        case 270: x = (float)rw - v, y = u; break;
        default: x = u, y = v;
      }
      if (mirrored) x = (float)rw - x;
      minx = fminf(minx, x), maxx = fmaxf(maxx, x), miny = fminf(miny, y), maxy = fmaxf(maxy, y);
    }
  moae_box r = {minx, miny, maxx - minx, maxy - miny};
  return r;
}

static int analyze_one(const moae_engine *e, const moae_image *img, const moae_box_input *b,
                       moae_face *out) {
  size_t n = 0;
  uint32_t flags = 0;
  moae_status st = moae_analyze(e, img, b, b ? 1 : 0, out, sizeof *out, 1, &n, &flags);
  if (st != MOAE_OK) {
    printf("ANALYZE_ERROR %d %s\n", (int)st, moae_last_error());
    return -1;
  }
  return n == 1 ? 0 : -2;
}

static int mode_analyze(char **argv) {
  moae_engine *engine = create(argv[2]);
  const uint32_t W = 64, H = 48;
  unsigned char *up = pattern(W, H);
  moae_image img = rgb_image(up, W, H);
  moae_result r;
  size_t n = 0;
  moae_face f;

  /* Whole frame: the same score as moae_detect's, marked WHOLE_FRAME, no keypoints. */
  CHECK(moae_detect(engine, &img, NULL, 0, &r, 1, &n) == MOAE_OK, "detect whole");
  if (analyze_one(engine, &img, NULL, &f) == 0) {
    CHECK(fabsf(f.attack_score - r.attack_score) <= 1e-6f, "whole: %g vs %g", f.attack_score,
          r.attack_score);
    CHECK(f.source == MOAE_FACE_SOURCE_WHOLE_FRAME && f.has_keypoints == 0 &&
              f.detector_score < 0.f, "whole-frame face fields");
    CHECK(fabsf(f.attack_score + f.live_score - 1.f) <= 1e-5f, "live = 1 - attack");
    CHECK(f.decision == (f.quality_flags ? MOAE_DECISION_UNSURE
                         : f.attack_score >= f.threshold ? MOAE_DECISION_ATTACK
                                                         : MOAE_DECISION_LIVE),
          "decision %d from score %g, threshold %g, flags %u", f.decision, f.attack_score,
          f.threshold, f.quality_flags);
    printf("WHOLE %.9g\n", f.attack_score);
  } else {
    CHECK(0, "analyze whole frame");
  }

  /* One face box (upright pixels on the upright image) is the reference. */
  const moae_box face = {12.f, 9.f, 30.f, 26.f};
  CHECK(moae_detect(engine, &img, &face, 1, &r, 1, &n) == MOAE_OK, "detect box");
  float ref = r.attack_score;
  int variants = 0;
  for (int rot = 0; rot < 360; rot += 90)
    for (int m = 0; m < 2; m++) {
      uint32_t rw, rh;
      unsigned char *raw = raw_of(up, W, H, rot, m, &rw, &rh);
      moae_image ri = rgb_image(raw, rw, rh);
      ri.rotation = rot;
      ri.mirrored = m;
      moae_box rb = raw_box(face, rw, rh, rot, m);
      for (int space = 0; space < 2; space++)
        for (int units = 0; units < 2; units++) {
          moae_box_input in;
          in.rect = space == MOAE_BOX_RAW ? rb : face;
          in.space = space;
          in.units = units;
          float iw = space == MOAE_BOX_RAW ? (float)rw : (float)W;
          float ih = space == MOAE_BOX_RAW ? (float)rh : (float)H;
          if (units == MOAE_UNITS_NORMALIZED) {
            in.rect.x /= iw, in.rect.width /= iw, in.rect.y /= ih, in.rect.height /= ih;
          }
          if (analyze_one(engine, &ri, &in, &f) != 0) {
            CHECK(0, "analyze rot=%d mirrored=%d space=%d units=%d", rot, m, space, units);
            continue;
          }
          variants++;
          CHECK(fabsf(f.attack_score - ref) <= 1e-5f,
                "rot=%d mirrored=%d space=%d units=%d: score %.9g, upright box %.9g",
                rot, m, space, units, f.attack_score, ref);
          CHECK(f.source == MOAE_FACE_SOURCE_CALLER && !f.has_keypoints, "caller face");
          CHECK(fabsf(f.box.x - face.x) < 1e-3f && fabsf(f.box.y - face.y) < 1e-3f &&
                    fabsf(f.box.width - face.width) < 1e-3f &&
                    fabsf(f.box.height - face.height) < 1e-3f,
                "rot=%d m=%d space=%d units=%d: box %g,%g,%g,%g back in upright pixels", rot, m,
                space, units, f.box.x, f.box.y, f.box.width, f.box.height);
        }
      free(raw);
    }
  printf("GEOMETRY %d variants, reference %.9g\n", variants, ref);

  /* An older, smaller moae_face (up to attack_score, 80 bytes): only the fields that fit
   * are written and the stride is its size; the third element (not in the capacity) stays. */
  struct old_face { moae_box box; float keypoints[12]; int32_t has_keypoints; int32_t source;
                    float detector_score; float attack_score; } small[3];
  memset(small, 0xAB, sizeof small);
  moae_box_input two[2] = {{face, MOAE_BOX_UPRIGHT, MOAE_UNITS_PIXELS},
                           {{20.f, 10.f, 40.f, 36.f}, MOAE_BOX_UPRIGHT, MOAE_UNITS_PIXELS}};
  uint32_t flags = 0;
  moae_status st = moae_analyze(engine, &img, two, 2, (moae_face *)small, sizeof small[0], 2, &n,
                                &flags);
  CHECK(sizeof small[0] == 80, "old struct size %zu", sizeof small[0]);
  CHECK(st == MOAE_OK && n == 2, "small faces: %d", (int)st);
  unsigned char untouched[sizeof small[2]];
  memset(untouched, 0xAB, sizeof untouched);
  CHECK(memcmp(&small[2], untouched, sizeof untouched) == 0, "wrote past the old size");
  CHECK(fabsf(small[0].attack_score - ref) <= 1e-5f && small[1].attack_score >= 0.f &&
            small[1].attack_score <= 1.f && small[0].box.width == face.width,
        "old-struct scores %g %g", small[0].attack_score, small[1].attack_score);
  /* A newer, larger moae_face: our fields are written, the bytes past them are left alone. */
  struct { moae_face f; uint32_t future[4]; } big[2];
  memset(big, 0xCD, sizeof big);
  st = moae_analyze(engine, &img, two, 2, &big[0].f, sizeof big[0], 2, &n, NULL);
  CHECK(st == MOAE_OK && n == 2, "big faces: %d", (int)st);
  CHECK(big[0].future[3] == 0xCDCDCDCDu && big[1].future[0] == 0xCDCDCDCDu,
        "wrote past this library's moae_face");
  CHECK(fabsf(big[0].f.attack_score - ref) <= 1e-5f && big[1].f.box.width == 40.f,
        "newer-struct faces %g", big[0].f.attack_score);
  free(up);
  moae_engine_destroy(engine);
  printf("%d failures\n", failures);
  return failures ? 1 : 0;
}

struct analyze_job {
  const moae_engine *engine;
  const moae_image *image;
  moae_face expected;
  int bad;
};

static void *analyze_thread(void *arg) {
  struct analyze_job *job = arg;
  for (int round = 0; round < 3; round++) {
    moae_face f;
    size_t n = 0;
    if (moae_analyze(job->engine, job->image, NULL, 0, &f, sizeof f, 1, &n, NULL) != MOAE_OK ||
        n != 1 || f.box.x != job->expected.box.x || f.attack_score != job->expected.attack_score ||
        f.detector_score != job->expected.detector_score)
      job->bad++;
  }
  return NULL;
}

static int mode_noface(int argc, char **argv) {
  moae_options opts;
  moae_options_init(&opts);
  opts.intra_op_threads = 1;
  opts.face_detector_path = argv[3];
  moae_engine *engine = NULL;
  moae_status st = moae_engine_create_from_file(argv[2], &opts, &engine);
  CHECK(st == MOAE_OK, "engine with detector: %s", moae_status_message(st));
  if (!engine) return 1;
  const uint32_t W = 640, H = 480;
  unsigned char *gray = malloc((size_t)W * H * 3);
  memset(gray, 128, (size_t)W * H * 3);
  moae_image img = rgb_image(gray, W, H);
  moae_face faces[4];
  size_t n = 99;
  uint32_t flags = 0;
  st = moae_analyze(engine, &img, NULL, 0, faces, sizeof(moae_face), 4, &n, &flags);
  CHECK(st == MOAE_OK && n == 0 && (flags & MOAE_QUALITY_NO_FACE), "empty frame: st=%d n=%zu "
        "flags=%u", (int)st, n, flags);
  printf("NOFACE n=%zu flags=%u\n", n, flags);
  free(gray);
  if (argc > 4) {
    uint8_t *rgb = NULL;
    uint32_t w = 0, h = 0;
    CHECK(moae_decode_image_file(argv[4], &rgb, &w, &h) == MOAE_OK, "decode %s", argv[4]);
    moae_image photo = rgb_image(rgb, w, h);
    n = 0;
    st = moae_analyze(engine, &photo, NULL, 0, NULL, sizeof(moae_face), 0, &n, &flags);
    CHECK(st == MOAE_ERR_BUFFER_TOO_SMALL && n == 1, "count query: st=%d n=%zu", (int)st, n);
    st = moae_analyze(engine, &photo, NULL, 0, faces, sizeof(moae_face), 4, &n, &flags);
    CHECK(st == MOAE_OK && n == 1, "photo: st=%d n=%zu", (int)st, n);
    if (st == MOAE_OK && n == 1) {
      moae_face *f = &faces[0];
      CHECK(f->source == MOAE_FACE_SOURCE_DETECTOR && f->has_keypoints == 1 &&
                f->detector_score >= 0.5f && f->detector_score <= 1.f, "detector face");
      CHECK(f->box.width >= 16.f && f->box.x >= -f->box.width && f->box.x < (float)w,
            "box %g,%g,%g,%g", f->box.x, f->box.y, f->box.width, f->box.height);
      printf("FACE box=%.1f,%.1f,%.1f,%.1f score=%.4f attack=%.4f decision=%d flags=%u\n",
             f->box.x, f->box.y, f->box.width, f->box.height, f->detector_score,
             f->attack_score, f->decision, f->quality_flags);
      /* The detector given as bytes (freed right after create) finds the same face. */
      size_t dlen = 0;
      unsigned char *dbytes = read_file(argv[3], &dlen);
      moae_options o2;
      moae_options_init(&o2);
      o2.intra_op_threads = 1;
      o2.face_detector_data = dbytes;
      o2.face_detector_len = dlen;
      moae_engine *e2 = NULL;
      st = moae_engine_create_from_file(argv[2], &o2, &e2);
      free(dbytes);
      CHECK(st == MOAE_OK, "detector from memory: %s", moae_status_message(st));
      moae_face g;
      size_t n2 = 0;
      if (e2 && moae_analyze(e2, &photo, NULL, 0, &g, sizeof g, 1, &n2, NULL) == MOAE_OK) {
        CHECK(n2 == 1 && g.box.x == f->box.x && g.box.width == f->box.width &&
                  g.detector_score == f->detector_score && g.attack_score == f->attack_score,
              "detector bytes = detector file");
        printf("BYTES same face\n");
      } else {
        CHECK(0, "analyze with the detector from memory");
      }
      moae_engine_destroy(e2);
      /* Four threads analyse the photo on one engine at once: the same face every time. */
      enum { T = 4 };
      pthread_t tids[T];
      struct analyze_job jobs[T];
      for (int t = 0; t < T; t++) {
        jobs[t] = (struct analyze_job){engine, &photo, *f, 0};
        CHECK(pthread_create(&tids[t], NULL, analyze_thread, &jobs[t]) == 0, "pthread_create");
      }
      int bad = 0;
      for (int t = 0; t < T; t++) {
        pthread_join(tids[t], NULL);
        bad += jobs[t].bad;
      }
      CHECK(bad == 0, "%d threaded analyses differ", bad);
      printf("ANALYZE_THREADS %d threads x 3, %d bad\n", T, bad);
    }
    moae_image_free(rgb);
  }
  moae_engine_destroy(engine);
  printf("%d failures\n", failures);
  return failures ? 1 : 0;
}

/* Bytes [from, to) of `p` are all `v`. */
static int all_bytes(const unsigned char *p, size_t from, size_t to, unsigned char v) {
  for (size_t i = from; i < to; i++)
    if (p[i] != v) return 0;
  return 1;
}

static uint32_t size_field(const void *p) {
  uint32_t s;
  memcpy(&s, p, sizeof s);
  return s;
}

/* The version-1 fields of two options are equal. */
static int same_v1_options(const moae_options *a, const moae_options *b) {
  return a->abi_version == b->abi_version && a->providers == b->providers &&
         a->provider_count == b->provider_count && a->require_provider == b->require_provider &&
         a->intra_op_threads == b->intra_op_threads && a->max_sessions == b->max_sessions &&
         a->ort_library_path == b->ort_library_path && a->model_sha256 == b->model_sha256 &&
         a->tensorrt_cache_dir == b->tensorrt_cache_dir && a->tensorrt_fp16 == b->tensorrt_fp16 &&
         a->coreml_compute_units == b->coreml_compute_units && a->threshold == b->threshold &&
         a->crop_scale == b->crop_scale;
}

#define CANARY 0xA5
#define V1_OPTIONS 80
#define V1_IMAGE 96

static int mode_init_sizes(char **argv) {
  /* The reference: this header's full options, from the macro (the sized init). */
  moae_options full;
  memset(&full, CANARY, sizeof full);
  moae_options_init(&full);
  CHECK(full.struct_size == sizeof(moae_options), "macro init: struct_size %u",
        full.struct_size);
  CHECK(full.abi_version == MOAE_ABI_VERSION && full.threshold < 0.f &&
            full.detector_min_score < 0.f && full.whole_frame == 0 &&
            full.face_detector_path == NULL && full.face_detector_len == 0 &&
            full.quality.min_face_px >= 16.f,
        "macro init: 0.2 defaults");

  /* An old (0.1) client: an 80-byte moae_options, then whatever the caller has next. The
   * exported legacy symbol must write only those 80 bytes. */
  union {
    moae_options o;
    unsigned char raw[sizeof(moae_options) + 64];
  } old;
  memset(&old, CANARY, sizeof old);
  (moae_options_init)(&old.o);
  CHECK(size_field(&old) == V1_OPTIONS, "legacy options init: struct_size %u", size_field(&old));
  CHECK(all_bytes(old.raw, V1_OPTIONS, sizeof old.raw, CANARY),
        "legacy moae_options_init wrote past the 80-byte version-1 struct");
  CHECK(same_v1_options(&old.o, &full), "legacy options init: the version-1 defaults");
  /* The library reads that struct as the 80-byte struct it is: the canary bytes after it
   * (a 0xA5.. face_detector_path) are never read. */
  old.o.intra_op_threads = 1;
  moae_engine *e = NULL;
  moae_status st = moae_engine_create_from_file(argv[2], &old.o, &e);
  CHECK(st == MOAE_OK && e != NULL, "create from a legacy-initialised 80-byte options: %s",
        moae_status_message(st));

  /* An old client's 96-byte moae_image. */
  union {
    moae_image i;
    unsigned char raw[sizeof(moae_image) + 64];
  } oimg;
  memset(&oimg, CANARY, sizeof oimg);
  (moae_image_init)(&oimg.i);
  CHECK(size_field(&oimg) == V1_IMAGE, "legacy image init: struct_size %u", size_field(&oimg));
  CHECK(all_bytes(oimg.raw, V1_IMAGE, sizeof oimg.raw, CANARY),
        "legacy moae_image_init wrote past the 96-byte version-1 struct");
  CHECK(oimg.i.format == MOAE_PIXEL_RGB && oimg.i.width == 0 && oimg.i.planes[0] == NULL &&
            oimg.i.rotation == 0,
        "legacy image init: zeroed, RGB");

  /* Such an image is read as version 1: `mirrored`/`yuv_range` lie in its padding and past
   * its end, so garbage there (here: mirrored = 1) is never read. The score is the
   * un-mirrored one, and differs from the mirrored one (so this check can fail). */
  if (e) {
    const uint32_t W = 64, H = 48;
    unsigned char *up = pattern(W, H);
    oimg.i.width = W;
    oimg.i.height = H;
    oimg.i.planes[0] = up;
    oimg.i.plane_sizes[0] = (size_t)W * H * 3;
    oimg.i.strides[0] = (size_t)W * 3;
    oimg.i.mirrored = 1;
    const moae_box face = {12.f, 9.f, 30.f, 26.f};
    moae_result r;
    size_t n = 0;
    float old_score = -1.f, plain = -2.f, mirrored = -3.f;
    st = moae_detect(e, &oimg.i, &face, 1, &r, 1, &n);
    CHECK(st == MOAE_OK && n == 1, "detect on a 96-byte image: %s", moae_status_message(st));
    if (st == MOAE_OK) old_score = r.attack_score;
    moae_image cur = rgb_image(up, W, H);
    if (moae_detect(e, &cur, &face, 1, &r, 1, &n) == MOAE_OK) plain = r.attack_score;
    cur.mirrored = 1;
    if (moae_detect(e, &cur, &face, 1, &r, 1, &n) == MOAE_OK) mirrored = r.attack_score;
    CHECK(old_score == plain, "96-byte image read mirrored from its padding: %g vs %g",
          old_score, plain);
    CHECK(plain != mirrored, "the mirrored score differs (%g): the check above can fail",
          mirrored);
    printf("OLD_IMAGE %.9g plain %.9g mirrored %.9g\n", old_score, plain, mirrored);
    free(up);
  }
  moae_engine_destroy(e);

  /* The sized functions: exactly min(size, sizeof) bytes, struct_size = that. */
  const size_t osizes[] = {0, 1, 3, 4, 8, 12, 79, 80, 84, 88, 100, sizeof(moae_options) - 4,
                           sizeof(moae_options), sizeof(moae_options) + 8, (size_t)-1};
  for (size_t k = 0; k < sizeof osizes / sizeof osizes[0]; k++) {
    size_t sz = osizes[k];
    size_t want = sz < sizeof(moae_options) ? sz : sizeof(moae_options);
    memset(&old, CANARY, sizeof old);
    moae_options_init_sized(&old.o, sz);
    if (want < 4) {
      CHECK(all_bytes(old.raw, 0, sizeof old.raw, CANARY), "options size %zu: wrote", sz);
      continue;
    }
    CHECK(size_field(&old) == want, "options size %zu: struct_size %u", sz, size_field(&old));
    CHECK(all_bytes(old.raw, want, sizeof old.raw, CANARY), "options size %zu: wrote past it",
          sz);
    if (want >= 8)
      CHECK(old.o.abi_version == MOAE_ABI_VERSION, "options size %zu: abi_version", sz);
    if (want >= V1_OPTIONS)
      CHECK(same_v1_options(&old.o, &full), "options size %zu: the version-1 defaults", sz);
    if (want == sizeof(moae_options))
      CHECK(old.o.face_detector_path == NULL && old.o.face_detector_data == NULL &&
                old.o.face_detector_len == 0 &&
                old.o.detector_min_score == full.detector_min_score &&
                old.o.whole_frame == 0 &&
                memcmp(&old.o.quality, &full.quality, sizeof full.quality) == 0,
            "options size %zu: the 0.2 defaults", sz);
  }
  const size_t isizes[] = {0, 2, 4, 8, 92, 96, 100, sizeof(moae_image),
                           sizeof(moae_image) + 16, (size_t)-1};
  for (size_t k = 0; k < sizeof isizes / sizeof isizes[0]; k++) {
    size_t sz = isizes[k];
    size_t want = sz < sizeof(moae_image) ? sz : sizeof(moae_image);
    memset(&oimg, CANARY, sizeof oimg);
    moae_image_init_sized(&oimg.i, sz);
    if (want < 4) {
      CHECK(all_bytes(oimg.raw, 0, sizeof oimg.raw, CANARY), "image size %zu: wrote", sz);
      continue;
    }
    CHECK(size_field(&oimg) == want, "image size %zu: struct_size %u", sz, size_field(&oimg));
    CHECK(all_bytes(oimg.raw, want, sizeof oimg.raw, CANARY), "image size %zu: wrote past it",
          sz);
    if (want == sizeof(moae_image))
      CHECK(oimg.i.mirrored == 0 && oimg.i.yuv_range == MOAE_YUV_FULL, "image full size");
  }
  /* A too-small struct_size from the sized init is refused at create with a clear error. */
  memset(&old, CANARY, sizeof old);
  moae_options_init_sized(&old.o, 4);
  e = NULL;
  EXPECT_STATUS(moae_engine_create_from_file(argv[2], &old.o, &e), MOAE_ERR_STRUCT_SIZE);
  printf("INIT_SIZES done\n");
  printf("%d failures\n", failures);
  return failures ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODE MODEL ...\n", argv[0]);
    return 2;
  }
  const char *mode = argv[1];
  if (!strcmp(mode, "scores") && argc >= 5) return mode_scores(argc, argv);
  if (!strcmp(mode, "errors") && argc == 4) return mode_errors(argv);
  if (!strcmp(mode, "threads") && argc >= 6) return mode_threads(argc, argv);
  if (!strcmp(mode, "old_options")) return mode_old_options(argv);
  if (!strcmp(mode, "missing_ort")) return mode_missing_ort(argv);
  if (!strcmp(mode, "analyze")) return mode_analyze(argv);
  if (!strcmp(mode, "init_sizes")) return mode_init_sizes(argv);
  if (!strcmp(mode, "noface") && argc >= 4) return mode_noface(argc, argv);
  fprintf(stderr, "bad mode or arguments\n");
  return 2;
}

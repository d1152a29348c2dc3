/*
 * C consumer of libmoae, driven by ffi/tests/c_abi.rs. Modes:
 *   abi_test scores MODEL W H IMG.rgb...   print scores of each raw RGB image (3 variants each)
 *   abi_test errors MODEL CORRUPT          every error path returns its status and a message
 *   abi_test threads MODEL W H IMG.rgb...  8 pthreads share one engine; results match serial
 *   abi_test old_options MODEL             an older, smaller moae_options is accepted
 *   abi_test missing_ort MODEL             a missing ORT library is MOAE_ERR_ORT_LIBRARY
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

static moae_engine *create(const char *model) {
  moae_options opts;
  moae_options_init(&opts);
  opts.intra_op_threads = 1;
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

  moae_box box = {(float)w * 0.25f, (float)h * 0.2f, (float)w * 0.5f, (float)h * 0.5f};
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
  unsigned char px[8 * 8 * 3];
  memset(px, 100, sizeof px);
  moae_image img = rgb_image(px, 8, 8);
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
  bad.plane_sizes[0] = 8 * 8 * 3 - 1; /* one byte short */
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

  moae_box outside = {1000.f, 1000.f, 4.f, 4.f};
  EXPECT_STATUS(moae_detect(engine, &img, &outside, 1, r, 2, &n), MOAE_ERR_INVALID_FACE_BOX);
  moae_box nan_box = {NAN, 0.f, 4.f, 4.f};
  EXPECT_STATUS(moae_detect(engine, &img, &nan_box, 1, r, 2, &n), MOAE_ERR_INVALID_FACE_BOX);

  moae_box two[2] = {{0, 0, 4, 4}, {2, 2, 4, 4}};
  n = 0;
  EXPECT_STATUS(moae_detect(engine, &img, two, 2, r, 1, &n), MOAE_ERR_BUFFER_TOO_SMALL);
  CHECK(n == 2, "BUFFER_TOO_SMALL sets the needed count, got %zu", n);
  n = 0;
  EXPECT_STATUS(moae_detect(engine, &img, NULL, 0, NULL, 0, &n), MOAE_ERR_BUFFER_TOO_SMALL);
  CHECK(n == 1, "count query gives 1, got %zu", n);
  CHECK(moae_detect(engine, &img, two, 2, r, 2, &n) == MOAE_OK && n == 2, "two boxes");

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
  moae_options_init(NULL);

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
  fprintf(stderr, "bad mode or arguments\n");
  return 2;
}

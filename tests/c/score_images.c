/* Scores image files through libmoae as an app without its own decoder would:
 * moae_decode_image_file, then moae_detect on the whole image.
 * Usage: score_images MODEL IMAGE...; prints "<attack_score> <is_attack>" per image.
 * Exits 1, naming the call, the status and the detail, on the first failure. */
#include <moae.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what, const char *arg, moae_status st) {
    fprintf(stderr, "%s(%s): status %d: %s: %s\n", what, arg, (int)st, moae_status_message(st),
            moae_last_error());
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL IMAGE...\n", argv[0]);
        return 2;
    }
    moae_options opts;
    moae_options_init(&opts);
    opts.whole_frame = 1; /* data-set images are pre-cropped faces */
    moae_engine *engine = NULL;
    moae_status st = moae_engine_create_from_file(argv[1], &opts, &engine);
    if (st != MOAE_OK) return fail("moae_engine_create_from_file", argv[1], st);
    int rc = 0;
    for (int i = 2; i < argc && rc == 0; i++) {
        uint8_t *rgb = NULL;
        uint32_t w = 0, h = 0;
        st = moae_decode_image_file(argv[i], &rgb, &w, &h);
        if (st != MOAE_OK) {
            rc = fail("moae_decode_image_file", argv[i], st);
            break;
        }
        moae_image img;
        moae_image_init(&img);
        img.format = MOAE_PIXEL_RGB;
        img.width = w;
        img.height = h;
        img.planes[0] = rgb;
        img.plane_sizes[0] = (size_t)w * h * 3;
        img.strides[0] = (size_t)w * 3;
        moae_result res;
        size_t n = 0;
        st = moae_detect(engine, &img, NULL, 0, &res, 1, &n);
        if (st != MOAE_OK || n != 1) {
            rc = fail("moae_detect", argv[i], st);
        } else {
            printf("%.9g %d\n", res.attack_score, res.is_attack);
        }
        moae_image_free(rgb);
    }
    moae_engine_destroy(engine);
    return rc;
}

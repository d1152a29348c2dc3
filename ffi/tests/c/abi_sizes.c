/* The 0.1 and 0.2 struct layouts as a C compiler sees them (compiled, not run, by
 * ffi/tests/abi32.rs). On a 64-bit target every assertion holds; on a 32-bit target
 * (gcc -m32) the header's own 64-bit-only assertion must stop the build first. */
#include <stddef.h>
#include "moae.h"
#include "moae.h" /* twice: the include guard covers the whole header */

#define CHECK_AT(line, cond) typedef char check_line_##line[(cond) ? 1 : -1]
#define CHECK_L(line, cond) CHECK_AT(line, cond)
#define ASSERT(cond) CHECK_L(__LINE__, cond)

/* 0.1: the structs ended at crop_scale (options) and rotation (image). */
ASSERT(MOAE_OPTIONS_V1_SIZE == 80);
ASSERT(MOAE_IMAGE_V1_SIZE == 96);
ASSERT(MOAE_OPTIONS_V1_SIZE == offsetof(moae_options, face_detector_path));
ASSERT(offsetof(moae_image, rotation) + sizeof(int32_t) <= MOAE_IMAGE_V1_SIZE);
/* The old name is kept for 0.1 code. */
ASSERT(IMAGE_V1_SIZE == MOAE_IMAGE_V1_SIZE);
/* 0.2: appended fields lie past the version-1 sizes (mirrored in v1's tail padding, which
 * is why it is read only when struct_size covers it). */
ASSERT(offsetof(moae_image, yuv_range) >= MOAE_IMAGE_V1_SIZE);
ASSERT(offsetof(moae_image, yuv_matrix) > offsetof(moae_image, yuv_range));
ASSERT(sizeof(moae_options) > MOAE_OPTIONS_V1_SIZE);
ASSERT(sizeof(moae_image) > MOAE_IMAGE_V1_SIZE);

int moae_abi_sizes_compiled(void) {
    moae_options o;
    moae_image img;
    o.struct_size = (uint32_t)sizeof o;
    img.struct_size = (uint32_t)MOAE_IMAGE_V1_SIZE;
    return (int)(o.struct_size + img.struct_size);
}

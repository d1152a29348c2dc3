"""libmoae through Python's ctypes, as a caller without C macros sees it.

Usage: python3 ctypes_options.py LIBMOAE_SO MODEL_ONNX
Driven by ffi/tests/ctypes.rs. Exits non-zero (AssertionError) on any failure.

Such callers cannot use the header's moae_options_init / moae_image_init macros; the exported
symbols of those names write only the version-1 structs (0.1), so every 0.2 field would be
lost. The function-style way: moae_struct_size(kind) gives this library's sizes,
moae_options_init_sized / moae_image_init_sized(p, size) fill the defaults for that size.
"""
import ctypes as C
import sys

lib = C.CDLL(sys.argv[1])
model = sys.argv[2].encode()

MOAE_STRUCT_OPTIONS, MOAE_STRUCT_IMAGE, MOAE_STRUCT_ENGINE_INFO, MOAE_STRUCT_FACE = 0, 1, 2, 3
MOAE_STRUCT_RESULT = 4
MOAE_RESULT_V1_SIZE = 24
MOAE_PIXEL_RGB = 0
MOAE_OK, MOAE_ERR_INVALID_ARGUMENT = 0, 2


class QualityOptions(C.Structure):
    _fields_ = [(n, C.c_float) for n in (
        "min_face_px", "max_outside_fraction", "min_brightness", "max_brightness",
        "max_overexposed_fraction", "min_sharpness", "max_roll_deg", "max_yaw_deg")] + [
        ("allow_several_faces", C.c_int32)]


class Options(C.Structure):
    _fields_ = [
        ("struct_size", C.c_uint32), ("abi_version", C.c_uint32),
        ("providers", C.POINTER(C.c_int32)), ("provider_count", C.c_size_t),
        ("require_provider", C.c_int32), ("intra_op_threads", C.c_int32),
        ("max_sessions", C.c_int32), ("ort_library_path", C.c_char_p),
        ("model_sha256", C.POINTER(C.c_uint8)), ("tensorrt_cache_dir", C.c_char_p),
        ("tensorrt_fp16", C.c_int32), ("coreml_compute_units", C.c_int32),
        ("threshold", C.c_float), ("crop_scale", C.c_float),
        ("face_detector_path", C.c_char_p), ("face_detector_data", C.POINTER(C.c_uint8)),
        ("face_detector_len", C.c_size_t), ("detector_min_score", C.c_float),
        ("whole_frame", C.c_int32), ("quality", QualityOptions),
    ]


class Image(C.Structure):
    _fields_ = [
        ("struct_size", C.c_uint32), ("format", C.c_int32),
        ("width", C.c_uint32), ("height", C.c_uint32),
        ("planes", C.c_void_p * 3), ("plane_sizes", C.c_size_t * 3),
        ("strides", C.c_size_t * 3), ("rotation", C.c_int32),
        ("mirrored", C.c_int32), ("yuv_range", C.c_int32), ("yuv_matrix", C.c_int32),
    ]


class Box(C.Structure):
    _fields_ = [(n, C.c_float) for n in ("x", "y", "width", "height")]


class Quality(C.Structure):
    _fields_ = [(n, C.c_float) for n in (
        "face_px", "outside_fraction", "brightness", "overexposed_fraction", "sharpness",
        "roll_deg", "yaw_deg")]


class Face(C.Structure):
    _fields_ = [
        ("box", Box), ("keypoints", C.c_float * 12), ("has_keypoints", C.c_int32),
        ("source", C.c_int32), ("detector_score", C.c_float), ("attack_score", C.c_float),
        ("live_score", C.c_float), ("threshold", C.c_float), ("decision", C.c_int32),
        ("quality_flags", C.c_uint32), ("quality", Quality), ("latency_ms", C.c_float),
        ("has_attack_type", C.c_int32), ("attack_type_probs", C.c_float * 4),
    ]


class Result(C.Structure):
    _fields_ = [
        ("attack_score", C.c_float), ("live_score", C.c_float), ("is_attack", C.c_int32),
        ("threshold", C.c_float), ("provider", C.c_int32), ("latency_ms", C.c_float),
        ("has_attack_type", C.c_int32), ("attack_type_probs", C.c_float * 4),
    ]


lib.moae_struct_size.restype = C.c_size_t
lib.moae_struct_size.argtypes = [C.c_int32]
lib.moae_abi_version.restype = C.c_uint32
lib.moae_options_init_sized.argtypes = [C.c_void_p, C.c_size_t]
lib.moae_image_init_sized.argtypes = [C.c_void_p, C.c_size_t]
lib.moae_engine_create_from_file.argtypes = [C.c_char_p, C.c_void_p, C.POINTER(C.c_void_p)]
lib.moae_engine_create_from_file.restype = C.c_int32
lib.moae_engine_destroy.argtypes = [C.c_void_p]
lib.moae_analyze.argtypes = [C.c_void_p, C.c_void_p, C.c_void_p, C.c_size_t, C.c_void_p,
                             C.c_size_t, C.c_size_t, C.POINTER(C.c_size_t),
                             C.POINTER(C.c_uint32)]
lib.moae_analyze.restype = C.c_int32
lib.moae_last_error.restype = C.c_char_p
lib.moae_detect_sized.argtypes = [C.c_void_p, C.c_void_p, C.c_void_p, C.c_size_t, C.c_void_p,
                                  C.c_size_t, C.c_size_t, C.POINTER(C.c_size_t)]
lib.moae_detect_sized.restype = C.c_int32
lib.moae_detect.argtypes = [C.c_void_p, C.c_void_p, C.c_void_p, C.c_size_t, C.c_void_p,
                            C.c_size_t, C.POINTER(C.c_size_t)]
lib.moae_detect.restype = C.c_int32

# 1. The library's struct sizes equal these declarations (a drifted binding fails here).
for kind, cls in ((MOAE_STRUCT_OPTIONS, Options), (MOAE_STRUCT_IMAGE, Image),
                  (MOAE_STRUCT_FACE, Face), (MOAE_STRUCT_RESULT, Result)):
    got = lib.moae_struct_size(kind)
    assert got == C.sizeof(cls), f"{cls.__name__}: library {got}, ctypes {C.sizeof(cls)}"
assert lib.moae_struct_size(999) == 0, "an unknown struct kind must give 0"

# 2. Defaults through the function, for the whole (0.2) struct.
opts = Options()
C.memset(C.byref(opts), 0xAB, C.sizeof(opts))
lib.moae_options_init_sized(C.byref(opts), lib.moae_struct_size(MOAE_STRUCT_OPTIONS))
assert opts.struct_size == C.sizeof(Options), opts.struct_size
assert opts.abi_version == lib.moae_abi_version()
assert opts.whole_frame == 0 and opts.face_detector_path is None
assert opts.detector_min_score < 0 and opts.threshold < 0, "the 'not set' defaults"
assert opts.quality.min_face_px >= 16.0, opts.quality.min_face_px
assert opts.quality.max_brightness > opts.quality.min_brightness
opts.whole_frame = 1  # a 0.2 field: the image is the face

engine = C.c_void_p()
st = lib.moae_engine_create_from_file(model, C.byref(opts), C.byref(engine))
assert st == MOAE_OK, (st, lib.moae_last_error())

# 3. A 0.2 image field (mirrored) set after the function-style init takes effect.
W, H = 48, 32
pixels = bytes((x * 7 + y * 13 + c * 50 + (x * y) % 11) % 256
               for y in range(H) for x in range(W) for c in range(3))
flipped = b"".join(pixels[(y * W + (W - 1 - x)) * 3:(y * W + (W - 1 - x)) * 3 + 3]
                   for y in range(H) for x in range(W))


def image(buf, mirrored, size=None):
    img = Image()
    lib.moae_image_init_sized(C.byref(img), size or lib.moae_struct_size(MOAE_STRUCT_IMAGE))
    img.format, img.width, img.height = MOAE_PIXEL_RGB, W, H
    data = C.create_string_buffer(buf, len(buf))
    img.planes[0] = C.cast(data, C.c_void_p)
    img.plane_sizes[0] = len(buf)
    img.mirrored = mirrored
    return img, data


def score(buf, mirrored, size=None):
    img, data = image(buf, mirrored, size)
    faces = (Face * 2)()
    n, flags = C.c_size_t(), C.c_uint32()
    st = lib.moae_analyze(engine, C.byref(img), None, 0, faces, C.sizeof(Face), 2,
                          C.byref(n), C.byref(flags))
    assert st == MOAE_OK and n.value == 1, (st, n.value, lib.moae_last_error())
    return faces[0].attack_score


original = score(pixels, 0)
as_mirror = score(flipped, 1)
unflagged = score(flipped, 0)
assert abs(original - as_mirror) <= 1e-5, (original, as_mirror)
assert abs(original - unflagged) > 1e-4, "the flip does not change the score: test is blind"

# 4. The 0.1 struct size (what the exported legacy moae_image_init writes) loses `mirrored`:
#    the reason non-C callers need the sized functions.
lib.moae_image_init.argtypes = [C.c_void_p]
legacy = Image()
lib.moae_image_init(C.byref(legacy))
assert legacy.struct_size < C.sizeof(Image), legacy.struct_size
assert abs(score(flipped, 1, size=legacy.struct_size) - unflagged) <= 1e-5

# 5. moae_detect_sized with this library's moae_result size: the same score, and the
#    attack type's "not available" (the test model has no head); the exported legacy
#    moae_detect writes 24-byte results, without the attack type.
img, data = image(pixels, 0)
results, n = (Result * 2)(), C.c_size_t()
C.memset(results, 0xA5, C.sizeof(results))
st = lib.moae_detect_sized(engine, C.byref(img), None, 0, results,
                           lib.moae_struct_size(MOAE_STRUCT_RESULT), 1, C.byref(n))
assert st == MOAE_OK and n.value == 1, (st, n.value, lib.moae_last_error())
assert abs(results[0].attack_score - original) <= 1e-6, (results[0].attack_score, original)
assert results[0].has_attack_type == 0 and list(results[0].attack_type_probs) == [0.0] * 4
raw = bytearray(2 * C.sizeof(Result))
buf = (C.c_uint8 * len(raw)).from_buffer(raw)
C.memset(buf, 0xA5, len(raw))
st = lib.moae_detect(engine, C.byref(img), None, 0, buf, 1, C.byref(n))
assert st == MOAE_OK and n.value == 1, (st, lib.moae_last_error())
legacy_result = Result.from_buffer_copy(bytes(raw[:C.sizeof(Result)]))
assert abs(legacy_result.attack_score - original) <= 1e-6
assert set(raw[MOAE_RESULT_V1_SIZE:]) == {0xA5}, "the legacy symbol wrote past 24 bytes"

# 6. One boolean rule: 2 is not a boolean, in any 0/1 field.
for field in ("whole_frame", "require_provider", "tensorrt_fp16"):
    bad = Options()
    lib.moae_options_init_sized(C.byref(bad), C.sizeof(bad))
    setattr(bad, field, 2)
    e = C.c_void_p()
    st = lib.moae_engine_create_from_file(model, C.byref(bad), C.byref(e))
    assert st == MOAE_ERR_INVALID_ARGUMENT, (field, st)
    assert field.encode() in lib.moae_last_error(), lib.moae_last_error()

lib.moae_engine_destroy(engine)
print("ctypes: sizes, defaults, mirrored through the sized init, legacy v1 loses it, "
      "detect_sized and the legacy detect, boolean rule: ok")

#!/usr/bin/env python3
"""MediaPipe's own face detector on astronaut.png and upright variants of it -> a JSON fixture.

Run with the MediaPipe venv (see README.md here):
    /work/main/.venv-mediapipe/bin/python scripts/face-reference/make_fixture.py \
        [--photo .venv/face/astronaut.png] [--out tests/fixtures/face/mediapipe_reference.json]

Every variant is made by exact integer operations (crop, zero padding, left-right flip, nearest
2x downscale) that the Rust test (runtime/tests/face_mediapipe.rs) repeats; the SHA-256 of each
variant's RGB bytes (rows top to bottom, R,G,B per pixel) is recorded so the test can check it
rebuilt the same pixels. Boxes and keypoints are MediaPipe's relative values times the variant's
width/height (pixels of the upright image).
"""
import argparse
import hashlib
import json
import os
import sys

import numpy as np
import mediapipe as mp
from skimage import io as skio

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PHOTO_SHA256 = "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"

# name -> operations, applied in order to the 512x512 RGB photo.
VARIANTS = [
    ("original", []),
    ("flip_lr", [{"op": "flip_lr"}]),
    ("pad_right_256", [{"op": "pad", "left": 0, "top": 0, "right": 256, "bottom": 0}]),
    ("pad_bottom_200", [{"op": "pad", "left": 0, "top": 0, "right": 0, "bottom": 200}]),
    ("pad_left_100_top_40", [{"op": "pad", "left": 100, "top": 40, "right": 20, "bottom": 0}]),
    ("crop_face_300x320", [{"op": "crop", "x": 100, "y": 10, "width": 300, "height": 320}]),
    ("crop_wide_512x300", [{"op": "crop", "x": 0, "y": 0, "width": 512, "height": 300}]),
    ("downscale2", [{"op": "downscale2"}]),
    ("crop_downscale2_pad", [
        {"op": "crop", "x": 60, "y": 0, "width": 400, "height": 400},
        {"op": "downscale2"},
        {"op": "pad", "left": 150, "top": 0, "right": 10, "bottom": 60},
    ]),
    ("flip_crop_pad", [
        {"op": "flip_lr"},
        {"op": "crop", "x": 150, "y": 0, "width": 362, "height": 420},
        {"op": "pad", "left": 0, "top": 120, "right": 0, "bottom": 0},
    ]),
]


def apply(img, ops):
    for o in ops:
        k = o["op"]
        if k == "flip_lr":
            img = img[:, ::-1]
        elif k == "crop":
            img = img[o["y"]:o["y"] + o["height"], o["x"]:o["x"] + o["width"]]
        elif k == "pad":
            img = np.pad(img, ((o["top"], o["bottom"]), (o["left"], o["right"]), (0, 0)))
        elif k == "downscale2":
            img = img[::2, ::2]  # nearest: the top-left pixel of every 2x2 block
        else:
            raise ValueError(k)
    return np.ascontiguousarray(img, dtype=np.uint8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--photo", default=os.path.join(os.environ.get("MOAE_FACE_DIR", os.path.join(ROOT, ".venv", "face")), "astronaut.png"))
    ap.add_argument("--out", default=os.path.join(ROOT, "tests", "fixtures", "face", "mediapipe_reference.json"))
    a = ap.parse_args()
    raw = open(a.photo, "rb").read()
    if hashlib.sha256(raw).hexdigest() != PHOTO_SHA256:
        sys.exit(f"{a.photo} is not the pinned astronaut.png (run scripts/setup-face.sh)")
    photo = skio.imread(a.photo)[:, :, :3]
    assert photo.shape == (512, 512, 3) and photo.dtype == np.uint8

    images = []
    fd = mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5)
    for name, ops in VARIANTS:
        img = apply(photo, ops)
        h, w = img.shape[:2]
        res = fd.process(img)
        faces = []
        for d in res.detections or []:
            rb = d.location_data.relative_bounding_box
            faces.append({
                "score": float(d.score[0]),
                "box": {"x": rb.xmin * w, "y": rb.ymin * h, "width": rb.width * w, "height": rb.height * h},
                "keypoints": [[k.x * w, k.y * h] for k in d.location_data.relative_keypoints],
            })
        images.append({
            "name": name,
            "ops": ops,
            "width": w,
            "height": h,
            "rgb_sha256": hashlib.sha256(img.tobytes()).hexdigest(),
            "faces": faces,
        })
        print(name, w, h, [(round(f["score"], 3), {k: round(v, 1) for k, v in f["box"].items()}) for f in faces])
    fd.close()
    doc = {
        "about": "MediaPipe face detection (model_selection=0: face_detection_short_range.tflite, "
                 "min_detection_confidence 0.5) on skimage's astronaut.png and upright variants; "
                 "made by scripts/face-reference/make_fixture.py",
        "mediapipe": mp.__version__,
        "photo_sha256": PHOTO_SHA256,
        "keypoints": ["right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion"],
        "images": images,
    }
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

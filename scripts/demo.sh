#!/usr/bin/env bash
# The main job, end to end on CPU: synthetic data -> train the teacher (small preset) ->
# evaluate -> export fp32 + int8 ONNX -> detect held-out images through libmoae's C ABI (a C
# program) -> distil a student (spec §9) from the teacher, evaluate and export it -> frame in,
# decision out on a real photo (face detector, quality checks, decision) with both models.
# All outputs go to $MOAE_DEMO_OUT (default ./demo-out); a rerun skips finished steps
# (delete demo-out/.done-<step> to redo one). Knobs: MOAE_DEMO_STEPS (default 600),
# MOAE_DEMO_STUDENT (default student-m), MOAE_DEMO_STUDENT_STEPS (default 300).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${MOAE_DEMO_OUT:-$root/demo-out}"
steps="${MOAE_DEMO_STEPS:-600}"
student="${MOAE_DEMO_STUDENT:-student-m}"
student_steps="${MOAE_DEMO_STUDENT_STEPS:-300}"
mkdir -p "$out"

step() { printf '\n==> [%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
mark() { touch "$out/.done-$1"; }
done_() { [[ -f "$out/.done-$1" ]]; }

step "set-up (pinned venv, cargo wiring)"
./scripts/setup.sh

step "build trainer, moae CLI and libmoae (dev profile: the one the tests build; deps optimised)"
cargo build -p moae-trainer -p moae-cli -p moae-ffi
bin="$root/target/debug"

if ! done_ synth; then
  step "synthetic UniAttackData-style set, 64 px (NOT evidence about real attacks)"
  "$bin/trainer" synth --out "$out/data" --seed 7 --size 64 --count 400
  mark synth
fi

if ! done_ train; then
  step "train: small preset from random weights, MoAE, CE + DM + CDM, protocol p1, CPU, $steps steps"
  rm -rf "$out/run"
  # From random weights (no CLIP weights are downloaded) the trainer uses a cosine LR schedule
  # and keeps the text tower frozen; DM and CDM ramp in linearly over the run (at full weight
  # from step 0 they stall a model that has no class structure yet). `--augment
  # none` (flip only): the synthetic cues are few-pixel textures that resampling would blur.
  # One decoding worker is plenty for 64-px PNGs and mostly waits, so libtorch gets every core.
  # One dev evaluation, at the end: the cosine schedule settles the model there (the best step
  # of every run we made), and a mid-run pass over the 2,000 dev images cost ~25 s of the
  # 5-minute budget.
  "$bin/trainer" train --root "$out/data" --protocol p1 --preset small --variant moae \
    --steps "$steps" --eval-every "$steps" --lr 7e-4 --reg-warmup 1 --augment none \
    --out "$out/run" --cpu --workers 1 --threads "$(nproc)"
  mark train
fi

if ! done_ eval; then
  step "evaluate the best checkpoint on p1 test (dev-EER threshold): table, report, ROC/DET"
  "$bin/trainer" eval "$out/run/best.safetensors" --root "$out/data" --protocol p1 \
    --out "$out/eval" --cpu | tee "$out/eval.txt"
  mark eval
fi

if ! done_ export; then
  step "export ONNX: fp32 and int8, threshold calibrated on the p1 dev list"
  dev="$out/data/UniAttackData@p1_image_dev.txt"
  "$bin/trainer" export --onnx "$out/model.onnx" "$out/run/best.safetensors" \
    --dev "$dev" --root "$out/data"
  "$bin/trainer" export --onnx "$out/model-int8.onnx" "$out/run/best.safetensors" \
    --dev "$dev" --root "$out/data" --quantize int8
  mark export
fi

if ! done_ score; then
  step "score p1 dev + test through the runtime with each ONNX file; the same metrics as the trainer's"
  export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$root/.venv/ort/libonnxruntime.so.1.31.1}"
  for m in model model-int8; do
    for split in dev test; do
      "$bin/moae" score "$out/$m.onnx" --list "$out/data/UniAttackData@p1_image_$split.txt" \
        --out "$out/scores-$m-$split.txt" --threads 2
    done
    echo "--- $m.onnx (dev-EER threshold applied to test)" | tee -a "$out/onnx-metrics.txt"
    "$bin/trainer" metrics --scores "$out/scores-$m-test.txt" --dev "$out/scores-$m-dev.txt" \
      | tee -a "$out/onnx-metrics.txt"
  done
  # int8 vs fp32: how far the attack scores of the same test images moved.
  paste "$out/scores-model-test.txt" "$out/scores-model-int8-test.txt" | awk '
    /^#/ { next }
    { d = $1 - $(NF/2 + 1); if (d < 0) d = -d; s += d; if (d > m) m = d; n++ }
    END { printf "int8 vs fp32 attack score on %d test images: max |delta| %.4f, mean %.4f\n", n, m, s / n }' \
    | tee -a "$out/onnx-metrics.txt"
  mark score
fi

if ! done_ distill; then
  step "distil $student from the teacher (spec §9): CE + alpha T^2 KL over its live/attack logits, $student_steps steps"
  rm -rf "$out/student"
  # The teacher scores every training image once, at its own input size and normalisation
  # (cached); the student learns from those logits and the labels. Same data and settings as
  # the teacher's run otherwise.
  "$bin/trainer" distill --teacher "$out/run/best.safetensors" --arch "$student" \
    --root "$out/data" --protocol p1 --steps "$student_steps" --eval-every "$student_steps" \
    --augment none --out "$out/student" --cpu --workers 1 --threads "$(nproc)"
  mark distill
fi

if ! done_ student-eval; then
  step "evaluate the student on p1 test (dev-EER threshold); export it: fp32, and int8 (static, calibrated on p1 train)"
  "$bin/trainer" eval "$out/student/best.safetensors" --root "$out/data" --protocol p1 \
    --out "$out/student-eval" --cpu | tee "$out/student-eval.txt"
  dev="$out/data/UniAttackData@p1_image_dev.txt"
  "$bin/trainer" export --onnx "$out/student.onnx" "$out/student/best.safetensors" \
    --dev "$dev" --root "$out/data"
  # Every 10th training image calibrates the activation ranges (200 images).
  awk 'NR % 10 == 1' "$out/data/UniAttackData@p1_image_train.txt" > "$out/calib.txt"
  "$bin/trainer" export --onnx "$out/student-int8.onnx" "$out/student/best.safetensors" \
    --dev "$dev" --root "$out/data" --quantize int8 --calib "$out/calib.txt"
  mark student-eval
fi

step "both models on p1 test (synthetic data; dev-EER threshold applied to test)"
for m in eval student-eval; do
  echo "--- $([[ $m == eval ]] && echo "teacher (small MoAE-CR)" || echo "student ($student, distilled)")"
  sed -n '2,3p' "$out/$m.txt"
done

step "build the C example against libmoae (examples/c/detect.c, linked to libmoae.so)"
cc -O2 -I"$root/include" "$root/examples/c/detect.c" -L"$bin" -lmoae \
  -Wl,-rpath,"$bin" -o "$out/detect"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$root/.venv/ort/libonnxruntime.so.1.31.1}"

step "detect held-out p1 test images through libmoae (fp32 model)"
test_list="$out/data/UniAttackData@p1_image_test.txt"
# Every 100th test image: four of each family (live, print, replay, adversarial, digital).
awk 'NR % 100 == 1 {print $1, $2}' "$test_list" | while read -r rel label; do
  printf '%-58s truth=%-7s ' "$rel" "$([[ $label == 0 ]] && echo live || echo attack)"
  # The synthetic images are pre-cropped faces: the whole image is the face.
  # Exit status 0 live, 1 attack, 3 unsure are results; anything else (2 error, 4 no face on
  # a whole frame, a crash) stops the demo with the example's own message.
  rc=0
  result=$("$out/detect" "$out/model.onnx" "$out/data/$rel" --whole-frame) || rc=$?
  case $rc in
    0 | 1 | 3) printf '%s\n' "${result%%$'\n'*}" ;;
    *)
      printf '\nFAILED: examples/c/detect.c exited %s on %s:\n%s\n' "$rc" "$rel" "$result" >&2
      exit 1
      ;;
  esac
done

step "frame in, decision out: the C example on a real photo, no box (face detector + quality)"
face_dir="${MOAE_FACE_DIR:-$root/.venv/face}"
photo="$face_dir/astronaut.png"
detector="$face_dir/face_detection_front_128x128.onnx"
if [[ -f "$photo" && -f "$detector" ]]; then
  cat >&2 <<'NOTE'
  NOTE: the model was trained above on SYNTHETIC images only. Its live/attack verdict on a real
  photo means nothing: this step shows the pipeline (the face detector's box and keypoints, the
  quality values and flags, the decision rule), not anti-spoofing on real faces.
NOTE
  # Exit status 0 live, 1 attack, 3 unsure, 4 no face: all are results here, not failures.
  for m in model student; do
    echo "--- $m.onnx"
    rc=0
    "$out/detect" "$out/$m.onnx" "$photo" "$detector" || rc=$?
    if [[ $rc -ne 0 && $rc -ne 1 && $rc -ne 3 && $rc -ne 4 ]]; then
      echo "FAILED: examples/c/detect.c exited $rc on $photo with $m.onnx" >&2
      exit 1
    fi
  done
  # The student has the attack-type head: `moae detect` prints its four probabilities.
  echo "--- student-int8.onnx (moae detect: the decision and the attack-type probabilities)"
  "$bin/moae" detect "$out/student-int8.onnx" "$photo" --detector "$detector"
  echo "(verdicts of synthetic-trained models on a real face: meaningless, see the note above)"
else
  echo "SKIPPED: $detector or $photo is missing (scripts/setup.sh runs scripts/setup-face.sh)" >&2
  [[ -z "${CI:-}" ]]
fi
step "done: everything is in $out (eval/roc.png, eval/report.json, model.onnx, model-int8.onnx, student-eval/, student.onnx, student-int8.onnx)"

#!/usr/bin/env bash
# The main job, end to end on CPU: synthetic data -> train (small preset) -> evaluate ->
# export fp32 + int8 ONNX -> detect held-out images through libmoae (C ABI).
# All outputs go to $MOAE_DEMO_OUT (default ./demo-out); a rerun skips finished steps
# (delete a step's folder to redo it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${MOAE_DEMO_OUT:-$root/demo-out}"
steps="${MOAE_DEMO_STEPS:-600}"
mkdir -p "$out"

step() { printf '\n\033[1m==> [%s] %s\033[0m\n' "$(date +%H:%M:%S)" "$*" >&2; }
done_mark() { touch "$out/.done-$1"; }
is_done() { [[ -f "$out/.done-$1" ]]; }

step "set-up (pinned venv, cargo wiring)"
./scripts/setup.sh

step "build trainer, moae CLI and libmoae"
cargo build -p moae-trainer -p moae-runtime -p moae-ffi
bin="$root/target/debug"

if ! is_done synth; then
  step "synthetic UniAttackData-style set (NOT evidence about real attacks)"
  "$bin/trainer" synth --out "$out/data" --seed 7
  done_mark synth
fi

if ! is_done train; then
  step "train small preset, moae + DM + CDM, protocol p1, on CPU ($steps steps)"
  "$bin/trainer" train --root "$out/data" --protocol p1 --preset small --variant moae \
    --steps "$steps" --out "$out/run" --cpu
  done_mark train
fi

if ! is_done eval; then
  step "evaluate best checkpoint on p1 test (dev-EER threshold)"
  "$bin/trainer" eval "$out/run/best.safetensors" --root "$out/data" --protocol p1 \
    --out "$out/eval"
  done_mark eval
fi

if ! is_done export; then
  step "export ONNX: fp32 (dev-calibrated threshold) and int8"
  dev_list="$out/data/UniAttackData@p1_image_dev.txt"
  "$bin/trainer" export --onnx "$out/model.onnx" "$out/run/best.safetensors" --dev "$dev_list" --root "$out/data"
  "$bin/trainer" export --onnx "$out/model-int8.onnx" "$out/run/best.safetensors" --dev "$dev_list" --root "$out/data" --quantize int8
  done_mark export
fi

step "detect held-out test images through libmoae (C example over the C ABI)"
"$root/scripts/build-c-example.sh" "$out/detect-c"
test_list="$out/data/UniAttackData@p1_image_test.txt"
mapfile -t imgs < <(awk 'NR % 40 == 1 {print $1}' "$test_list" | head -n 12)
for rel in "${imgs[@]}"; do
  "$out/detect-c" "$out/model.onnx" "$out/data/$rel"
done
step "done: outputs in $out"

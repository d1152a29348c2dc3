#!/usr/bin/env bash
# The students' accuracy table on the synthetic set (docs/student-accuracy.md): for each protocol
# (P1, P2.1, P2.2) the teacher (scripts/demo.sh's recipe: small preset, MoAE), and student-s and
# student-m each distilled from that protocol's teacher (`trainer distill`) and trained without
# one (`trainer train --arch`), each with and without spoof-cue augmentation; every row over
# several seeds, test ACER / AUC / EER at the dev set's EER threshold (`trainer eval`) as
# mean ± std, plus the P1 attack-type confusion matrix of the distilled student-m.
#
# Resumable: a finished run (train + eval) leaves `.done` in its directory and is skipped; an
# unfinished one is started again. Outputs under $MOAE_TABLE_OUT (default ./student-table-out).
# Knobs (environment):
#   MOAE_TABLE_DATA           the synthetic set; generated there when absent (demo's: seed 7,
#                             64 px, 400 a class) [default: $MOAE_TABLE_OUT/data]
#   MOAE_TABLE_TEACHER_STEPS  teacher steps [600, the demo's]
#   MOAE_TABLE_STUDENT_STEPS  student steps [300, the demo's]
#   MOAE_TABLE_SEEDS          student seeds ["0 1 2"]
#   MOAE_TABLE_TEACHER_SEEDS  teacher seeds [as MOAE_TABLE_SEEDS]; a student of seed s is
#                             distilled from the teacher of seed s, or the first teacher seed
#                             when s has none
#   MOAE_TABLE_PROTOCOLS      ["p1 p2.1 p2.2"]
#   MOAE_TABLE_CUES           --spoof-cues of the "cues" rows [0.1, MTFace's rate]
#   MOAE_TABLE_P1_TEACHER     a P1 teacher checkpoint (e.g. demo-out/run/best.safetensors) used as
#                             the P1 seed-0 teacher when its stored recipe is the one this
#                             script would run; otherwise it is trained
#   MOAE_TABLE_JOBS           runs at a time [2]
#   MOAE_TABLE_DOC            where the table goes [docs/student-accuracy.md]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${MOAE_TABLE_OUT:-$root/student-table-out}"
data="${MOAE_TABLE_DATA:-$out/data}"
teacher_steps="${MOAE_TABLE_TEACHER_STEPS:-600}"
student_steps="${MOAE_TABLE_STUDENT_STEPS:-300}"
seeds="${MOAE_TABLE_SEEDS:-0 1 2}"
teacher_seeds="${MOAE_TABLE_TEACHER_SEEDS:-$seeds}"
protocols="${MOAE_TABLE_PROTOCOLS:-p1 p2.1 p2.2}"
cues="${MOAE_TABLE_CUES:-0.1}"
jobs="${MOAE_TABLE_JOBS:-2}"
doc="${MOAE_TABLE_DOC:-$root/docs/student-accuracy.md}"
bin="$root/target/debug"
export out data teacher_steps student_steps teacher_seeds cues bin

# One libtorch thread and one decoding thread a run (two at a time fill two cores): libtorch's
# OpenMP threads spin while they wait, and on a shared two-core machine two of them ran student-m
# evaluation 4× slower than one. glibc returns every large freed tensor to the kernel and
# faults it back in on the next allocation; high thresholds keep that memory (the system time
# of a student-m evaluation fell from 2.3 s to 0.4 s).
export MALLOC_MMAP_THRESHOLD_=4294967296 MALLOC_TRIM_THRESHOLD_=4294967296
common=(--cpu --workers 1 --threads 1)

# The teacher of a student of seed $1.
teacher_seed() {
  local s
  for s in $teacher_seeds; do [[ $s == "$1" ]] && { echo "$s"; return; }; done
  set -- $teacher_seeds
  echo "$1"
}

# One run: `--one PROTOCOL ROW SEED`; ROW is teacher or ARCH-{distilled,scratch}[-cues].
if [[ ${1:-} == --one ]]; then
  proto="$2" row="$3" seed="$4"
  dir="$out/$proto/$row/seed$seed"
  [[ -f $dir/.done ]] && exit 0
  rm -rf "$dir"
  mkdir -p "$dir"
  train=(--root "$data" --protocol "$proto" --seed "$seed" --augment none --quiet
    --eval-every 0 --out "$dir/train" "${common[@]}")
  case $row in
    teacher)
      cmd=(train --preset small --variant moae --steps "$teacher_steps" --lr 7e-4 --reg-warmup 1)
      ;;
    *)
      arch="${row%%-distilled*}" arch="${arch%%-scratch*}"
      cmd=(train --arch "$arch" --steps "$student_steps")
      if [[ $row == *-distilled* ]]; then
        tdir="$out/$proto/teacher/seed$(teacher_seed "$seed")"
        # The teacher may still be training in the other slot: wait for it (30 min at most).
        for _ in $(seq 360); do [[ -f $tdir/.done ]] && break; sleep 5; done
        t="$tdir/train/best.safetensors"
        [[ -f $tdir/.done ]] || { echo "no teacher $t for $proto/$row/seed$seed" >&2; exit 1; }
        cmd=(distill --teacher "$t" --arch "$arch" --steps "$student_steps")
      fi
      [[ $row == *-cues ]] && cmd+=(--spoof-cues "$cues")
      ;;
  esac
  start=$(date +%s)
  if [[ -n ${reuse_ckpt:-} ]]; then
    mkdir -p "$dir/train" && cp "$reuse_ckpt" "$dir/train/best.safetensors"
    echo "reused $reuse_ckpt (its stored recipe is this script's)" > "$dir/train.log"
  else
    "$bin/trainer" "${cmd[@]}" "${train[@]}" > "$dir/train.log" 2>&1 ||
      { echo "FAILED: $proto/$row/seed$seed (see $dir/train.log)" >&2; exit 1; }
  fi
  trained=$(date +%s)
  "$bin/trainer" eval "$dir/train/best.safetensors" --root "$data" --protocol "$proto" \
    --out "$dir/eval" "${common[@]}" > "$dir/eval.txt" 2>&1 ||
    { echo "FAILED: eval of $proto/$row/seed$seed (see $dir/eval.txt)" >&2; exit 1; }
  printf '{"train_s": %d, "eval_s": %d}\n' $((trained - start)) $(($(date +%s) - trained)) \
    > "$dir/timing.json"
  touch "$dir/.done"
  echo "[$(date +%H:%M:%S)] $proto $row seed $seed: $(sed -n 3p "$dir/eval.txt")" >&2
  exit 0
fi

cargo build -q -p moae-trainer
mkdir -p "$out"
if [[ ! -f "$data/UniAttackData@p1_image_test.txt" ]]; then
  "$bin/trainer" synth --out "$data" --seed 7 --size 64 --count 400
fi
[[ -f $out/machine-start.txt ]] || { date -u; uptime; } > "$out/machine-start.txt"

# The given P1 teacher stands in for P1 seed 0 when it was trained as this script would train
# it (steps, seed, learning rate, schedule, augmentation, batch, loss weights, no cues).
if [[ -n ${MOAE_TABLE_P1_TEACHER:-} && ! -f $out/p1/teacher/seed0/.done ]] &&
  [[ " $protocols " == *" p1 "* && " $teacher_seeds " == *" 0 "* ]]; then
  if python3 - "$MOAE_TABLE_P1_TEACHER" "$teacher_steps" <<'EOF'; then
import json, struct, sys
path, steps = sys.argv[1], int(sys.argv[2])
with open(path, "rb") as f:
    header = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
meta = header["__metadata__"]
config, train = json.loads(meta["config"]), json.loads(meta["meta"])["train"]["config"]
want = {"steps": steps, "batch_size": 32, "seed": 0, "schedule": "cosine", "augment": "none"}
ok = (config.get("preset") == "small" and config["experts"]["variant"] == "moae"
      and all(train[k] == v for k, v in want.items())
      and train["adam"]["lr"] == 7e-4 and train["loss"]["reg_warmup"] == 1.0
      and train["loss"]["lambda_dm"] == 1.0 and train["loss"]["lambda_cdm"] == 1.0
      and train["spoof_cues"]["p"] == 0.0 and train["distill"] is None)
print(f"{path}: {'the same recipe' if ok else 'another recipe'} ({train['steps']} steps)",
      file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
    reuse_ckpt="$MOAE_TABLE_P1_TEACHER" "$0" --one p1 teacher 0
  fi
fi

# Teachers first (a distilled run waits for its teacher), then the students seed by seed so
# that a cut run still has every row at its first seeds.
specs=()
for s in $teacher_seeds; do
  for p in $protocols; do specs+=("$p teacher $s"); done
done
for s in $seeds; do
  for p in $protocols; do
    for a in student-s student-m; do
      for how in distilled scratch; do
        specs+=("$p $a-$how $s" "$p $a-$how-cues $s")
      done
    done
  done
done
printf '%s\n' "${specs[@]}" | xargs -P "$jobs" -L 1 "$0" --one

{ date -u; uptime; } > "$out/machine-end.txt"
mkdir -p "$(dirname "$doc")"
python3 "$root/scripts/student_table.py" "$out" "$doc" \
  --teacher-steps "$teacher_steps" --student-steps "$student_steps" --cues "$cues" \
  --protocols $protocols
echo "table: $doc" >&2

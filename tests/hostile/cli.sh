#!/usr/bin/env bash
# The hostile-input suite over the `moae` and `trainer` CLIs. Each case names the exit it
# expects (0, or `err`: a clean failure, a non-zero exit below 124) and a pattern its output must
# hold (the named error), and
# prints one line
#     CASE <area> <name> expect=<exit>/<pattern> got=<exit> ok|FAIL
# then "cli: N cases, F failures". Any case ending in a signal or timeout, printing
# "panicked at", or printing a live/attack verdict next to NaN/inf is a FAIL whatever it
# expected. Run by tests/tests/hostile_cli.rs, which generates the fixtures first:
#   cli.sh MOAE TRAINER FIXTURES WORK
# FIXTURES holds tests/hostile/fixtures.rs's files plus ckpt/*.safetensors, fp16.onnx and
# int8.onnx (exported by the harness); WORK is an empty scratch directory.
set -u
MOAE=$1 TRAINER=$2 FIX=$3 WORK=$4
cases=0 failures=0

# c AREA NAME WANT PATTERN CMD...  (WANT: 0 or err; PATTERN: grep -E, case-insensitive, or "")
c() {
    local area=$1 name=$2 want=$3 pat=$4
    shift 4
    local out rc why="" t0=$SECONDS
    # Every case is a small model or file: a minute is ample, and a hang is a failure.
    out=$(timeout -k 5 60 "$@" 2>&1 </dev/null)
    rc=$?
    if [ $rc -ge 124 ]; then why="signal or timeout (exit $rc)"
    elif grep -q "panicked at" <<<"$out"; then why="panic"
    elif grep -Eiq '(^|[^a-z_])(live|attack)([^a-z_].*)?[^a-z](nan|[+-]?inf)([^a-z]|$)' <<<"$out" \
        && ! grep -Eiq 'error|non-finite' <<<"$out"; then why="a verdict next to a non-finite number"
    elif [ "$want" = 0 ] && [ $rc -ne 0 ]; then why="exit $rc"
    elif [ "$want" = err ] && [ $rc -eq 0 ]; then why="exit 0, want a failure"
    elif [ -n "$pat" ] && ! grep -Eiq -- "$pat" <<<"$out"; then why="no /$pat/ in the output"
    fi
    cases=$((cases + 1))
    if [ -z "$why" ]; then
        echo "CASE $area $name expect=$want/$pat got=$rc ok ($((SECONDS - t0)) s)"
    else
        failures=$((failures + 1))
        echo "CASE $area $name expect=$want/$pat got=$rc FAIL: $why ($((SECONDS - t0)) s)"
        head -c 600 <<<"$out" | sed 's/^/    | /'
    fi
}

# t AREA NAME DESCRIPTION TEST...  (a file-state check after a command)
t() {
    local area=$1 name=$2 what=$3
    shift 3
    cases=$((cases + 1))
    if "$@"; then
        echo "CASE $area $name expect=$what ok"
    else
        failures=$((failures + 1))
        echo "CASE $area $name expect=$what FAIL"
    fi
}
absent() { [ ! -e "$1" ]; }
no_tmp_in() { ! ls -A "$1" | grep -q 'tmp'; }

M="$FIX/good.onnx"
PNG="$FIX/good.png"
BIG=18446744073709551615

# ---- moae info / model files ----
A=moae-info
c $A good 0 'input' "$MOAE" info "$M"
c $A good_json 0 '"input_size": *16' "$MOAE" info --json "$M"
# Each file's own reason, not its name (every error names the file it loaded).
while read -r f why; do
    c $A "$f.onnx" err "$why" "$MOAE" info "$FIX/$f.onnx"
done <<'EOF'
missing No such file
empty model is empty
garbage Protobuf parsing failed
truncated Protobuf parsing failed
foreign no `moae.format_version`
logits_only no output `attack_score`
nan_mean `moae.mean` = \[[^]]*NaN.*out of range
inf_mean `moae.mean` = \[inf.*out of range
nan_std `moae.std` = "[^"]*NaN" is invalid: std must be positive
zero_std `moae.std` = "0,[^"]*" is invalid: std must be positive
nan_threshold `moae.threshold` = "NaN" is invalid
big_threshold `moae.threshold` = "2" is invalid
zero_input `moae.input_size` = "0" is invalid
size_mismatch \[-1, 3, 16, 16\].*expected float32 \[N, 3, 32, 32\]
bad_classes `moae.classes` = "cat,dog" is invalid
future_format format version 101 is not supported
dir Is a directory
EOF
c $A threads_100000 err '--threads <THREADS>.: [0-9]+ is out of range: use 0\.\.=64' "$MOAE" info --threads 100000 "$M"
c $A threads_600 err '--threads <THREADS>.: [0-9]+ is out of range: use 0\.\.=64' "$MOAE" info --threads 600 "$M"
c $A threads_too_big_for_usize err '--threads <THREADS>.: .[0-9]+. is not a whole number' "$MOAE" info --threads 18446744073709551616 "$M"
c $A threads_negative err 'invalid|unexpected' "$MOAE" info --threads -1 "$M"
c $A ep_bogus err 'bogus|invalid' "$MOAE" info --ep bogus "$M"
c $A require_cuda err 'cuda' "$MOAE" info --ep cuda --require "$M"
c $A prefer_cuda_then_cpu 0 'cpu' "$MOAE" info --ep cuda,cpu "$M"
c $A ort_missing err 'could not load ONNX Runtime from ./nonexistent/libonnxruntime\.so.*no such file' "$MOAE" --ort /nonexistent/libonnxruntime.so info "$M"
c $A fp16_file 0 'fp16' "$MOAE" info "$FIX/fp16.onnx"
c $A int8_file 0 'int8' "$MOAE" info "$FIX/int8.onnx"

# ---- moae detect ----
A=moae-detect
c $A png 0 '[[:space:]](live|attack|unsure)[[:space:]]attack_score=0\.[0-9]+' "$MOAE" detect --whole-frame "$M" "$PNG"
c $A jpeg 0 "attack_score" "$MOAE" detect --whole-frame "$M" "$FIX/good.jpg"
c $A gray_jpeg 0 "attack_score" "$MOAE" detect --whole-frame "$M" "$FIX/gray.jpg"
c $A rgba_png 0 "attack_score" "$MOAE" detect --whole-frame "$M" "$FIX/rgba.png"
c $A rgb16_png 0 "attack_score" "$MOAE" detect --whole-frame "$M" "$FIX/rgb16.png"
c $A png_named_jpg 0 "attack_score" "$MOAE" detect --whole-frame "$M" "$FIX/png_named.jpg"
c $A json 0 '"attack_score"' "$MOAE" detect --whole-frame --json "$M" "$PNG"
# (The fixtures' names hold "nan" and "inf": the patterns are the errors' own words.)
NONFINITE='non-finite logits \[(NaN|inf)'
c $A nan_score_model err "$NONFINITE" "$MOAE" detect --whole-frame "$FIX/nan_score.onnx" "$PNG"
c $A nan_score_model_json err "$NONFINITE" "$MOAE" detect --whole-frame --json "$FIX/nan_score.onnx" "$PNG"
c $A inf_logit_model err "$NONFINITE" "$MOAE" detect --whole-frame "$FIX/inf_logit.onnx" "$PNG"
c $A nan_mean_model err '`moae.mean` = .*out of range' "$MOAE" detect --whole-frame "$FIX/nan_mean.onnx" "$PNG"
# Each image file's own reason, after its name.
while read -r f why; do
    c $A "$f" err "${f//./\\.}.*($why)" "$MOAE" detect --whole-frame "$M" "$FIX/$f"
done <<'EOF'
trunc_half.png PNG ends after [0-9]+ bytes without its IEND chunk: the file is truncated
trunc_header.png PNG ends after [0-9]+ bytes without its IEND chunk: the file is truncated
trunc_half.jpg JPEG ends inside its image data.*truncated
trunc_noeoi.jpg JPEG ends inside its image data.*truncated
trunc_header.jpg Not enough bytes
bomb.png Memory limit exceeded
bomb_wide.png Memory limit exceeded
bomb.jpg Memory limit exceeded
zero_dim.png Invalid image dimensions
empty.png format could not be determined
text.png format could not be determined
gif.png format Gif is not supported
bmp.jpg format Bmp is not supported
dir.png Is a directory
missing.png No such file
EOF
c $A good_then_truncated err 'trunc_half\.png.*without its IEND' "$MOAE" detect --whole-frame "$M" "$PNG" "$FIX/trunc_half.png"
c $A box_ok 0 'attack_score' "$MOAE" detect "$M" "$PNG" --box 10,10,20,20
c $A box_nan err 'face box.*non-finite' "$MOAE" detect "$M" "$PNG" --box NaN,0,10,10
c $A box_inf err 'face box.*non-finite' "$MOAE" detect "$M" "$PNG" --box 0,0,inf,10
c $A box_negative err 'face box.*must be positive' "$MOAE" detect "$M" "$PNG" --box 0,0,-5,10
c $A box_zero err 'face box.*must be positive' "$MOAE" detect "$M" "$PNG" --box 0,0,0,10
c $A box_outside err 'face box.*wholly outside' "$MOAE" detect "$M" "$PNG" --box 1000,1000,20,20
c $A box_three_numbers err 'box|x,y,w,h|invalid' "$MOAE" detect "$M" "$PNG" --box 1,2,3
c $A box_words err 'box|invalid' "$MOAE" detect "$M" "$PNG" --box a,b,c,d
c $A threshold_nan err 'threshold' "$MOAE" detect --whole-frame "$M" "$PNG" --threshold NaN
c $A threshold_inf err 'threshold' "$MOAE" detect --whole-frame "$M" "$PNG" --threshold inf
c $A threshold_1_5 err 'threshold' "$MOAE" detect --whole-frame "$M" "$PNG" --threshold 1.5
c $A threshold_negative err 'threshold' "$MOAE" detect --whole-frame "$M" "$PNG" --threshold=-0.5
c $A threshold_0_is_attack 0 'by_score=attack' "$MOAE" detect --whole-frame "$M" "$PNG" --threshold 0
c $A threshold_1_is_live 0 'by_score=live' "$MOAE" detect --whole-frame "$M" "$PNG" --threshold 1
c $A crop_scale_nan err 'crop' "$MOAE" detect "$M" "$PNG" --box 10,10,20,20 --crop-scale NaN
c $A crop_scale_inf err 'crop' "$MOAE" detect "$M" "$PNG" --box 10,10,20,20 --crop-scale inf
c $A crop_scale_zero err 'crop' "$MOAE" detect "$M" "$PNG" --box 10,10,20,20 --crop-scale 0
c $A crop_scale_negative err 'crop' "$MOAE" detect "$M" "$PNG" --box 10,10,20,20 --crop-scale=-2
c $A crop_scale_11 err 'crop' "$MOAE" detect "$M" "$PNG" --box 10,10,20,20 --crop-scale 11
c $A crop_scale_2 0 'attack_score' "$MOAE" detect "$M" "$PNG" --box 10,10,20,20 --crop-scale 2
# The crop scale really changes the crop: two scales, two scores (the scores alone: the rest
# of the JSON holds a latency, different on every run), and one scale twice, one score.
score_of() { "$MOAE" detect --json "$M" "$PNG" --box 20,14,16,16 --crop-scale "$1" 2>/dev/null |
    grep -Eo '"attack_score": *[0-9.e-]+' | head -n 1; }
s1=$(score_of 1) s2=$(score_of 2) s1b=$(score_of 1)
t $A crop_scale_changes_score "different scores" eval '[ -n "$s1" ] && [ -n "$s2" ] && [ "$s1" != "$s2" ]'
t $A crop_scale_same_score_twice "equal scores" eval '[ -n "$s1" ] && [ "$s1" = "$s1b" ]'
c $A threads_100000 err '--threads <THREADS>.: [0-9]+ is out of range: use 0\.\.=64' "$MOAE" detect --whole-frame --threads 100000 "$M" "$PNG"
c $A no_images err 'required|usage' "$MOAE" detect --whole-frame "$M"
c $A fp16_model 0 'attack_score' "$MOAE" detect --whole-frame "$FIX/fp16.onnx" "$FIX/good.jpg"
c $A int8_model 0 'attack_score' "$MOAE" detect --whole-frame "$FIX/int8.onnx" "$FIX/good.jpg"

# ---- moae detect: frame in, decision out (face detector, geometry, calibration) ----
A=moae-analyze
FACE="${MOAE_FACE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.venv/face}"
DET="$FACE/face_detection_front_128x128.onnx"
c $A no_box_no_detector err 'MOAE_FACE_DETECTOR' env -u MOAE_FACE_DETECTOR "$MOAE" detect "$M" "$PNG"
c $A detector_missing err 'face detector .*nope\.onnx does not exist' "$MOAE" detect "$M" "$PNG" --detector "$WORK/nope.onnx"
c $A detector_env_missing err 'face detector .*nope\.onnx does not exist' env MOAE_FACE_DETECTOR="$WORK/nope.onnx" "$MOAE" detect "$M" "$PNG"
c $A detector_garbage err 'face detector is not a loadable ONNX model' "$MOAE" detect "$M" "$PNG" --detector "$FIX/garbage.onnx"
c $A detector_is_liveness_model err 'detector' "$MOAE" detect "$M" "$PNG" --detector "$M"
c $A rotation_45 err '0, 90, 180 or 270' "$MOAE" detect --whole-frame "$M" "$PNG" --rotation 45
c $A rotation_minus_90 err 'rotation|0, 90' "$MOAE" detect --whole-frame "$M" "$PNG" --rotation=-90
c $A box_and_whole_frame err 'cannot be used|conflict' "$MOAE" detect --whole-frame "$M" "$PNG" --box 10,10,20,20
c $A box_under_min_size err 'box|16' "$MOAE" detect "$M" "$PNG" --box 10,10,8,8
c $A box_normalized_nan err 'box' "$MOAE" detect "$M" "$PNG" --box NaN,0,0.5,0.5 --normalized
c $A box_raw_rotated_mirrored 0 'by_score=' "$MOAE" detect "$M" "$PNG" --box 10,10,20,20 --box-space raw --rotation 90 --mirrored
c $A box_normalized 0 'by_score=' "$MOAE" detect "$M" "$PNG" --box 0.1,0.1,0.5,0.6 --normalized
c $A box_space_bogus err 'box-space|invalid' "$MOAE" detect "$M" "$PNG" --box 10,10,20,20 --box-space sideways
c $A json_whole_frame 0 '"decision"' "$MOAE" detect --whole-frame --json "$M" "$PNG"
AB=$(printf 'ab%.0s' $(seq 32))
MSHA=$("$MOAE" info --json "$M" | sed -n 's/.*"model_sha256": *"\([0-9a-f]\{64\}\)".*/\1/p')
calib() { # calib NAME JSON-FIELDS: a calibration file for $M (its SHA-256) with those fields
    printf '{"threshold": 0.3, "model_sha256": "%s", %s}\n' "$MSHA" "$2" >"$WORK/$1.calib.json"
}
printf '{"threshold": 0.3, "model_sha256": "%s", "crop_scale": 1.5, "face_source": "whole_frame"}\n' "$AB" >"$WORK/other_model.calib.json"
c $A calibration_other_model err 'SHA-256' "$MOAE" detect --whole-frame "$M" "$PNG" --calibration "$WORK/other_model.calib.json"
calib ok '"crop_scale": 1.5, "face_source": "whole_frame"'
c $A calibration_matching 0 'threshold=0\.3' "$MOAE" detect --whole-frame "$M" "$PNG" --calibration "$WORK/ok.calib.json"
calib old_format '"face_source": "whole_frame"'
c $A calibration_without_crop_scale err 'no crop_scale.*moae calibrate' "$MOAE" detect --whole-frame "$M" "$PNG" --calibration "$WORK/old_format.calib.json"
calib no_source '"crop_scale": 1.5'
c $A calibration_without_face_source err 'no face_source' "$MOAE" detect --whole-frame "$M" "$PNG" --calibration "$WORK/no_source.calib.json"
calib bogus_source '"crop_scale": 1.5, "face_source": "anything"'
c $A calibration_unknown_face_source err 'face_source' "$MOAE" detect --whole-frame "$M" "$PNG" --calibration "$WORK/bogus_source.calib.json"
c $A calibration_other_crop_scale err 'crop scale 1\.5.*--crop-scale 1\.5' "$MOAE" detect --whole-frame --crop-scale 2 "$M" "$PNG" --calibration "$WORK/ok.calib.json"
calib zero_crop '"crop_scale": 0, "face_source": "whole_frame"'
c $A calibration_crop_scale_0 err 'crop_scale' "$MOAE" detect --whole-frame "$M" "$PNG" --calibration "$WORK/zero_crop.calib.json"
c $A calibration_whole_frame_used_on_boxes err 'whole images.*--box' "$MOAE" detect "$M" "$PNG" --box 10,10,20,20 --calibration "$WORK/ok.calib.json"
calib by_detector "\"crop_scale\": 1.5, \"face_source\": \"detector\", \"detector_sha256\": \"$AB\""
c $A calibration_detector_used_on_whole_frames err 'face detector.*whole images' "$MOAE" detect --whole-frame "$M" "$PNG" --calibration "$WORK/by_detector.calib.json"
c $A calibration_other_detector err "SHA-256 $AB" "$MOAE" detect "$M" "$PNG" --detector "$FIX/garbage.onnx" --calibration "$WORK/by_detector.calib.json"
calib detector_no_sha '"crop_scale": 1.5, "face_source": "detector"'
c $A calibration_detector_without_sha err 'detector_sha256' "$MOAE" detect "$M" "$PNG" --detector "$FIX/garbage.onnx" --calibration "$WORK/detector_no_sha.calib.json"
printf '{"threshold": 0.3, "model_sha256": "%s", "crop_scale": 1.5, "face_source": "whole_frame"}\n' "$(printf 'zz%.0s' $(seq 32))" >"$WORK/bad_sha.calib.json"
c $A calibration_non_hex_sha err 'model_sha256' "$MOAE" detect --whole-frame "$M" "$PNG" --calibration "$WORK/bad_sha.calib.json"
printf '{"threshold": "high"}\n' >"$WORK/bad.calib.json"
c $A calibration_garbage err 'threshold' "$MOAE" detect --whole-frame "$M" "$PNG" --calibration "$WORK/bad.calib.json"
c $A calibration_missing err 'cannot open the calibration file .*nocalib\.json' "$MOAE" detect --whole-frame "$M" "$PNG" --calibration "$WORK/nocalib.json"
c $A calibration_and_threshold err 'cannot be used|conflict' "$MOAE" detect --whole-frame "$M" "$PNG" --calibration "$WORK/bad.calib.json" --threshold 0.5
if [ -f "$DET" ] && [ -f "$FACE/astronaut.png" ]; then
    c $A detector_astronaut 0 'detector 0\.[5-9]' "$MOAE" detect "$M" "$FACE/astronaut.png" --detector "$DET"
    c $A detector_astronaut_json 0 '"keypoints"' "$MOAE" detect --json "$M" "$FACE/astronaut.png" --detector "$DET"
    c $A detector_no_face 0 'no face' "$MOAE" detect "$M" "$PNG" --detector "$DET"
else
    echo "SKIPPED moae-analyze detector cases: $DET is missing (scripts/setup-face.sh)"
    [ -z "${CI:-}" ] || { failures=$((failures + 1)); echo "CASE $A detector_files expect=present FAIL"; }
fi

# ---- moae calibrate ----
A=moae-calibrate
CL="$WORK/calib"
mkdir -p "$CL"
printf '%s\n' "$FIX/good.png" "$FIX/good.jpg" "$FIX/gray.png" >"$CL/live3.txt"
: >"$CL/empty.txt"
c $A target_below_1_over_n err 'at least 100 live frames' "$MOAE" calibrate "$M" --live "$CL/live3.txt" --target-bpcer 0.01 --whole-frame
c $A target_0 err '--target-bpcer is 0: use a share in \(0, 1\)' "$MOAE" calibrate "$M" --live "$CL/live3.txt" --target-bpcer 0 --whole-frame
c $A target_nan err '--target-bpcer is NaN: use a share in \(0, 1\)' "$MOAE" calibrate "$M" --live "$CL/live3.txt" --target-bpcer NaN --whole-frame
c $A target_1 err '--target-bpcer is 1: use a share in \(0, 1\)' "$MOAE" calibrate "$M" --live "$CL/live3.txt" --target-bpcer 1 --whole-frame
c $A empty_list err 'no image' "$MOAE" calibrate "$M" --live "$CL/empty.txt" --target-bpcer 0.5 --whole-frame
c $A list_missing err 'cannot open the frame list .*nolist\.txt' "$MOAE" calibrate "$M" --live "$CL/nolist.txt" --target-bpcer 0.5 --whole-frame
c $A no_detector err 'MOAE_FACE_DETECTOR' env -u MOAE_FACE_DETECTOR "$MOAE" calibrate "$M" --live "$CL/live3.txt" --target-bpcer 0.5
c $A nan_model err "$NONFINITE" "$MOAE" calibrate "$FIX/nan_score.onnx" --live "$CL/live3.txt" --target-bpcer 0.5 --whole-frame --out "$WORK/nan.calib.json"
t $A nan_model_writes_nothing "no nan.calib.json" absent "$WORK/nan.calib.json"
c $A ok 0 'Clopper-Pearson' "$MOAE" calibrate "$M" --live "$CL/live3.txt" --attack "$CL/live3.txt" --target-bpcer 0.34 --whole-frame --out "$WORK/ok.calib.json"
c $A ok_accepted_by_detect 0 'by_score=' "$MOAE" detect --whole-frame "$M" "$PNG" --calibration "$WORK/ok.calib.json"
c $A out_dir_missing err 'Error: writing .*nodir/c\.json' "$MOAE" calibrate "$M" --live "$CL/live3.txt" --target-bpcer 0.34 --whole-frame --out "$WORK/nodir/c.json"
t $A no_tmp_left "no temporary files" no_tmp_in "$WORK"

# ---- moae score (lists) ----
A=moae-score
L="$WORK/lists"
mkdir -p "$L"
printf 'good.png 0\ngood.jpg 1 print\ngray.png 0\n' >"$L/ok.txt"
printf 'good.png 0\nnothere.png 1\n' >"$L/missing_image.txt"
printf 'good.png 7\n' >"$L/bad_label.txt"
printf 'good.png\n' >"$L/no_label.txt"
: >"$L/empty.txt"
printf 'good.png 0\ntrunc_half.jpg 1\n' >"$L/truncated_jpeg.txt"
printf 'good.png 0\ntrunc_half.png 1\n' >"$L/truncated_png.txt"
printf 'good.png 0\nbomb.png 1\n' >"$L/bomb.txt"
c $A ok 0 '' "$MOAE" score "$M" --list "$L/ok.txt" --root "$FIX" --out "$WORK/ok.scores"
t $A ok_writes_three_lines "3 score lines" [ "$(wc -l <"$WORK/ok.scores" 2>/dev/null)" = 3 ]
c $A fp16 0 '' "$MOAE" score "$FIX/fp16.onnx" --list "$L/ok.txt" --root "$FIX" --out "$WORK/fp16.scores"
c $A int8 0 '' "$MOAE" score "$FIX/int8.onnx" --list "$L/ok.txt" --root "$FIX" --out "$WORK/int8.scores"
t $A int8_scores_written "3 score lines" [ "$(wc -l <"$WORK/int8.scores" 2>/dev/null)" = 3 ]
while read -r l why; do
    c $A "$l" err "$why" "$MOAE" score "$M" --list "$L/$l.txt" --root "$FIX" --out "$WORK/$l.scores"
    t $A "${l}_writes_nothing" "no $l.scores" absent "$WORK/$l.scores"
done <<'EOF'
missing_image nothere\.png`: No such file
bad_label line 1: label is not 0 \(live\) or 1-3
no_label line 1: wrong number of columns
empty has no samples
truncated_jpeg trunc_half\.jpg`: the JPEG ends inside its image data
truncated_png trunc_half\.png`: the PNG ends after
bomb bomb\.png`: Memory limit exceeded
EOF
c $A nan_model err "$NONFINITE" "$MOAE" score "$FIX/nan_score.onnx" --list "$L/ok.txt" \
    --root "$FIX" --out "$WORK/nan.scores"
t $A nan_model_writes_nothing "no nan.scores" absent "$WORK/nan.scores"
c $A list_missing err 'cannot read list file .*nolist\.txt: No such file' "$MOAE" score "$M" --list "$L/nolist.txt" --root "$FIX" --out "$WORK/x.scores"
c $A out_dir_missing err 'Error: writing .*nodir/x\.scores' "$MOAE" score "$M" --list "$L/ok.txt" --root "$FIX" --out "$WORK/nodir/x.scores"

# ---- moae bench / bench-matrix (every number bounded: defect 6) ----
A=moae-bench
c $A ok 0 'latency|ms' "$MOAE" bench "$M" --iters 3 --warmup 1
c $A e2e 0 'latency|ms' "$MOAE" bench "$M" --iters 2 --warmup 0 --e2e
c $A batch_0 err '--batch <BATCH>.: [0-9]+ is out of range: use 1\.\.=256' "$MOAE" bench "$M" --batch 0 --iters 2
c $A batch_1000000 err '--batch <BATCH>.: [0-9]+ is out of range: use 1\.\.=256' "$MOAE" bench "$M" --batch 1000000 --iters 2
c $A batch_2pow62 err '--batch <BATCH>.: [0-9]+ is out of range: use 1\.\.=256' "$MOAE" bench "$M" --batch 4611686018427387904 --iters 2
c $A batch_u64_max err '--batch <BATCH>.: [0-9]+ is out of range: use 1\.\.=256' "$MOAE" bench "$M" --batch $BIG --iters 2
c $A iters_0 err '--iters <ITERS>.: [0-9]+ is out of range: use 1\.\.=1000000' "$MOAE" bench "$M" --iters 0
c $A iters_u64_max err '--iters <ITERS>.: [0-9]+ is out of range: use 1\.\.=1000000' "$MOAE" bench "$M" --iters $BIG
c $A warmup_u64_max err '--warmup <WARMUP>.: [0-9]+ is out of range: use 0\.\.=10000' "$MOAE" bench "$M" --warmup $BIG --iters 2
c $A threads_100000 err '--threads <THREADS>.: [0-9]+ is out of range: use 0\.\.=64' "$MOAE" bench "$M" --threads 100000 --iters 2
c $A threads_600 err '--threads <THREADS>.: [0-9]+ is out of range: use 0\.\.=64' "$MOAE" bench "$M" --threads 600 --iters 2
c $A nan_model err "$NONFINITE" "$MOAE" bench "$FIX/nan_score.onnx" --iters 2
A=moae-bench-matrix
c $A fp32_fp16_int8 0 'fp16' "$MOAE" bench-matrix "$M" "$FIX/fp16.onnx" "$FIX/int8.onnx" --ep cpu --batch 1 --iters 2 --warmup 0
c $A batch_0 err '--batch <BATCH>.: [0-9]+ is out of range: use 1\.\.=256' "$MOAE" bench-matrix "$M" --ep cpu --batch 0 --iters 2
c $A batch_1000000 err '--batch <BATCH>.: [0-9]+ is out of range: use 1\.\.=256' "$MOAE" bench-matrix "$M" --ep cpu --batch 1000000 --iters 2
c $A iters_u64_max err '--iters <ITERS>.: [0-9]+ is out of range: use 1\.\.=1000000' "$MOAE" bench-matrix "$M" --ep cpu --batch 1 --iters $BIG
c $A threads_100000 err '--threads <THREADS>.: [0-9]+ is out of range: use 0\.\.=64' "$MOAE" bench-matrix "$M" --ep cpu --batch 1 --iters 2 --threads 100000
c $A missing_model err 'model file .*missing\.onnx. does not exist' "$MOAE" bench-matrix "$FIX/missing.onnx" --ep cpu --batch 1 --iters 2
c $A json_to_missing_dir err 'writing the JSON report to .*nodir/m\.json' "$MOAE" bench-matrix "$M" --ep cpu --batch 1 --iters 2 --json "$WORK/nodir/m.json"

# ---- trainer: checkpoints (defect 4), export (defect 7), train (defect 8), metrics (defect 10) ----
A=trainer-ckpt
CK="$FIX/ckpt"
for f in heads_halved layer_norm_eps mean layers_100000; do
    c $A "$f" err 'not a valid checkpoint: content checksum mismatch' "$TRAINER" export --onnx "$WORK/$f.onnx" "$CK/$f.safetensors"
    t $A "${f}_writes_nothing" "no $f.onnx" absent "$WORK/$f.onnx"
done
while read -r f why; do
    c $A "$f" err "not a valid checkpoint: $why" "$TRAINER" export --onnx "$WORK/$f.onnx" "$CK/$f.safetensors"
done <<'EOF'
truncated safetensors: incomplete metadata
empty safetensors: header too small
garbage safetensors: header too large
tensor_flipped content checksum mismatch
EOF
c $A info_layers_100000 err 'not a valid checkpoint: content checksum mismatch' "$TRAINER" info "$CK/layers_100000.safetensors"
c $A missing err 'reading .*nothere\.safetensors: No such file' "$TRAINER" export --onnx "$WORK/x.onnx" "$CK/nothere.safetensors"
A=trainer-export
mkdir -p "$WORK/exp"
c $A triton_name_escape err 'name|evil' "$TRAINER" export --onnx "$WORK/exp/m.onnx" "$CK/good.safetensors" \
    --triton "$WORK/exp/repo" --triton-name ../evil
t $A triton_name_escape_writes_nothing "no m.onnx" absent "$WORK/exp/m.onnx"
t $A triton_name_escape_no_temp_files "no tmp files" no_tmp_in "$WORK/exp"
c $A out_dir_missing err 'the directory .*nodir does not exist' "$TRAINER" export --onnx "$WORK/nodir/m.onnx" "$CK/good.safetensors"
c $A precision_bogus err 'bogus|invalid' "$TRAINER" export --onnx "$WORK/exp/b.onnx" "$CK/good.safetensors" --precision bogus
c $A dev_scores_missing err 'cannot read score file .*nothere\.txt' "$TRAINER" export --onnx "$WORK/exp/d.onnx" "$CK/good.safetensors" --dev-scores "$WORK/nothere.txt"
t $A failed_exports_write_nothing "no b.onnx, d.onnx" eval 'absent "$WORK/exp/b.onnx" && absent "$WORK/exp/d.onnx"'
A=trainer-train
D="$FIX/synth"
TL="$WORK/tlists"
mkdir -p "$TL"
first=$(head -n 1 "$D/UniAttackData@p1_image_train.txt" 2>/dev/null)
printf '%s\nnothere/0000.png 1\n' "$first" >"$TL/missing.txt"
printf '%s\n' "${first% *} 9" >"$TL/bad_label.txt"
: >"$TL/empty.txt"
cp "$FIX/trunc_half.png" "$D/trunc_half.png" 2>/dev/null
cp "$FIX/trunc_half.jpg" "$D/trunc_half.jpg" 2>/dev/null
printf '%s\ntrunc_half.png 1\n' "$first" >"$TL/trunc_png.txt"
printf '%s\ntrunc_half.jpg 1\n' "$first" >"$TL/trunc_jpg.txt"
TRAIN=("$TRAINER" train --root "$D" --preset tiny --batch-size 2 --eval-every 1 --workers 1)
c $A steps_0 err '--steps <STEPS>.: 0 is outside 1\.\.=' "${TRAIN[@]}" --protocol p1 --steps 0 --out "$WORK/run0"
t $A steps_0_writes_nothing "no run0/latest" absent "$WORK/run0/latest.safetensors"
c $A steps_u64_max err '--steps <STEPS>.: [0-9]+ is outside 1\.\.=' "${TRAIN[@]}" --protocol p1 --steps $BIG --out "$WORK/runbig"
TRAIN_NB=("$TRAINER" train --root "$D" --preset tiny --eval-every 1 --workers 1)
c $A batch_0 err '--batch-size <BATCH_SIZE>.: 0 is outside 1\.\.=4096' "${TRAIN_NB[@]}" --protocol p1 --steps 1 --batch-size 0 --out "$WORK/runb0"
c $A batch_huge err '--batch-size <BATCH_SIZE>.: 100000000 is outside 1\.\.=4096' "${TRAIN_NB[@]}" --protocol p1 --steps 1 --batch-size 100000000 --out "$WORK/runbh"
c $A lr_nan err '--lr <LR>.: .NaN. is not a number in \[0, 10\]' "${TRAIN[@]}" --protocol p1 --steps 1 --lr NaN --out "$WORK/runlr"
c $A protocol_bogus err 'protocol|bogus' "${TRAIN[@]}" --protocol bogus --steps 1 --out "$WORK/runp"
c $A preset_bogus err 'preset|bogus' "$TRAINER" train --root "$D" --protocol p1 --preset bogus --steps 1 --out "$WORK/runpr"
while read -r l why; do
    c $A "list_$l" err "$why" "${TRAIN[@]}" --train-list "$TL/$l.txt" --steps 1 --out "$WORK/run_$l"
done <<'EOF'
missing cannot read image .*nothere/0000\.png \(.*missing\.txt line 2\).*No such file
bad_label bad_label\.txt line 1: label is not 0
empty empty\.txt has no samples
trunc_png trunc_png\.txt line 2\).*PNG ends after [0-9]+ bytes without its IEND
trunc_jpg trunc_jpg\.txt line 2\).*JPEG ends inside its image data
EOF
c $A root_missing err 'data root .*nothere does not exist' "$TRAINER" train --root "$WORK/nothere" --protocol p1 --preset tiny --steps 1 --out "$WORK/runr"
A=trainer-misc
c $A init_preset_bogus err 'preset|bogus' "$TRAINER" init --preset bogus --out "$WORK/x.safetensors"
t $A init_preset_bogus_writes_nothing "no x.safetensors" absent "$WORK/x.safetensors"
c $A init_out_dir_missing err 'the directory .*nodir does not exist' "$TRAINER" init --preset tiny --out "$WORK/nodir/x.safetensors"
c $A synth_count_0 err '--count <COUNT>.: 0 is outside 1\.\.=' "$TRAINER" synth --out "$WORK/s0" --count 0
c $A synth_size_0 err 'size must be 32\.\.=1024 px.*got size 0,' "$TRAINER" synth --out "$WORK/s1" --size 0
c $A synth_size_huge err 'size must be 32\.\.=1024 px.*got size 4000000000,' "$TRAINER" synth --out "$WORK/s2" --size 4000000000
c $A info_preset_bogus err 'preset|bogus' "$TRAINER" info --preset bogus
A=trainer-metrics
S="$WORK/scores"
mkdir -p "$S"
printf '0.1 0\n0.9 1\n0.2 0\n0.8 1\n' >"$S/ok.txt"
printf '0.1 0\nNaN 1\n0.2 0\n0.8 1\n' >"$S/nan.txt"
printf '0.1 0\ninf 1\n0.2 0\n0.8 1\n' >"$S/inf.txt"
printf '0.1 0\n1.5 1\n' >"$S/above_1.txt" # any finite score ranks: not an error
printf '0.1 0\n0.2 0\n' >"$S/one_class.txt"
printf '0.1 0\n0.9 9\n' >"$S/bad_label.txt" # labels are 0 (live) to 3 (attack types)
printf '0.1\n' >"$S/no_label.txt"
printf 'abc 0\n' >"$S/not_a_number.txt"
: >"$S/empty.txt"
printf '0.5 0\n0.5 1\n0.5 0\n0.5 1\n' >"$S/all_ties.txt"
c $A ok 0 'eer|acer' "$TRAINER" metrics --scores "$S/ok.txt"
c $A all_ties 0 'eer|acer' "$TRAINER" metrics --scores "$S/all_ties.txt"
c $A above_1 0 'eer|acer' "$TRAINER" metrics --scores "$S/above_1.txt"
while read -r f why; do
    c $A "$f" err "$why" "$TRAINER" metrics --scores "$S/$f.txt"
done <<'EOF'
nan nan\.txt line 2: score is not finite
inf inf\.txt line 2: score is not finite
one_class needs both live and attack scores
bad_label bad_label\.txt line 2: label is not 0
no_label no_label\.txt line 1: wrong number of columns
not_a_number not_a_number\.txt line 1: score is not a number
empty empty\.txt has no scores
EOF
c $A dev_nan err 'nan\.txt line 2: score is not finite' "$TRAINER" metrics --scores "$S/ok.txt" --dev "$S/nan.txt"
c $A missing err 'cannot read score file .*nothere\.txt' "$TRAINER" metrics --scores "$S/nothere.txt"
c $A json_to_missing_dir err 'creating a temp file for .*nodir/m\.json' "$TRAINER" metrics --scores "$S/ok.txt" --json "$WORK/nodir/m.json"

echo "cli: $cases cases, $failures failures"

#!/usr/bin/env python3
"""Times, in one run, on the same ONNX file and the same input:
  1. libmoae end to end (the `moae bench` CLI: Rust runtime over ONNX Runtime, preprocessing included
     when --e2e is given, inference only otherwise),
  2. onnxruntime Python `InferenceSession.run` (inference only),
  3. PyTorch eager on the same weights (`trainer bench-torch`: libtorch eager through tch),
and prints the ratios. Usage:
  .venv/bin/python scripts/bench_compare.py MODEL.onnx [--ckpt CKPT] [--threads 2] [--iters 50]
Run it on an idle machine; it is a benchmark, not a test.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pct(xs, p):
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * (len(xs) - 1)))))
    return xs[k]


def time_python_ort(model, threads, iters, warmup, batch):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    t0 = time.perf_counter()
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - t0) * 1e3
    inp = sess.get_inputs()[0]
    size = int(sess.get_modelmeta().custom_metadata_map.get("moae.input_size", "224"))
    x = np.random.default_rng(0).standard_normal((batch, 3, size, size)).astype(np.float32)
    for _ in range(warmup):
        sess.run(None, {inp.name: x})
    lat = []
    for _ in range(iters):
        t = time.perf_counter()
        sess.run(None, {inp.name: x})
        lat.append((time.perf_counter() - t) * 1e3)
    return {"load_ms": load_ms, "p50_ms": pct(lat, 50), "p90_ms": pct(lat, 90),
            "p99_ms": pct(lat, 99), "mean_ms": statistics.fmean(lat)}


def run_json(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--ckpt", help="checkpoint for the PyTorch-eager row (trainer bench-torch)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--bin", default=os.path.join(ROOT, "target", "release"))
    a = ap.parse_args()

    rows = {}
    rows["onnxruntime-python"] = time_python_ort(a.model, a.threads, a.iters, a.warmup, a.batch)
    rows["libmoae"] = run_json([os.path.join(a.bin, "moae"), "bench", a.model, "--threads",
                                str(a.threads), "--iters", str(a.iters), "--batch", str(a.batch),
                                "--warmup", str(a.warmup), "--e2e", "--json"])
    if a.ckpt:
        rows["pytorch-eager"] = run_json([os.path.join(a.bin, "trainer"), "bench-torch", a.ckpt,
                                          "--threads", str(a.threads), "--iters", str(a.iters),
                                          "--batch", str(a.batch), "--json"])
    base = rows["onnxruntime-python"]["p50_ms"]
    print(f"{'runner':<22}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'vs ORT-Python':>16}")
    for name, r in rows.items():
        print(f"{name:<22}{r['p50_ms']:>10.2f}{r['p90_ms']:>10.2f}{r['p99_ms']:>10.2f}"
              f"{r['p50_ms'] / base:>15.3f}x")
    print(json.dumps({"threads": a.threads, "batch": a.batch, "rows": rows}))


if __name__ == "__main__":
    sys.exit(main())

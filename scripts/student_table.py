#!/usr/bin/env python3
"""docs/student-accuracy.md from scripts/student-table.sh's runs: mean ± std over seeds of each
row's test ACER, AUC and EER (dev-EER threshold, `trainer eval`'s report.json), which differences
exceed the seed spread, the P1 attack-type confusion matrix of the distilled student-m, and the
machine. Text below the NOTES marker of an existing doc is kept (the reading of the numbers)."""

import argparse
import json
import re
import statistics
import subprocess
from pathlib import Path

NOTES = "<!-- notes: written by hand, kept by scripts/student_table.py -->"
ROWS = ["teacher"] + [
    f"{a}-{how}{cue}"
    for a in ("student-s", "student-m")
    for how in ("distilled", "scratch")
    for cue in ("", "-cues")
]
METRICS = [("acer", "ACER", False), ("auc", "AUC", True), ("eer", "EER", False)]


def label(row):
    if row == "teacher":
        return "teacher (small MoAE-CR)"
    arch, rest = row.split("-", 2)[:2], row.split("-", 2)[2]
    how = "distilled" if rest.startswith("distilled") else "no teacher"
    return f"{'-'.join(arch)}, {how}" + (", spoof cues" if rest.endswith("-cues") else "")


def runs(out, proto, row):
    """(seed, report.json, timing) of every finished run of a row."""
    found = []
    for d in sorted((out / proto / row).glob("seed*")):
        if (d / ".done").exists():
            report = json.loads((d / "eval" / "report.json").read_text())
            timing = json.loads((d / "timing.json").read_text())
            found.append((int(d.name[4:]), report, timing))
    return found


def figure(report, key):
    return report["test"]["acer"] if key == "acer" else report[key]


def stats(values):
    if not values or any(v is None for v in values):
        return None
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else None
    return mean, std


def pct(s):
    if s is None:
        return "n/a"
    mean, std = s
    return f"{100 * mean:.2f}" + (f" ± {100 * std:.2f}" if std is not None else " (one seed)")


def verdict(a, b, higher_is_better):
    """Whether row a differs from row b by more than the two rows' seed spreads together."""
    if a is None or b is None or a[1] is None or b[1] is None:
        return "n/a (fewer than two seeds)", None
    diff = a[0] - b[0]
    spread = a[1] + b[1]
    better = (diff > 0) == higher_is_better
    word = "better" if better else "worse"
    if abs(diff) > spread:
        return f"**{word} by {100 * abs(diff):.2f}** (spread {100 * spread:.2f})", better
    return f"within spread ({'+' if diff >= 0 else '−'}{100 * abs(diff):.2f}, spread {100 * spread:.2f})", None


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        return f"({' '.join(cmd)} failed: {e})"


def machine(out):
    lscpu = sh(["lscpu"])
    field = lambda k: next(
        (l.split(":", 1)[1].strip() for l in lscpu.splitlines() if l.startswith(k + ":")), "?"
    )
    lines = [
        f"- CPU: {field('Model name')}; {field('CPU(s)')} logical CPUs "
        f"({field('Thread(s) per core')} thread(s) a core); "
        f"AVX-512: {'yes' if 'avx512f' in field('Flags').split() else 'no'}, "
        f"AVX2: {'yes' if 'avx2' in field('Flags').split() else 'no'}",
    ]
    for name, what in [("machine-start.txt", "start"), ("machine-end.txt", "end")]:
        p = out / name
        if p.exists():
            date, up = (p.read_text().splitlines() + ["", ""])[:2]
            lines.append(f"- at the {what}: {date}; `uptime`: {up.strip()}")
    lines.append(f"- flags: `{field('Flags')}`")
    return "\n".join(lines)


def matrix_md(m):
    if m is None:
        return "no finished run"
    if m["status"] != "available":
        return f"not available ({m['reason']})"
    classes, counts = m["classes"], m["counts"]
    s = "| true \\ predicted | " + " | ".join(classes) + " | total |\n"
    s += "|---" * (len(classes) + 2) + "|\n"
    for name, row in zip(classes, counts):
        s += f"| {name} | " + " | ".join(str(n) for n in row) + f" | {sum(row)} |\n"
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("doc", type=Path)
    ap.add_argument("--teacher-steps", type=int, required=True)
    ap.add_argument("--student-steps", type=int, required=True)
    ap.add_argument("--cues", required=True)
    ap.add_argument("--protocols", nargs="+", required=True)
    a = ap.parse_args()

    summary = {}
    body = []
    for proto in a.protocols:
        body.append(f"\n### {proto.upper()}\n")
        body.append("| row | seeds | ACER % | AUC % | EER % | train s | eval s |")
        body.append("|---|---|---|---|---|---|---|")
        for row in ROWS:
            r = runs(a.out, proto, row)
            st = {k: stats([figure(rep, k) for _, rep, _ in r]) for k, _, _ in METRICS}
            summary[(proto, row)] = st
            seeds = ",".join(str(s) for s, _, _ in r) or "none"
            times = [statistics.fmean([t[k] for _, _, t in r]) if r else None for k in ("train_s", "eval_s")]
            body.append(
                f"| {label(row)} | {seeds} | "
                + " | ".join(pct(st[k]) for k, _, _ in METRICS)
                + " | "
                + " | ".join("n/a" if t is None else f"{t:.0f}" for t in times)
                + " |"
            )

    comp = [
        "| protocol | comparison | ACER | AUC | EER |",
        "|---|---|---|---|---|",
    ]
    tally = {}
    for proto in a.protocols:
        for arch in ("student-s", "student-m"):
            pairs = [
                (f"{arch}-distilled", f"{arch}-scratch", "distillation", "without cues"),
                (f"{arch}-distilled-cues", f"{arch}-scratch-cues", "distillation", "with cues"),
                (f"{arch}-scratch-cues", f"{arch}-scratch", "spoof cues", "no teacher"),
                (f"{arch}-distilled-cues", f"{arch}-distilled", "spoof cues", "distilled"),
            ]
            for x, y, what, where in pairs:
                cells = []
                for k, _, hib in METRICS:
                    text, better = verdict(summary[(proto, x)][k], summary[(proto, y)][k], hib)
                    cells.append(text)
                    if better is not None:
                        tally.setdefault((proto, what), []).append(
                            f"{arch} ({where}) {k.upper()} {'better' if better else 'worse'}"
                        )
                comp.append(f"| {proto.upper()} | {what}, {arch} {where} | " + " | ".join(cells) + " |")

    lines_tally = []
    for proto in a.protocols:
        for what in ("distillation", "spoof cues"):
            hits = tally.get((proto, what), [])
            lines_tally.append(
                f"- {proto.upper()}, {what}: "
                + ("; ".join(hits) if hits else "no difference beyond the seed spread")
            )

    p1m = runs(a.out, "p1", "student-m-distilled") if "p1" in a.protocols else []
    conf = []
    if p1m:
        total = None
        for seed, rep, _ in p1m:
            m = rep.get("attack_type_confusion")
            if m and m["status"] == "available":
                c = m["counts"]
                total = c if total is None else [[x + y for x, y in zip(r, q)] for r, q in zip(total, c)]
                acc = sum(c[i][i] for i in range(4)) / sum(map(sum, c))
                conf.append(f"- seed {seed}: type accuracy {100 * acc:.2f} %")
        seed0 = p1m[0][1].get("attack_type_confusion")
        conf.insert(0, f"Seed {p1m[0][0]}:\n\n" + matrix_md(seed0))
        if total is not None and len(p1m) > 1:
            conf.insert(1, f"Summed over seeds {','.join(str(s) for s, _, _ in p1m)}:\n\n"
                        + matrix_md({"status": "available", "classes": seed0["classes"], "counts": total}))
    else:
        conf.append("no finished run")

    cuts = []
    if a.teacher_steps != 600:
        cuts.append(f"teacher steps {a.teacher_steps} instead of the demo's 600")
    if a.student_steps != 300:
        cuts.append(f"student steps {a.student_steps} instead of the demo's 300")
    seeds_seen = {
        row: sorted({s for p in a.protocols for s, _, _ in runs(a.out, p, row)}) for row in ROWS
    }
    for row, s in seeds_seen.items():
        if len(s) < 3:
            cuts.append(f"{label(row)}: {len(s)} seed(s) ({','.join(map(str, s)) or 'none'}) instead of 3")
    used = sorted(
        {
            m.group(1)
            for p in a.protocols
            for row in ROWS
            if "distilled" in row
            for d in (a.out / p / row).glob("seed*")
            if (d / ".done").exists()
            for m in [re.search(r"teacher/seed(\d+)/", (d / "train.log").read_text())]
            if m
        }
    )
    if used == ["0"]:
        cuts.append("every distilled student learnt from its protocol's seed-0 teacher")
    cut_text = ("Cut to fit the time on this machine: " + "; ".join(cuts) + ".") if cuts else "Nothing was cut."

    notes = ""
    if a.doc.exists():
        old = a.doc.read_text()
        if NOTES in old:
            notes = old.split(NOTES, 1)[1].strip()

    doc = f"""# Students' accuracy on the synthetic set

Written by `scripts/student-table.sh` (tables regenerated by `scripts/student_table.py`).
**Synthetic data** (`trainer synth`, 64 px, seed 7: UniAttackData-shaped, not real faces): these
numbers compare recipes on this set; they say nothing about real attacks.

Recipe: the teacher is scripts/demo.sh's (small preset, MoAE, CE + DM + CDM, lr 7e-4, cosine,
`--reg-warmup 1`, `--augment none`, batch 32) at {a.teacher_steps} steps; students (`student-s`,
`student-m`) at {a.student_steps} steps, batch 32, their default learning rate, `--augment none`;
"distilled" = `trainer distill --teacher` (α 0.5, T 4) from the same protocol's teacher, "no
teacher" = `trainer train --arch`; "spoof cues" = `--spoof-cues {a.cues}` (all five cues). Each
run is evaluated on its protocol's test list at the dev list's EER threshold (`trainer eval`).
Figures are mean ± sample standard deviation over the seeds listed. Times are wall-clock seconds
a run on the shared machine below (two runs at a time, `nice -n 10`, one libtorch thread each).

{cut_text}

## Accuracy (test, dev-EER threshold)
{chr(10).join(body)}

## Which differences exceed the seed spread

A difference between two rows counts only when the gap between their means is larger than the
sum of their two standard deviations; otherwise it is "within spread". "better" means lower ACER
or EER, higher AUC, for the first row named (distilled against no teacher; with cues against
without).

{chr(10).join(comp)}

In short:

{chr(10).join(lines_tally)}

## Attack-type head on P1 test: distilled student-m (no cues)

Rows: the true fine-grained label; columns: the head's argmax (`trainer eval`).

{chr(10).join(conf)}

## Machine

{machine(a.out)}

{NOTES}

{notes}
"""
    a.doc.write_text(re.sub(r"\n{3,}", "\n\n", doc).rstrip() + "\n")


if __name__ == "__main__":
    main()

"""Where the iterations go: schedules of the default recipe, scored at the output size.

    .venv/bin/python bench/schedules.py [--size 512] [--schedules 200,100,50 40,20,70 ...]
        [--content C --style S] [--target LOSS] [--device cuda --results bench/results/gpu]

A schedule is the iterations at each scale of the default recipe (128 px, doubling to the
output size); everything else is the default. They run one after another in one process on
one pair (Tübingen × The Starry Night unless given; seed 0), and every recorded iterate is
scored as bench/quality_vs_time.py scores them: float32, at the output size, clamped as saved,
coarse iterates enlarged. For each: the time to `--target` (by default, for the default pair,
the plain method's best loss from that script's JSON for the size in `--results`), the final
loss, its content and style terms, the time, and the score at the end of each scale. Writes
RESULTS/schedules/SIZE_CONTENT_STYLE.json. On a GPU, run bench/gpu.sh first (it measures the
plain method there) and pass its folder as `--results`.

No setting takes one count per scale, so the script replaces `impasto.schedule.iterations`
for each run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import impasto
from impasto import schedule
from impasto.hardware import resolve_device

sys.path.insert(0, str(Path(__file__).resolve().parent))
from quality_vs_time import Objective, every, machine, run, score, time_to  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONTENT, STYLE = ROOT / "examples" / "tubingen.jpg", ROOT / "examples" / "starry_night.jpg"


def plain_method_best(results: Path, size: int, content: Path, style: Path) -> float | None:
    path = results / f"quality_vs_time_{size}_{content.stem}_{style.stem}.json"
    return json.loads(path.read_text())["reference_best"]["loss"] if path.exists() else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--schedules", nargs="+", default=["200,100,50", "40,20,70", "40,50,70", "100,50,60"],
                        help="iterations per scale, comma-separated (default: four at 512 px)")  # fmt: skip
    parser.add_argument("--content", type=Path, default=CONTENT)
    parser.add_argument("--style", type=Path, default=STYLE)
    parser.add_argument("--target", type=float, help="default: the plain method's best loss, where measured")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results",
                        help="where quality_vs_time.py's JSON is, and schedules/ goes")  # fmt: skip
    options = parser.parse_args()
    content, style, size = options.content, options.style, options.size
    target = options.target
    if target is None:
        target = plain_method_best(options.results, size, content, style)
    scales = len(schedule.long_sides(impasto.Settings(size=size)))
    schedules = [tuple(int(count) for count in text.split(",")) for text in options.schedules]
    for counts in schedules:
        if len(counts) != scales:
            parser.error(f"{','.join(map(str, counts))}: {size} px has {scales} scales")
    print(json.dumps({"machine": machine(), "size": size, "target": target}), flush=True)
    impasto.transfer(content, style, size=64, iterations=2, seed=0, device=options.device)  # warm-up
    objective = Objective(content, style, size, resolve_device(options.device))
    rows = []
    for counts in schedules:
        text = ",".join(map(str, counts))
        schedule.iterations = lambda settings, count, counts=counts: counts
        recording = run(text, content, style, size, every(5, True), options.device)
        curve = score(recording, objective)
        final = objective.yardstick.measure(recording.snapshots[-1].float().clamp(0, 1))
        ends = [next(loss for seconds, loss, _ in curve if seconds >= end) for end in recording.scale_ends]
        reached = target is not None and next((step for _, loss, step in curve if loss <= target), None)
        row = {"schedule": counts, "final_loss": curve[-1][1], "content": final.content, "style": final.style,
               "seconds": curve[-1][0], "scale_ends": recording.scale_ends, "loss_at_scale_ends": ends,
               "seconds_to_target": time_to(curve, target) if target is not None else None,
               "its_at_output_size_to_target": reached - sum(counts[:-1]) if reached else None}  # fmt: skip
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = options.results / "schedules" / f"{size}_{content.stem}_{style.stem}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = {"machine": machine(), "size": size, "pair": f"{content.stem} x {style.stem}", "target": target,
               "rows": rows}  # fmt: skip
    out.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()

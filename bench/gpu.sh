#!/bin/sh
# On a machine with a CUDA GPU (impasto installed in .venv): the default and paper recipes at
# 512 and 2048 px, with times and peak GPU memory, as JSON lines. A few minutes in all.
#     sh bench/gpu.sh > gpu.jsonl
set -e
PYTHON=${PYTHON:-.venv/bin/python}
$PYTHON - <<'PY'
import json, time, torch, impasto
assert torch.cuda.is_available(), "no CUDA GPU here"
content, style = "examples/tubingen.jpg", "examples/starry_night.jpg"
impasto.transfer(content, style, size=128, iterations=5, seed=0, device="cuda")  # warm-up
for size in (512, 2048):
    for recipe, iterations in (("fast", None), ("paper", 100)):
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
        started = time.perf_counter()
        impasto.transfer(content, style, size=size, recipe=recipe, iterations=iterations, seed=0, device="cuda")
        torch.cuda.synchronize()
        print(json.dumps({"gpu": torch.cuda.get_device_name(), "size": size, "recipe": recipe,
                          "iterations": iterations or "recipe's", "seconds": round(time.perf_counter() - started, 1),
                          "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)}), flush=True)
PY

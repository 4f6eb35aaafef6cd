#!/bin/sh
# On a machine with a CUDA GPU: bench/gpu.py at 512 and 2048 px (then 4096 px), and time to
# quality against the plain method at 512 and 2048 px. Each part is bounded so that what
# finished is kept; about 7 minutes on an H200.
#     sh bench/gpu.sh [OUT_DIR]        (PYTHON=python3 where impasto is on PYTHONPATH)
PYTHON=${PYTHON:-.venv/bin/python}
OUT_DIR=${1:-bench/results/gpu}
mkdir -p "$OUT_DIR"
export PYTHONUNBUFFERED=1
timeout 150 $PYTHON bench/gpu.py --sizes 512,2048 --out "$OUT_DIR"
timeout 60 $PYTHON bench/quality_vs_time.py --size 512 --device cuda --out "$OUT_DIR"
timeout 150 $PYTHON bench/quality_vs_time.py --size 2048 --device cuda --out "$OUT_DIR"
timeout 180 $PYTHON bench/gpu.py --sizes 4096 --out "$OUT_DIR"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv

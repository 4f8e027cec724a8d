#!/usr/bin/env bash
# One prepared device run for the GPU rows of report/benchmarks.md (under 5 minutes on an H200).
#
# Here, once (the GPU machine cannot read ../shared):
#   echo /.gpu/ >> .git/info/exclude
#   LABKIT_DATA=../shared/data/cifar10-jpg .venv/bin/python benchmarks/gpu_check.py --export .gpu/subset.npz
# Then, through the device tool, carrying .gpu:
#   bash benchmarks/gpu_check.sh
# The machine's own python3 holds PyTorch; labkit runs from this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
python3 benchmarks/gpu_check.py --subset .gpu/subset.npz --device cuda --out "${OUT:-.}" "$@"

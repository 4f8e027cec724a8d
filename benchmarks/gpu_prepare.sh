#!/usr/bin/env bash
# Prepares .gpu/ (git-ignored), what benchmarks/gpu_check.sh carries to a GPU machine
# that has PyTorch but no Jupyter and no network:
#   .gpu/cifar10-lab.tar.gz  the lab's classes of the image folder in $LABKIT_DATA
#   .gpu/wheels/             papermill and the Jupyter stack for the GPU machine's Python,
#                            at this checkout's versions; pip resolves them for that
#                            platform, which proves they install there
# Usage: LABKIT_DATA=../shared/data/cifar10-jpg bash benchmarks/gpu_prepare.sh
# Settings: GPU_PYTHON_VERSION (default 3.12), PYTHON (default .venv/bin/python),
#           GPU_CHECK_CARRIED (the folder to write, default .gpu).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
TARGET_PYTHON=${GPU_PYTHON_VERSION:-3.12}
CARRIED=${GPU_CHECK_CARRIED:-.gpu}
: "${LABKIT_DATA:?set LABKIT_DATA to a CIFAR-10 image folder (ROOT/train/<class>, ROOT/test/<class>)}"
PACKAGES=(papermill nbclient nbformat nbconvert ipykernel jupyter_client pyzmq ipython latex2mathml)

rm -rf "$CARRIED.new" && mkdir -p "$CARRIED.new/wheels"
folders=$("$PY" -c 'from labkit.lab import LAB_CLASSES; print(*(f"{s}/{c}" for s in ("train", "test") for c in LAB_CLASSES))')
# shellcheck disable=SC2086  # one word per folder
tar -C "$LABKIT_DATA" -czf "$CARRIED.new/cifar10-lab.tar.gz" $folders

pins=$("$PY" -c 'import importlib.metadata as m, sys; print(*(f"{n}=={m.version(n)}" for n in sys.argv[1:]))' "${PACKAGES[@]}")
platforms=()
for tag in manylinux1 manylinux2014 manylinux_2_5 manylinux_2_12 manylinux_2_17 manylinux_2_24 manylinux_2_26 \
           manylinux_2_27 manylinux_2_28 manylinux_2_31 manylinux_2_34 manylinux_2_35 manylinux_2_39; do
  platforms+=(--platform "${tag}_x86_64")
done
# shellcheck disable=SC2086  # one word per pinned package
"$PY" -m pip download --quiet --only-binary=:all: --implementation cp --python-version "$TARGET_PYTHON" \
  "${platforms[@]}" --dest "$CARRIED.new/wheels" $pins

rm -rf "$CARRIED" && mv "$CARRIED.new" "$CARRIED"
echo "gpu_prepare: $CARRIED holds $(ls "$CARRIED/wheels" | wc -l) wheels and the lab's images;" \
     "$(du -sh "$CARRIED" | cut -f1) in all (with the tracked files it must stay under 64 MiB)"

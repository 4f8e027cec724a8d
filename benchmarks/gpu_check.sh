#!/usr/bin/env bash
# The whole lab on one GPU, in one command: the full-profile report of both
# notebooks, the GPU benchmark rows, fp32 against bf16, a checkpoint-and-resume,
# a compiled run, a two-rank DistributedDataParallel run where there are two GPUs,
# and the lab's open questions (each lab under its recipe variants). Each stage
# writes its results under $OUT as soon as it ends (the questions: each lab's as
# it ends), and a failed stage does not stop the next, so a run cut short still
# brings back what finished; the stages left can then run in a second command
# with GPU_CHECK_STAGES.
#
# Prepare once, on a machine with the data and PyPI (writes the git-ignored .gpu/):
#   LABKIT_DATA=../shared/data/cifar10-jpg bash benchmarks/gpu_prepare.sh
# Then, on any CUDA machine with PyTorch, torchvision, matplotlib and tqdm, from
# a checkout holding .gpu/ (labkit itself is not installed: it runs from here):
#   OUT=/some/folder bash benchmarks/gpu_check.sh
#
# Settings (environment):
#   OUT                 where the results go (default: ./gpu-check-out)
#   GPU_CHECK_PROFILE   full (default) or smoke, for a rehearsal on a CPU
#   GPU_CHECK_DEVICE    cuda (default), or cpu for a rehearsal
#   GPU_CHECK_PYTHON    the Python to use (default: python3)
#   GPU_CHECK_STAGES    which stages (default: report bench precision resume compile ddp questions)
#   GPU_CHECK_QUESTIONS the labs whose open questions to answer (default: vgg16 resnet50); where the
#                       report ran in the same command on the full profile, each lab's row is the
#                       report's own run
#   GPU_CHECK_CARRIED   the prepared folder (default: .gpu)
#   GPU_CHECK_EXPERIMENTS  the papers' experiments the report's notebooks run (default: protocol;
#                       depth and degradation train eight more models on the full recipe, more
#                       than one device call allows; "all" runs every one)
#   LABKIT_DATA         an image folder of the lab's classes (default: unpacked from .gpu/)
# A rehearsal on a CPU, with this checkout's virtual environment:
#   GPU_CHECK_PROFILE=smoke GPU_CHECK_DEVICE=cpu GPU_CHECK_PYTHON=.venv/bin/python \
#   GPU_CHECK_STAGES="report bench precision resume ddp questions" LABKIT_DATA=../shared/data/cifar10-jpg \
#   OUT=/tmp/rehearsal bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=$(mkdir -p "${OUT:-gpu-check-out}" && cd "${OUT:-gpu-check-out}" && pwd)
PROFILE=${GPU_CHECK_PROFILE:-full}
DEVICE=${GPU_CHECK_DEVICE:-cuda}
PY=${GPU_CHECK_PYTHON:-python3}
STAGES=${GPU_CHECK_STAGES:-report bench precision resume compile ddp questions}
CARRIED=${GPU_CHECK_CARRIED:-.gpu}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
failed=()

stage() {  # stage NAME COMMAND...: run one stage, time it, remember a failure and go on
  local name=$1 start=$SECONDS
  shift
  echo "== stage $name: started $(date -u +%H:%M:%S)"
  if "$@"; then echo "== stage $name: ok in $((SECONDS - start)) s"
  else echo "== stage $name: FAILED (exit $?) after $((SECONDS - start)) s"; failed+=("$name"); fi
}

wants() { [[ " $STAGES " == *" $1 "* ]]; }

environment() {
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
  "$PY" -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda)'
}

setup() {
  # Jupyter and papermill: only the carried wheels this Python lacks, into $WORK/site.
  if [ -d "$CARRIED/wheels" ]; then
    "$PY" benchmarks/install_wheels.py "$CARRIED/wheels" "$WORK/site" || return 1
    # A --target install keeps nbconvert's templates and the kernel spec in site/share/jupyter.
    export PYTHONPATH="$PYTHONPATH:$WORK/site" PATH="$WORK/site/bin:$PATH" \
      JUPYTER_PATH="$WORK/site/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
  fi
  if [ -z "${LABKIT_DATA:-}" ]; then
    mkdir -p "$WORK/data" && tar -xzf "$CARRIED/cifar10-lab.tar.gz" -C "$WORK/data" || return 1
    export LABKIT_DATA="$WORK/data"
  fi
  export LABKIT_DATA=$(cd "$LABKIT_DATA" && pwd) LABKIT_CACHE="$WORK/cache"
}

report() {
  local wanted=" ${GPU_CHECK_EXPERIMENTS:-protocol} " skipped=() name
  for name in $("$PY" -c 'from labkit.lab import EXPERIMENTS; print(*EXPERIMENTS)'); do
    [[ "$wanted" == " all " || "$wanted" == *" $name "* ]] || skipped+=(-p "${name}_experiment" False)
  done
  # The questions stage answers the open questions, a lab per command, each saved as it ends: in the
  # notebooks they would train 155 more epochs before the report is written, past one device call.
  skipped+=(-p questions_experiment False)
  "$PY" -m labkit report --profile "$PROFILE" -p device "$DEVICE" "${skipped[@]}" --report-dir "$WORK/report" \
    --runs-dir "$WORK/runs" || return 1
  tar -czf "$OUT/report.tar.gz" -C "$WORK" report
}

bench() {
  local sizes=(--steps 30 --warmup 5)
  [ "$PROFILE" = smoke ] && sizes=(--batch-size 8 --eval-batch-size 16 --steps 2 --warmup 1)
  "$PY" -m labkit bench --device "$DEVICE" --compare-memory-format "${sizes[@]}" \
    --json "$OUT/bench.json" --markdown "$OUT/benchmarks-gpu.md"
}

ddp() {  # VGG16 on two ranks through torchrun: two GPUs (NCCL), or two CPU processes (gloo) in a rehearsal
  if [ "$DEVICE" != cpu ]; then
    local gpus
    gpus=$("$PY" -c 'import torch; print(torch.cuda.device_count())') || return 1
    if [ "$gpus" -lt 2 ]; then
      echo "ddp: skipped: $gpus GPU here, and the two-rank job needs two or more"
      return 0
    fi
  fi
  "$PY" -m torch.distributed.run --nproc_per_node=2 --master_addr=127.0.0.1 --master_port=29511 -m labkit train \
    --model vgg16 --profile "$PROFILE" --device "$DEVICE" --data "$LABKIT_DATA" --out "$WORK/ddp" --no-progress || return 1
  cp "$WORK/ddp/history.json" "$OUT/ddp-history.json"
}

questions() {  # each lab under the recipe variants that answer its open questions
  local model lab_run
  for model in ${GPU_CHECK_QUESTIONS:-vgg16 resnet50}; do
    lab_run=()
    # The report's run is the lab row where the questions run at its own size (the full profile);
    # --lab-run refuses any other run rather than train the row instead.
    if [ -f "$WORK/report/$model/history.json" ] && "$PY" -c 'import sys; from labkit import lab
sys.exit(lab.question_recipe(sys.argv[1], "lab", sys.argv[2]) != lab.recipe(sys.argv[1], sys.argv[2]))' "$model" "$PROFILE"
    then
      lab_run=(--lab-run "$WORK/report/$model")
    fi
    "$PY" -m labkit questions --model "$model" --profile "$PROFILE" --device "$DEVICE" --data "$LABKIT_DATA" \
      --out "$WORK/questions/$model" "${lab_run[@]}" || return 1
    tar -czf "$OUT/questions-$model.tar.gz" -C "$WORK/questions" "$model"
  done
}

checks() {  # the stages of benchmarks/gpu_check.py, each written to $OUT/gpu_check.json as it ends
  "$PY" benchmarks/gpu_check.py --device "$DEVICE" --profile "$PROFILE" --report "$WORK/report" \
    --out "$OUT" --stages "$1"
}

main() {
  stage environment environment
  stage setup setup
  wants report && stage report report
  wants bench && stage bench bench
  local python_stages
  python_stages=$(for name in precision resume compile; do wants "$name" && printf '%s,' "$name"; done)
  [ -n "$python_stages" ] && stage "${python_stages%,}" checks "${python_stages%,}"
  wants ddp && stage ddp ddp
  wants questions && stage questions questions
  echo "== gpu_check: ${#failed[@]} stage(s) failed${failed[*]:+: ${failed[*]}}"
  [ ${#failed[@]} -eq 0 ]
}

main 2>&1 | tee -a "$OUT/log.txt"
status=${PIPESTATUS[0]}
rm -rf "$WORK"
exit "$status"

#!/usr/bin/env bash
# One command for a machine with an NVIDIA GPU, after the README's install and nothing else:
#
#     benchmarks/gpu_check.sh [DATA]      # DATA: a dataset root (default $PETLAB_DATA, else the demo data)
#
# 1. the card (nvidia-smi) and torch's view of it;
# 2. nbdev_test --flags cuda: every notebook, the GPU cells included (mixed-precision training in 03_train, ...);
# 3. benchmarks/bench_gpu.py: both networks at 256 px in fp32 / bf16 / fp16, fed by the DataLoader and on-device
#    batches, with peak memory: img/s with data included, and how much of it the loader costs;
# 4. benchmarks/bench_compile.py: torch.compile (CUDA graphs) against eager, for TrainConfig.compile's default;
# 5. a short run with the `paper` preset's settings (ResNet34-UNet, 256 px, bf16), about 2 minutes, and its Dice.
#
# Each step has a time limit (690 s in all, so a 15-minute GPU session can run it with time to spare); a step that runs
# out says so and the next one starts. Without a GPU it says so, runs what a CPU can (the CPU figures of
# bench_gpu.py) and lists what it skipped. It writes only into a temporary folder, removed at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || { echo "gpu_check: no .venv here: run the README's install first"; exit 1; }
DATA="${1:-${PETLAB_DATA:-}}"
[ -n "$DATA" ] || DATA="$($PY -c 'from petlab.download import demo_data_path; print(demo_data_path())')"
export PETLAB_DATA="$DATA"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
t0=$SECONDS; skipped=(); ran=()
step() { echo; echo "==> [$(( SECONDS - t0 ))s] $*"; }
limited() {  # limited SECONDS NAME CMD...: run CMD with a time limit, and say how it ended
  local s=$1 name=$2; shift 2
  timeout "$s" "$@"; local rc=$?
  if [ $rc -eq 124 ]; then echo "gpu_check: $name ran out of its ${s} s"; skipped+=("$name (out of time)")
  elif [ $rc -ne 0 ]; then echo "gpu_check: $name failed (exit $rc)"; skipped+=("$name (failed, exit $rc)")
  else ran+=("$name"); fi
}

step "the machine"
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
else echo "no NVIDIA GPU visible (nvidia-smi)"; fi
cuda=$($PY - <<'PY'
import torch
ok = torch.cuda.is_available()
print('yes' if ok else 'no')
import sys
print(f"torch {torch.__version__}, CUDA build {torch.version.cuda}, " + (f"device {torch.cuda.get_device_name(0)}, bf16 {torch.cuda.is_bf16_supported()}" if ok else "no CUDA device"), file=sys.stderr)
PY
)
echo "data: $DATA"

if [ "$cuda" = yes ]; then
  step "nbdev_test --flags cuda (every notebook, the GPU cells included)"
  limited 240 "nbdev_test --flags cuda" .venv/bin/nbdev_test --flags cuda
  step "GPU benchmark: both networks, fp32 / bf16 / fp16, loader and on-device batches, peak memory"
  limited 150 "bench_gpu.py" $PY benchmarks/bench_gpu.py --data_path "$DATA" --steps 30
  step "torch.compile against eager on the GPU (CUDA graphs): compile time, img/s, loss drift"
  limited 90 "bench_compile.py" $PY benchmarks/bench_compile.py --device cuda --size 256 --bs 32 --nets resnet34_unet
  step "a short run with the paper preset's settings: ResNet34-UNet, 256 px, batch 32, bf16, 4 epochs"
  limited 150 "short paper run" .venv/bin/petlab_train -n resnet34_unet -s 256 -b 32 -lr 2e-3 -e 4 --amp bf16 -p "$DATA" -r "$tmp/run" -q
  [ -f "$tmp/run/best.pt" ] && limited 60 "evaluate the short run" .venv/bin/petlab_evaluate "$tmp/run/best.pt" -q
else
  skipped+=("nbdev_test --flags cuda (no CUDA device)" "the GPU rows of bench_gpu.py (no CUDA device)" "the short paper run (no CUDA device)")
  step "no CUDA device: the CPU figures of bench_gpu.py only"
  limited 300 "bench_gpu.py (CPU figures)" $PY benchmarks/bench_gpu.py --data_path "$DATA"
fi

step "done in $(( SECONDS - t0 )) s (budget: 8 minutes on one H100-class GPU)"
for r in "${ran[@]}"; do echo "  ran: $r"; done
for s in "${skipped[@]}"; do echo "  skipped: $s"; done
[ $(( SECONDS - t0 )) -le 480 ] || echo "gpu_check: over the 8-minute budget"

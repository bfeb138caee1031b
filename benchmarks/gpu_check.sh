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
# 6. one table: img/s with data included (DataLoader and DeviceLoader), without data, the fraction of the card's bf16
#    peak it reaches, peak memory, the loader's share of step time, and the short run's test Dice.
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
  limited 150 "bench_gpu.py" $PY benchmarks/bench_gpu.py --data_path "$DATA" --steps 30 --json "$tmp/bench.json"
  step "torch.compile against eager on the GPU (CUDA graphs): compile time, img/s, loss drift"
  limited 90 "bench_compile.py" $PY benchmarks/bench_compile.py --device cuda --size 256 --bs 32 --nets resnet34_unet
  step "a short run with the paper preset's settings: ResNet34-UNet, 256 px, batch 32, bf16, 4 epochs"
  limited 150 "short paper run" .venv/bin/petlab_train -n resnet34_unet -s 256 -b 32 -lr 2e-3 -e 4 --amp bf16 -p "$DATA" -r "$tmp/run" -q
  [ -f "$tmp/run/best.pt" ] && limited 60 "evaluate the short run" .venv/bin/petlab_evaluate "$tmp/run/best.pt" -q -o "$tmp/eval.csv"
else
  skipped+=("nbdev_test --flags cuda (no CUDA device)" "the GPU rows of bench_gpu.py (no CUDA device)" "the short paper run (no CUDA device)")
  step "no CUDA device: the CPU figures of bench_gpu.py only"
  limited 300 "bench_gpu.py (CPU figures)" $PY benchmarks/bench_gpu.py --data_path "$DATA" --json "$tmp/bench.json"
fi

step "one table"
$PY - "$tmp" <<'PY'
import json, sys
from pathlib import Path
tmp = Path(sys.argv[1])
PEAK_BF16 = {'H200': 989e12, 'H100': 989e12, 'A100': 312e12, 'L40S': 362e12, 'L4': 121e12, 'A10': 125e12}   # dense bf16 FLOP/s
b = json.loads((tmp/'bench.json').read_text()) if (tmp/'bench.json').exists() else None
dice = None
if (tmp/'eval.csv').exists():
    import pandas as pd
    dice = pd.read_csv(tmp/'eval.csv')['dice'].mean()
if b is None: print('no benchmark figures (bench_gpu.py did not finish)')
else:
    peak = next((v for k, v in PEAK_BF16.items() if k in b.get('device', '')), None)
    print(f"{b.get('device')}, {b.get('size')} px, batch {b.get('bs')}; DataLoader {b.get('loader_pairs_s', 0):.0f} pairs/s "
          f"({b.get('workers')} workers), DeviceLoader {b.get('device_loader_pairs_s', 0):.0f} pairs/s")
    print(f"{'network':<15}{'mode':<6}{'img/s, DataLoader':>18}{'img/s, DeviceLoader':>20}{'img/s, no data':>15}{'% of bf16 peak':>15}{'peak GiB':>9}{'loader share':>13}")
    for r in b['rows']:
        best = max(r.get('loader_img_s') or 0, r.get('device_loader_img_s') or 0)
        frac = f"{100 * best * r['train_gflop_img'] * 1e9 / peak:.1f}" if peak and 'train_gflop_img' in r else 'n/a'
        share = f"{100 * (1 - best / r['device_img_s']):.0f}%" if best else 'n/a'
        f = lambda k, fmt='{:.0f}': fmt.format(r[k]) if r.get(k) is not None else 'n/a'
        print(f"{r['model']:<15}{r['mode']:<6}{f('loader_img_s'):>18}{f('device_loader_img_s'):>20}{f('device_img_s'):>15}{frac:>15}"
              f"{f('peak_gib', '{:.2f}'):>9}{share:>13}")
print(f"short paper-preset run: test Dice {dice:.4f} (mean per image, 4 epochs)" if dice is not None else 'short paper-preset run: no Dice (not run)')
PY

step "done in $(( SECONDS - t0 )) s (budget: 8 minutes on one H100-class GPU)"
for r in "${ran[@]}"; do echo "  ran: $r"; done
for s in "${skipped[@]}"; do echo "  skipped: $s"; done
[ $(( SECONDS - t0 )) -le 480 ] || echo "gpu_check: over the 8-minute budget"

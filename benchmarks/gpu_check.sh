#!/usr/bin/env bash
# The GPU checks of issue 7, in one call of a machine with a CUDA GPU whose python3 holds a CUDA
# build of PyTorch (the project's other needs: numpy, scikit-learn, safetensors, matplotlib, pyyaml,
# tqdm, pytest, hypothesis). Runs from the repository root without installing aekit:
#
#   bash benchmarks/gpu_check.sh            # ~9 minutes on an H100; logs go to $OUT (default gpu-check/)
#
# 1. the CUDA tests (tests/test_cuda.py: device=auto, bf16/fp16 autocast, GPU checkpoint -> CPU,
#    memmap batches to the GPU, the grouped NaN check) and the trainer's own tests on the GPU;
# 2. the throughput table on the GPU (aekit.fit vs the hand loop, fp32 and bf16 rows);
# 3. the quality config for 10 epochs with amp=bf16 on the bundled digits, as a smoke run of `aekit train`;
# 4. the no-config command with a 30 s time budget on the bundled digits (the automatic model, its PCA
#    start and the budgeted schedule on the GPU), next to PCA;
# 5. semi-supervised-mnist's tiny preset, every method on the GPU (the ladder, M1 and M2 under bf16
#    autocast, their default since 2026-12-03; the supervised MLP and SdA in float32), and the ladder's
#    and M2's tests;
# 6. the IWAE of configs/iwae.yaml (k = 50) for 3 minutes under bf16 on full MNIST when $AEKIT_DATA_DIR
#    holds it (else the bundled digits): its epoch times say how many passes two hours buy on the GPU,
#    against ~116 on this project's 2-core CPU (issue 17, benchmarks/iwae_budget.py).
set -uo pipefail
OUT=${OUT:-gpu-check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python3}
$PY -c "import torch; print('torch', torch.__version__, '|', torch.cuda.get_device_name(0), '| bf16:', torch.cuda.is_bf16_supported())" \
  2>&1 | tee "$OUT/device.txt"
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv >> "$OUT/device.txt" 2>&1
$PY -m pytest -q -p no:cacheprovider tests/test_cuda.py tests/test_training.py tests/test_performance_paths.py \
  tests/test_checkpoint.py tests/test_crash_safety.py tests/test_budget.py 2>&1 | tee "$OUT/tests.txt"
$PY benchmarks/throughput.py --device cuda --steps 150 --repeats 3 --bf16 --no-pythae 2>&1 | tee "$OUT/throughput.txt"
$PY -m aekit train configs/mnist-deep-quality.yaml data.name=mnist-mini train.epochs=10 train.amp=bf16 \
  train.progress=false output.dir="$OUT/runs" 2>&1 | tee "$OUT/quality_smoke.txt"
$PY -m aekit train data.name=mnist-mini model.code_size=8 train.time_budget=30 train.progress=false \
  output.dir="$OUT/runs" 2>&1 | tee "$OUT/budget_smoke.txt"
$PY -m aekit experiment run semi-supervised-mnist --tiny --out "$OUT/runs" 2>&1 \
  | tee "$OUT/semisup_smoke.txt"
$PY -m pytest -q -p no:cacheprovider tests/test_ladder.py tests/test_m2.py tests/test_mixed_batches.py 2>&1 \
  | tee "$OUT/semisup_tests.txt"
IWAE_DATA=$($PY -c "import aekit.data as d
try: d.load_dataset('mnist', 'test'); print('mnist')
except Exception: print('mnist-mini')")
$PY -m aekit train configs/iwae.yaml data.name="$IWAE_DATA" train.time_budget=180 train.amp=bf16 \
  train.progress=false output.dir="$OUT/runs/iwae" 2>&1 | tee "$OUT/iwae_budget.txt"
$PY -c "import json, glob
h = json.load(open(glob.glob('$OUT/runs/iwae/*/history.json')[0]))
pace = sum(h['time']) / len(h['time'])
print(f\"$IWAE_DATA: {len(h['epoch'])} epochs in 180 s, {pace:.1f} s an epoch: {7200 / pace:.0f} passes in 2 hours\")" \
  2>&1 | tee -a "$OUT/iwae_budget.txt"
rm -rf "$OUT/runs"  # checkpoints are too big to bring back; the log above holds the figures

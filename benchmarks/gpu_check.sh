#!/usr/bin/env bash
# The GPU checks, on a machine with a CUDA GPU whose python3 holds a CUDA build of PyTorch (the
# project's other needs: numpy, scipy, scikit-learn, safetensors, matplotlib, pyyaml, tqdm, pooch,
# pytest, pytest-xdist, hypothesis). Runs from the repository root without installing aekit:
#
#   bash benchmarks/gpu_check.sh                  # parts 1-6, ~9 minutes on an H100
#   bash benchmarks/gpu_check.sh suite semisup    # only the parts named (a lent GPU's 15 minutes: in turns)
#
# Logs go to $OUT (default gpu-check/). The parts:
# tests       the CUDA tests (tests/test_cuda.py: device=auto and the model handed back where it was,
#             bf16/fp16 autocast, GPU checkpoint -> CPU, memmap batches to the GPU, the grouped NaN check,
#             a run and an experiment evaluated on the GPU, deterministic mode's cuBLAS workspace, a vq-vae's codes
#             under fp16 and bf16 autocast) and the trainer's own tests on the GPU (test_training.py: a conv
#             model's channels-last resume and fp16's loss scale resumed exactly);
# throughput  the throughput table on the GPU (aekit.fit vs the hand loop, fp32 and bf16 rows);
# smoke       the quality config for 10 epochs with amp=bf16 on the bundled digits (`aekit train`), and the
#             no-config command with a 30 s time budget (the automatic model, its PCA start, the budgeted
#             schedule on the GPU), next to PCA;
# semisup     semi-supervised-mnist's tiny preset, every method on the GPU (the ladder, M1 and M2 under bf16
#             autocast; the supervised MLP and SdA in float32), and the ladder's, M2's and mixed batches' tests;
# iwae        the IWAE of configs/iwae.yaml (k = 50) for 3 minutes under bf16 on full MNIST when
#             $AEKIT_DATA_DIR holds it (else the bundled digits): its epoch times say how many passes two
#             hours buy on the GPU, against ~116 on this project's 2-core CPU (benchmarks/iwae_budget.py);
# suite       (not in the default) the whole test suite on the GPU, 14 workers, ~4 minutes on an H200: every
#             test whose model trains on CUDA when present (device=auto), which parts 1-6 do not cover.
set -uo pipefail
OUT=${OUT:-gpu-check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" MPLBACKEND=Agg
PY=${PYTHON:-python3}
PARTS=${*:-tests throughput smoke semisup iwae}
for part in $PARTS; do
  case $part in
    tests | throughput | smoke | semisup | iwae | suite) ;;
    *) echo "gpu_check.sh: unknown part '$part'; the parts: tests throughput smoke semisup iwae suite" >&2; exit 2 ;;
  esac
done

tests() {
  $PY -m pytest -p no:cacheprovider tests/test_cuda.py tests/test_training.py tests/test_performance_paths.py \
    tests/test_checkpoint.py tests/test_crash_safety.py tests/test_budget.py 2>&1 | tee "$OUT/tests.txt"
}

throughput() {
  $PY benchmarks/throughput.py --device cuda --steps 150 --repeats 3 --bf16 --no-pythae 2>&1 | tee "$OUT/throughput.txt"
}

smoke() {
  $PY -m aekit train configs/mnist-deep-quality.yaml data.name=mnist-mini train.epochs=10 train.amp=bf16 \
    train.progress=false output.dir="$OUT/runs" 2>&1 | tee "$OUT/quality_smoke.txt"
  $PY -m aekit train data.name=mnist-mini model.code_size=8 train.time_budget=30 train.progress=false \
    output.dir="$OUT/runs" 2>&1 | tee "$OUT/budget_smoke.txt"
}

semisup() {
  $PY -m aekit experiment run semi-supervised-mnist --tiny --out "$OUT/runs" 2>&1 | tee "$OUT/semisup_smoke.txt"
  $PY -m pytest -p no:cacheprovider tests/test_ladder.py tests/test_m2.py tests/test_mixed_batches.py 2>&1 \
    | tee "$OUT/semisup_tests.txt"
}

iwae() {
  local data
  data=$($PY -c "import aekit.data as d
try: d.load_dataset('mnist', 'test'); print('mnist')
except Exception: print('mnist-mini')")
  $PY -m aekit train configs/iwae.yaml data.name="$data" train.time_budget=180 train.amp=bf16 \
    train.progress=false output.dir="$OUT/runs/iwae" 2>&1 | tee "$OUT/iwae_budget.txt"
  $PY -c "import json, glob
h = json.load(open(glob.glob('$OUT/runs/iwae/*/history.json')[0]))
pace = sum(h['time']) / len(h['time'])
print(f\"$data: {len(h['epoch'])} epochs in 180 s, {pace:.1f} s an epoch: {7200 / pace:.0f} passes in 2 hours\")" \
    2>&1 | tee -a "$OUT/iwae_budget.txt"
}

suite() {
  $PY -m pytest -p no:cacheprovider -p no:randomly -n 14 -rfE tests 2>&1 | tee "$OUT/suite.txt" | tail -30
}

$PY -c "import torch; print('torch', torch.__version__, '|', torch.cuda.get_device_name(0), '| bf16:', torch.cuda.is_bf16_supported())" \
  2>&1 | tee "$OUT/device.txt"
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv >> "$OUT/device.txt" 2>&1
for part in $PARTS; do
  $part
done
rm -rf "$OUT/runs"  # checkpoints are too big to bring back; the logs above hold the figures

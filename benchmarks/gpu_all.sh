#!/usr/bin/env bash
# All GPU goals of issue 16 in one command, on the device machine (repo root, .gpu_assets carried):
#   bash benchmarks/gpu_all.sh "$OUT"
# then here: python benchmarks/gpu_collect.py <the returned folder>
# On a machine without CUDA each script runs its --small configuration instead.
set -uo pipefail
out="${1:-benchmarks/gpu_out}"
mkdir -p "$out"
export PYTHONPATH="$(pwd)${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
python3 -c "import torch; print(torch.__version__, torch.cuda.is_available())"
rc=0
for s in gpu_cross_encoder gpu_dense gpu_first; do
  echo "== $s"
  python3 "benchmarks/$s.py" --out "$out" 2>&1 | tee "$out/$s.log" || rc=1
done
# the papers' released checkpoints (benchmarks/leaderboards/papers_gpu.yaml): the rows whose
# weights are in the local Hugging Face cache; the others are named in papers/skipped.json
echo "== gpu_papers"
python3 benchmarks/gpu_papers.py --out "$out" 2>&1 | tee "$out/gpu_papers.log" || rc=1
exit $rc

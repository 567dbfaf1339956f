#!/bin/bash
# A/B timing of MASs Macro months against an older commit, alternating in the same minutes (this
# machine's speed drifts by 10-25 % between runs, so only interleaved pairs compare):
#   git worktree add /tmp/old <rev>
#   (cd /tmp/old && HPCABM_KERNELS=core,labour,massmacro python setup.py -q build_ext --inplace)
#   bash benchmarks/ab_massmacro.sh /tmp/old runs/mm1e7_s4 3 out.txt
# Each side runs benchmarks/bench_massmacro.py from its own tree (PYTHONPATH) on the same checkpoint.
set -u
OLD=$1; RUN=$2; PAIRS=$3; OUT=$4
NEW=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-$NEW/.venv/bin/python}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
RUN=$(cd "$RUN" && pwd)
: > "$OUT"
OUT=$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")
for i in $(seq "$PAIRS"); do
  for side in "$OLD" "$NEW"; do
    echo "== $side" >> "$OUT"
    (cd "$side" && PYTHONPATH=$side mpiexec -n 2 -x PYTHONPATH "$PY" benchmarks/bench_massmacro.py \
        --restart "$RUN" --warmup 1 --months 2 --no-reference 2>&1 | grep -A4 "s/month;" >> "$OUT")
  done
done

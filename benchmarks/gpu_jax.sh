#!/usr/bin/env bash
# The JAX backend on a lent GPU machine (device tool), against the Numba engine on the same machine's CPU
# cores: sparse (the Numba kernel's planned LU, by levels) and dense (batched pivoted LU) linear solvers.
# Not a test, never run by CI. Run from the repository root, writing under $OUT, with the pure-Python wheels
# the image lacks in .whl/ (pint, flexcache, flexparser, platformdirs, typing_extensions) and the generated
# model code in .gpu-cache/ (both untracked; carried by the run tool: carry [".whl", ".gpu-cache"]):
#     bash benchmarks/gpu_jax.sh
# Sized for a 15-minute lease with ~9 minutes left for the command: every step has its own `timeout`, the
# whole script stops starting steps at BUDGET seconds (default 500), and every result is written to $OUT as
# it finishes (JSON rows as they come, and the log). A dry run on a CPU with tiny sizes:
#     bash benchmarks/gpu_dryrun.sh
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
PY=${PY:-python3}
BUDGET=${BUDGET:-500}
SITE=${SITE:-/tmp/site}
# XLA's GPU autotuner times alternative kernels (GEMM/fusion configurations) for every fusion while
# compiling; our graph has many small fusions and no large GEMM, so it costs compile time and buys nothing
# measurable. Level 0 switches it off (the twelfth session's full-model compile did not finish in ~220 s).
export XLA_FLAGS="${XLA_FLAGS:-} --xla_gpu_autotune_level=0"
export PYTHONUNBUFFERED=1
# Generated model code (Numba and JAX sources: minutes of SymPy for the full model on a fresh machine) is
# kept here; carry .gpu-cache (made by benchmarks/gpu_dryrun.sh) and the device skips that generation
# (Numba's compiled cache is keyed by the CPU and recompiles where it differs).
export OPIAXIS_CACHE=${OPIAXIS_CACHE:-$PWD/.gpu-cache}
if ls .whl/*.whl >/dev/null 2>&1; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl \
        || { echo "wheel install failed" | tee "$OUT/error.txt"; exit 1; }
fi
export PYTHONPATH=$SITE:src
{
    date -u
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv
    echo "XLA_FLAGS=$XLA_FLAGS BUDGET=$BUDGET OPIAXIS_CACHE=$OPIAXIS_CACHE"; ls "$OPIAXIS_CACHE" 2>/dev/null | head -20
    $PY -c "import jax, numba, numpy, sympy, scipy, pandas, yaml, pint, os; print('jax', jax.__version__, jax.devices(), '| numba', numba.__version__, '| numpy', numpy.__version__, '| sympy', sympy.__version__, '| pint', pint.__version__, '| cores', os.cpu_count())"
} 2>&1 | tee "$OUT/machine.txt"

# step NAME TIMEOUT_S ARGS...: bench_jax.py under its own timeout, cut to what is left of BUDGET
step() {
    local name=$1 limit=$2; shift 2
    local left=$((BUDGET - SECONDS))
    if [ "$left" -lt 30 ]; then echo "[$SECONDS s] skip $name: ${left} s of the budget left" | tee -a "$OUT/steps.txt"; return; fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo "[$SECONDS s] start $name (timeout ${limit} s)" | tee -a "$OUT/steps.txt"
    timeout "$limit" $PY benchmarks/bench_jax.py --jax-cache none --json "$OUT/$name.json" "$@" 2>&1 | tee "$OUT/$name.log"
    echo "[$SECONDS s] end $name (exit ${PIPESTATUS[0]})" | tee -a "$OUT/steps.txt"
}

# 1) pk+receptors, 1e4 patients x 1 day: Numba (all cores) vs JAX sparse vs JAX dense (then sparse-loop, the
#    padded fori_loop variant of the sparse LU, last: the first to lose if the step runs out of time)
step pkrec_1d ${T1:-150} --models pk,receptors --sizes ${SIZES1:-10000} --days ${DAYS1:-1} --linear-solver sparse,dense,sparse-loop
# 2) full model, 3 days: 1e3 patients Numba vs JAX sparse, then 1e4 JAX sparse alone (one process: one model build)
step full_3d_sparse ${T2:-330} --models ${MODEL2:-all} --sizes ${SIZES2:-1000 10000} --days ${DAYS2:-3} \
    --skip-numba-above ${NUMBA_MAX2:-1000} --linear-solver sparse
# 3) if time remains: full model, 1e3 x 3 days, JAX dense (same cohort as step 2; Numba not rerun)
step full_3d_dense ${T3:-200} --models ${MODEL2:-all} --sizes ${SIZES3:-1000} --days ${DAYS2:-3} \
    --skip-numba-above 0 --linear-solver dense
echo "[$SECONDS s] done" | tee -a "$OUT/steps.txt"

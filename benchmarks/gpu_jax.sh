#!/usr/bin/env bash
# The JAX backend on a lent GPU machine (device tool), against the Numba engine on the same machine's CPU
# cores. Not a test, never run by CI. Run from the repository root with the pure-Python wheels the image
# lacks in .whl/ (pint and its three dependencies: see docs/gpu-backend.md), writing under $OUT:
#     bash benchmarks/gpu_jax.sh
set -u
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:src PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv | tee "$OUT/gpu.txt"
python3 -c "import jax, numba, numpy, sympy, os; print('jax', jax.__version__, jax.devices(), '| numba', numba.__version__, '| numpy', numpy.__version__, '| sympy', sympy.__version__, '| cores', os.cpu_count())" | tee -a "$OUT/gpu.txt"
# 1) full default model, 3 days of heroin 25 mg IV q6h, 1e3 and 1e4 patients: Numba (all cores) and JAX (GPU)
timeout "${T1:-380}" python3 benchmarks/bench_jax.py --sizes ${SIZES1:-1000 10000} --models ${MODELS:-all} --days ${DAYS:-3} \
    --json "$OUT/jax_gpu_full_3d.json" 2>&1 | tee "$OUT/bench_full_3d.log"
# 2) 1e5 patients on the GPU alone (Numba's agreement is checked at 1e3 and 1e4 above)
timeout "${T2:-150}" python3 benchmarks/bench_jax.py --sizes ${SIZES2:-100000} --models ${MODELS:-all} --days ${DAYS:-3} --skip-numba-above 0 \
    --json "$OUT/jax_gpu_full_3d_1e5.json" 2>&1 | tee "$OUT/bench_full_3d_1e5.log"

#!/usr/bin/env bash
# Dry run of benchmarks/gpu_jax.sh on this machine's CPU, tiny sizes, before spending device time: the
# same steps, arguments, wheel install (into a scratch directory) and outputs, 20 patients x 1 day; steps 2
# and 3 on pk+receptors unless FULL=1 (the full model's XLA compiles are minutes on a shared 2-core machine).
#     bash benchmarks/gpu_dryrun.sh          # writes under /tmp/gpu_dryrun (or $OUT); ~1-2 min
#     FULL=1 bash benchmarks/gpu_dryrun.sh   # the full model in steps 2 and 3, as on the device
#     PREPARE=1 bash benchmarks/gpu_dryrun.sh   # only (re)generate .gpu-cache for the current models
# (.gpu-cache is keyed by each model's fingerprint: after a model change, PREPARE=1 again before the device run)
set -u
cd "$(dirname "$0")/.."
export OUT=${OUT:-/tmp/gpu_dryrun} SITE=${SITE:-/tmp/gpu_dryrun_site}
rm -rf "$OUT" "$SITE"
if [ -z "${PY:-}" ]; then
    for p in .venv/bin/python /work/main/.venv/bin/python python3; do
        if [ -x "$p" ] || command -v "$p" >/dev/null; then PY=$p; break; fi
    done
fi
export PY
export JAX_PLATFORMS=${JAX_PLATFORMS:-cpu}
# fills .gpu-cache (generated model code) for the device run to carry
export OPIAXIS_CACHE=${OPIAXIS_CACHE:-$PWD/.gpu-cache}
if [ "${PREPARE:-0}" = 1 ]; then   # only generate the models' Numba and JAX sources into .gpu-cache (no runs)
    PYTHONPATH=src nice "$PY" -c "
from opiaxis.engine.codegen import compile_model
from opiaxis.engine.jax_backend import model_functions
from opiaxis.models import build_model, default_model
for m in (build_model(modules=['pk', 'receptors']), default_model()):
    compile_model(m); model_functions(m); print('generated', m.fingerprint(), len(m.states), 'states')
"
    ls -l "$OPIAXIS_CACHE"; exit
fi
SIZES=${SIZES:-20}
[ "${FULL:-0}" = 1 ] || export MODEL2=${MODEL2:-pk,receptors}
SIZES1=$SIZES SIZES2="$SIZES" SIZES3=$SIZES NUMBA_MAX2=$SIZES DAYS1=${DAYS:-1} DAYS2=${DAYS:-1} \
    BUDGET=${BUDGET:-900} nice bash benchmarks/gpu_jax.sh
echo "dry run outputs in $OUT:"; ls -l "$OUT"

#!/usr/bin/env bash
# The CUDA check for a machine with an NVIDIA GPU (one H200: well under 8 minutes).
#
#   scripts/gpu-check.sh              on the GPU machine (run from anywhere in the repository)
#   GPU_CHECK_STANDIN=1 scripts/gpu-check.sh
#                                     dry run without a GPU: the same steps against the CuPy stand-in
#                                     (tests/fake_cupy), which is how CI checks this script
#
# 1. installs CuPy if it is not importable: from wheels carried in .whl/ (gitignored), else from the index.
#    Fill .whl/ on a machine with network access (same Python version and platform as the GPU machine):
#        pip download -d .whl 'cupy-cuda13x>=14' nvidia-cuda-nvrtc 'fastrlock>=0.5'
#    and carry it along: with the device tool, pass carry=[".whl"] (ignored paths travel only when carried).
# 2. sets REQUIRE_GPU=1 (tests/conftest.py: any skip of a GPU test is then a failure, so a broken CUDA
#    install cannot pass as "no GPU") and runs every test file that has GPU tests;
# 3. runs notebook 05 as a plain script (scripts/nb2py.py), `train --device cuda` with --save, then
#    --resume (the resumed run must end with the same table as an uninterrupted one), and
#    `bench --device cuda` (small sizes: a smoke run, not a measurement).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
export MPLBACKEND=Agg
PY=${PYTHON:-python}
T0=$(date +%s)
step() { echo "== [$(( $(date +%s) - T0 ))s] $*"; }

if [ "${GPU_CHECK_STANDIN:-0}" = 1 ]; then
    export MINITORCH_FAKE_CUPY=1               # conftest installs the stand-in even with REQUIRE_GPU=1
    RUN=("$PY" "$ROOT/tests/fake_cupy/run.py")
else
    if ! "$PY" -c "import cupy" 2>/dev/null; then
        step "installing CuPy"
        if [ -d .whl ] && ls .whl/cupy_cuda13x-*.whl >/dev/null 2>&1; then
            "$PY" -m pip install -q --no-index --find-links .whl 'cupy-cuda13x>=14' nvidia-cuda-nvrtc
        else
            "$PY" -m pip install -q 'cupy-cuda13x>=14' nvidia-cuda-nvrtc
        fi
    fi
    "$PY" -c "import cupy; n = cupy.cuda.runtime.getDeviceCount(); print('CuPy', cupy.__version__, '-', n, 'GPU(s):',
    cupy.cuda.runtime.getDeviceProperties(0)['name'].decode())"
    RUN=("$PY")
fi
export REQUIRE_GPU=1

step "GPU tests (REQUIRE_GPU=1)"
"$PY" -m pytest -q -p no:cacheprovider -x \
    tests/test_cuda_kernels_gpu.py tests/test_autograd_cuda.py tests/test_cuda_standin.py \
    tests/test_cuda_hygiene.py "tests/test_optim_nonelementwise.py::test_cuda_matches_cpu" \
    tests/test_swa_utils.py tests/test_autograd_engine.py

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

step "notebook 05 as a script"
"$PY" scripts/nb2py.py notebooks/05_gpu_with_cupy.ipynb "$WORK/nb05.py"
(cd "$WORK" && "${RUN[@]}" nb05.py | tee nb05.out)
grep -q "CUDA is available" "$WORK/nb05.out"
! grep -q "skipped: no GPU" "$WORK/nb05.out"

step "train --device cuda, with save and resume"
TRAIN=(-m minitorch_optim train --device cuda --epochs 4 --no-progress)
(cd "$WORK" && "${RUN[@]}" "${TRAIN[@]}" > straight.out)
(cd "$WORK" && "${RUN[@]}" "${TRAIN[@]}" --save ck.npz --stop-after 2 > first.out)
(cd "$WORK" && "${RUN[@]}" "${TRAIN[@]}" --resume ck.npz --save ck.npz > resumed.out)
table() { grep -E '^(plain|EMA|SWA) ' "$1"; }
diff <(table "$WORK/straight.out") <(table "$WORK/resumed.out")
table "$WORK/resumed.out"

step "bench --device cuda"
"${RUN[@]}" -m minitorch_optim bench --device cuda --sizes 1000000x100,100000x1 --optimizers adam,sgd --repeat 3

step "GPU check passed"

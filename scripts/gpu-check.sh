#!/usr/bin/env bash
# The CUDA check for a machine with an NVIDIA GPU (one H200: well under 8 minutes).
#
#   scripts/gpu-check.sh              on the GPU machine (run from anywhere in the repository)
#   GPU_CHECK_STANDIN=1 scripts/gpu-check.sh
#                                     dry run without a GPU: the same steps against the CuPy stand-in
#                                     (tests/fake_cupy), which is how CI checks this script
#   scripts/gpu-check.sh --split-wheels
#                                     prepare carried wheels (below) and exit
#
# 1. CuPy: used as installed (the device tool's H200 image has Python 3.12 with cupy-cuda13x 14.2, the CUDA 13
#    libraries, numba, pytest and hypothesis; see /work/.library/device/KINDS.md). Otherwise it is installed
#    offline from wheels carried in .whl/ (gitignored). The device tool carries at most 64 MiB per call and
#    the cupy-cuda13x wheel alone is ~67 MiB, NVRTC's ~56 MiB, so, here, for the machine's Python:
#        pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#            --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 -d .whl/all \
#            'cupy-cuda13x==14.2.0' 'cuda-pathfinder>=1.3.4,<2' fastrlock 'nvidia-cuda-nvrtc==13.*'
#        scripts/gpu-check.sh --split-wheels   # -> .whl/c1, .whl/c2, ... each under 60 MiB
#    then carry them one per call (`true` with carry=[".whl/c1"], then [".whl/c2"], ...; ignored paths
#    carried earlier stay on the machine while it is warm) and run this script in the last call; parts of
#    split wheels are joined again before pip sees them. cuBLAS/cuRAND (~1 GB of wheels) cannot be
#    carried: the machine must provide the CUDA 13 libraries, and the preflight below says which ones are
#    missing (a failure, never a skip).
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

if [ "${1:-}" = --split-wheels ]; then
    "$PY" - <<'PYEOF'
import os, shutil
src, limit = ".whl/all", 60 * 2**20
bins, cur, used = [], [], 0
for name in sorted(os.listdir(src)):
    path = os.path.join(src, name)
    size = os.path.getsize(path)
    pieces = [(name, path, 0, size)] if size <= limit else [
        (f"{name}.part{k:02d}", path, off, min(limit, size - off)) for k, off in enumerate(range(0, size, limit))]
    for piece in pieces:
        if used + piece[3] > limit:
            bins.append(cur)
            cur, used = [], 0
        cur.append(piece)
        used += piece[3]
bins.append(cur)
for i, b in enumerate(bins, 1):
    d = f".whl/c{i}"
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for out, path, off, n in b:
        with open(path, "rb") as fi, open(os.path.join(d, out), "wb") as fo:
            fi.seek(off)
            fo.write(fi.read(n))
    print(d, sum(p[3] for p in b) >> 20, "MiB:", ", ".join(p[0] for p in b))
PYEOF
    exit 0
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [ "${GPU_CHECK_STANDIN:-0}" = 1 ]; then
    export MINITORCH_FAKE_CUPY=1               # conftest installs the stand-in even with REQUIRE_GPU=1
    RUN=("$PY" "$ROOT/tests/fake_cupy/run.py")
else
    if ! "$PY" -c "import cupy" 2>/dev/null; then
        step "installing CuPy"
        if compgen -G ".whl/c*/*" >/dev/null; then   # carried wheels: join split parts, install offline
            mkdir -p "$WORK/wheels"
            for f in .whl/c*/*; do
                b=$(basename "$f")
                case "$b" in
                    *.part[0-9][0-9]) cat "$f" >> "$WORK/wheels/${b%.part[0-9][0-9]}" ;;
                    *) cp "$f" "$WORK/wheels/" ;;
                esac
            done
            "$PY" -m pip install -q --no-index --find-links "$WORK/wheels" 'cupy-cuda13x>=14' nvidia-cuda-nvrtc
        else
            "$PY" -m pip install -q 'cupy-cuda13x>=14' nvidia-cuda-nvrtc
        fi
    fi
    step "preflight: CuPy, the GPU and the CUDA libraries"
    "$PY" - <<'PYEOF'
import sys
import cupy
n = cupy.cuda.runtime.getDeviceCount()
props = cupy.cuda.runtime.getDeviceProperties(0)
print("CuPy", cupy.__version__, "|", n, "GPU(s):", props["name"].decode(), "| CUDA runtime",
      cupy.cuda.runtime.runtimeGetVersion(), "| driver", cupy.cuda.runtime.driverGetVersion())
missing = []
for what, fn in [("NVRTC (kernels)", lambda: cupy.RawKernel('extern "C" __global__ void k(float* x) { x[0] = 1; }',
                                                           "k")((1,), (1,), (cupy.zeros(1, cupy.float32),))),
                 ("cuBLAS (matmul)", lambda: cupy.ones((4, 4), cupy.float32) @ cupy.ones((4, 4), cupy.float32)),
                 ("cuRAND (random)", lambda: cupy.random.default_rng(0).random(4)),
                 ("elementwise kernels", lambda: cupy.arange(4) * 2)]:
    try:
        fn()
        cupy.cuda.runtime.deviceSynchronize()
    except Exception as e:  # noqa: BLE001
        missing.append(f"{what}: {type(e).__name__}: {e}")
if missing:
    sys.exit("CUDA libraries missing or broken on this GPU machine:\n  " + "\n  ".join(missing))
PYEOF
    RUN=("$PY")
fi
export REQUIRE_GPU=1

step "GPU tests (REQUIRE_GPU=1)"
"$PY" -m pytest -q -p no:cacheprovider -x \
    tests/test_cuda_kernels_gpu.py tests/test_autograd_cuda.py tests/test_cuda_standin.py \
    tests/test_cuda_hygiene.py "tests/test_optim_nonelementwise.py::test_cuda_matches_cpu" \
    tests/test_swa_utils.py tests/test_autograd_engine.py

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
"${RUN[@]}" -m minitorch_optim bench --device cuda --sizes 1000000x100,100000x1 --optimizers adam,sgd --repeat 3 --no-startup

step "GPU check passed"

"""Execute every teaching notebook in ``notebooks/`` top to bottom, as CI does.

Each notebook checks its own numbers with ``assert`` cells (finite differences, closed forms, path
agreement), so a notebook that runs to the end has passed them. Skips cleanly when the notebook
toolchain (nbformat, nbclient, ipykernel, matplotlib) is not installed: ``pip install -e '.[test]'``.
"""
from __future__ import annotations

import pathlib
import time

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOK_DIR = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 180        # per cell; the slowest cell here takes ~15 s on a 2-core CPU
NOTEBOOK_BUDGET_S = 240     # a whole notebook; each is meant to run in well under a minute


def test_every_topic_has_a_notebook():
    names = [p.name for p in NOTEBOOKS]
    assert names == ["01_autograd_from_scratch.ipynb", "02_optimizers_on_rosenbrock.ipynb",
                     "03_lr_schedules.ipynb", "04_swa_and_ema.ipynb", "05_gpu_with_cupy.ipynb",
                     "06_hypergradient.ipynb", "07_second_order.ipynb",
                     "08_sequence_models.ipynb",
                     "09_mixed_precision.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "a notebook without code"
    assert all(not c.outputs and c.execution_count is None for c in code), "clear the outputs before committing"
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    t0 = time.perf_counter()
    client.execute()        # raises CellExecutionError (with the traceback) if any cell fails
    elapsed = time.perf_counter() - t0
    assert elapsed < NOTEBOOK_BUDGET_S, f"{path.name} took {elapsed:.0f}s"
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name} drew no plot"

"""Torch-style scripts (tests/torch_scripts/) run twice: as written under torch, and with only their import
lines renamed under ``import autograd as torch``; every per-step loss must agree to 1e-6 relative, from
the same initial weights (torch's state_dict copied into both)."""
import pathlib
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")

HERE = pathlib.Path(__file__).parent / "torch_scripts"


def port(src):
    """The renaming a user does: ``torch`` becomes ``autograd`` on the import lines, nothing else."""
    out = []
    for line in src.splitlines():
        if re.match(r"\s*(import|from)\s+torch\b", line):
            line = re.sub(r"^(\s*)import torch$", r"\1import autograd as torch", line)
            line = re.sub(r"\btorch\b(?=[.\s])", "autograd", line, count=1) if "as torch" not in line else line
        out.append(line)
    return "\n".join(out) + "\n"


def _load(name, ported):
    src = (HERE / name).read_text()
    if ported:
        src = port(src)
    ns = {"__name__": f"script_{name[:-3]}"}
    exec(compile(src, str(HERE / name), "exec"), ns)
    return ns, src


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 4))
    Y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)
    return X, Y


def _init(kind):
    torch.manual_seed(0)
    if kind == "mlp":
        m = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3)).double()
    elif kind == "ckpt":
        m = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    else:
        return {"w1": torch.randn(4, 8, dtype=torch.float64).numpy() * 0.5,
                "w2": torch.randn(8, 1, dtype=torch.float64).numpy() * 0.5}
    return {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}


def test_port_renames_only_import_lines():
    src = (HERE / "mlp_train.py").read_text()
    ported = port(src)
    changed = [(a, b) for a, b in zip(src.splitlines(), ported.splitlines()) if a != b]
    assert changed and all(re.match(r"(import|from) ", a) for a, _ in changed)
    assert "import autograd as torch" in ported and "from autograd.utils.data import" in ported


@pytest.mark.parametrize("name,kind", [("mlp_train.py", "mlp"), ("custom_function.py", "fn"),
                                       ("checkpoint_resume.py", "ckpt")])
def test_script_losses_equal_torch(name, kind, tmp_path):
    X, Y = _data()
    init = _init(kind)
    extra = {"checkpoint_resume.py": lambda tag: (str(tmp_path / f"{tag}.pt"),)}.get(name, lambda tag: ())
    theirs, _ = _load(name, ported=False)
    ours, _ = _load(name, ported=True)
    ref_losses, ref_log = theirs["run"](init, X, Y, *extra("torch"))
    got_losses, got_log = ours["run"](init, X, Y, *extra("ours"))
    assert len(got_losses) == len(ref_losses) > 8
    np.testing.assert_allclose(got_losses, ref_losses, rtol=1e-6, atol=0)
    assert got_log == ref_log

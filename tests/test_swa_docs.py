"""The SWA and EMA recipes of docs/src/swa.md run as written and do what they claim."""
import pathlib
import re

import numpy as np

import autograd

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "src" / "swa.md"


def _bn_stats_by_hand(avg_model, X):
    """Batch-averaged statistics of the first Linear's outputs, as update_bn with momentum None gives them."""
    lin = avg_model.module[0]
    w, b = lin.weight.numpy(), lin.bias.numpy()
    batches = [X[i:i + 16].astype(np.float32) @ w.T + b for i in range(0, len(X), 16)]
    return (np.mean([h.mean(0) for h in batches], axis=0),
            np.mean([h.var(0, ddof=1) for h in batches], axis=0))


def test_doc_recipes_run_and_average(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 3
    ns = {}
    exec(compile(blocks[0], str(DOC), "exec"), ns)
    start_loss = ns["dataset_loss"](ns["make_model"]())

    exec(compile(blocks[1], str(DOC), "exec"), ns)
    swa_model, X = ns["swa_model"], ns["X"]
    assert swa_model.n_averaged.item() == 30 - 16          # epochs 16..29
    assert ns["preds"].shape == (8, 1)
    assert ns["dataset_loss"](swa_model) < start_loss / 3
    mean, var = _bn_stats_by_hand(swa_model, X)
    np.testing.assert_allclose(swa_model.module[1].running_mean.numpy(), mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(swa_model.module[1].running_var.numpy(), var, rtol=1e-4, atol=1e-5)
    assert ns["optimizer"].param_groups[0]["lr"] == 0.05     # SWALR held the lr at swa_lr

    exec(compile(blocks[2], str(DOC), "exec"), ns)
    ema_model = ns["ema_model"]
    assert ema_model.n_averaged.item() == 30 * 4
    assert ns["dataset_loss"](ema_model) < start_loss / 3
    mean, var = _bn_stats_by_hand(ema_model, X)
    np.testing.assert_allclose(ema_model.module[1].running_var.numpy(), var, rtol=1e-4, atol=1e-5)
    assert ema_model.module[0].weight.dtype == autograd.float32
    out = capsys.readouterr().out
    assert "SWA loss" in out and "EMA loss" in out

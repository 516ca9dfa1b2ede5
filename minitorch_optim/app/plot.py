"""``train --plot curves.png``: loss, accuracy and learning rate per epoch (matplotlib, optional)."""
from __future__ import annotations

import os
import tempfile

from .settings import UsageError


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise UsageError("--plot needs matplotlib, which is not installed: pip install matplotlib "
                         "(or leave --plot out)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def check_plot_path(path):
    """Fail before training when the plot cannot be drawn or written."""
    _pyplot()
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path) or not os.path.isdir(folder):
        raise UsageError(f"--plot {path!r}: not a file in an existing folder")
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in ("png", "pdf", "svg", "jpg", "jpeg"):
        raise UsageError(f"--plot {path!r}: use a .png, .pdf, .svg or .jpg file name")


def plot_history(history, path, title=""):
    plt = _pyplot()
    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(1, 3, figsize=(12, 3.4))
    ax[0].plot(ep, [h["train_loss"] for h in history], label="train (running)")
    ax[0].plot(ep, [h["val_loss"] for h in history], label="validation")
    ax[0].set_title("loss")
    ax[0].legend()
    ax[1].plot(ep, [h["val_acc"] for h in history])
    ax[1].set_title("validation accuracy")
    ax[2].plot(ep, [h["lr"] for h in history])
    ax[2].set_title("learning rate (end of epoch)")
    for a in ax:
        a.set_xlabel("epoch")
    fig.suptitle(title)
    fig.tight_layout()
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=os.path.splitext(path)[1],
                               dir=folder)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110)
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        plt.close(fig)

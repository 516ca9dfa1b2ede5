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


def plot_history(history, path, title="", swa_start=None, results=None):
    """Three panels; a dashed line where SWA starts (SWALR takes the lr over from the schedule there) and
    the final plain/SWA/EMA validation accuracies on the accuracy panel."""
    plt = _pyplot()
    ep = [h["epoch"] for h in history]
    fig, ax = plt.subplots(1, 3, figsize=(12, 3.4))
    ax[0].plot(ep, [h["train_loss"] for h in history], label="train (running)")
    ax[0].plot(ep, [h["val_loss"] for h in history], label="validation")
    ax[0].set_title("loss")
    ax[0].legend()
    ax[1].plot(ep, [h["val_acc"] for h in history], label="plain model, per epoch")
    ax[1].set_title("validation accuracy")
    ax[2].plot(ep, [h["lr"] for h in history])
    ax[2].set_title("learning rate (end of epoch)")
    if swa_start and ep and swa_start <= ep[-1]:
        x = swa_start - 0.5             # between the last scheduled epoch and the first averaged one
        for a in ax:
            a.axvline(x, color="gray", linestyle="--", linewidth=1)
        ax[2].annotate("SWA starts:\nSWALR takes over", xy=(x, ax[2].get_ylim()[1]), xytext=(-4, -4),
                       textcoords="offset points", ha="right", va="top", fontsize=8, color="dimgray")
    if results:
        styles = {"plain": ("o", "C0"), "SWA": ("s", "C2"), "EMA": ("^", "C3")}
        for name, r in results.items():
            marker, color = styles.get(name, ("x", "k"))
            ax[1].plot([ep[-1] if ep else 0], [r["val_acc"]], marker=marker, color=color, linestyle="none",
                       label=f"final {name}: {r['val_acc']:.3f}")
        ax[1].legend(fontsize=8, loc="lower right")
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

"""Putting a checkpoint back into freshly built objects (``train --resume``), checking it first."""
from __future__ import annotations

from .checkpoint import CheckpointError, check_groups

# scheduler entries that say where a run is; everything else describes the schedule's shape, which is
# rebuilt from the (possibly new) --epochs
_PROGRESS = ("last_epoch", "_step_count", "_last_lr", "_get_lr_called_within_step", "_is_initial", "base_lrs")


def _scheduler(s, sd, same_length):
    if not isinstance(sd, dict):
        raise CheckpointError("checkpoint is damaged: a scheduler state is not a dict")
    if not same_length:
        sd = {**s.state_dict(), **{k: sd[k] for k in _PROGRESS if k in sd}}
    s.load_state_dict(sd)


def restore(ck, cfg, model, opts, scheds, swa_scheds, swa_model, ema_model, gen):
    """Load ``ck`` into the objects; returns ``(epoch, history)``. Raises CheckpointError on any mismatch."""
    import autograd as ag

    epoch, history = ck["epoch"], ck["history"]
    if len(history) != epoch or not all(isinstance(h, dict) and h.get("epoch") == i + 1
                                        for i, h in enumerate(history)):
        raise CheckpointError(f"checkpoint is damaged: it says epoch {epoch} but records {len(history)} epochs")
    if len(ck["optimizers"]) != len(opts) or len(ck["schedulers"]) != len(scheds):
        raise CheckpointError("checkpoint holds a different number of optimizers or schedulers")
    for i, (o, sd) in enumerate(zip(opts, ck["optimizers"])):
        check_groups(o, sd, f"optimizer {i} ({type(o).__name__})")
    same_length = ck["config"]["epochs"] == cfg["epochs"]
    try:
        model.load_state_dict(ck["model"])
        if swa_model is not None and ck.get("swa") is not None:
            swa_model.load_state_dict(ck["swa"])
        if ema_model is not None:
            if ck.get("ema") is None:
                raise CheckpointError("checkpoint has no EMA model")
            ema_model.load_state_dict(ck["ema"])
        for o, sd in zip(opts, ck["optimizers"]):
            added = [{k: v for k, v in g.items() if k not in sg} for g, sg in zip(o.param_groups, sd["param_groups"])]
            o.load_state_dict(sd)
            for g, extra in zip(o.param_groups, added):   # e.g. swa_lr of an SWALR new in this run
                for k, v in extra.items():
                    g.setdefault(k, v)
        for s, sd in zip(scheds, ck["schedulers"]):
            _scheduler(s, sd, same_length)
        if swa_scheds and len(ck["swa_schedulers"]) == len(swa_scheds):
            for s, sd in zip(swa_scheds, ck["swa_schedulers"]):
                s.load_state_dict(sd)
        gen.set_state(ck["rng"]["loader"])
        ag.default_generator.set_state(ck["rng"]["default"])
    except CheckpointError:
        raise
    except (KeyError, RuntimeError, ValueError, TypeError, IndexError, AttributeError) as e:
        one_line = " ".join(str(e).split())
        raise CheckpointError(f"checkpoint does not match this model/optimizer: {one_line}") from None
    return epoch, list(history)


def restore_scaler(ck, scaler, warn):
    """The GradScaler's scale and growth tracker from ``ck``, so the resumed run's loss scale goes on as
    the uninterrupted run's would (a checkpoint from before they were saved starts the scale afresh)."""
    sd = ck.get("scaler")
    if sd is None:
        warn("the checkpoint holds no GradScaler state: the loss scale starts again from its initial value, "
             "so this run's numbers differ from an uninterrupted one")
        return
    try:
        scaler.load_state_dict(sd)
    except (KeyError, RuntimeError, TypeError) as e:
        raise CheckpointError(f"checkpoint's GradScaler state does not load: {e}") from None

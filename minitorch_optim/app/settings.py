"""The ``train`` settings: defaults (per-optimizer learning rates), merging with a checkpoint's settings on
``--resume``, and the checks and warnings that keep a run meaningful."""
from __future__ import annotations

SCHEDULERS = ("none", "step", "cosine", "exponential", "linear", "onecycle")
CONFIG_KEYS = ("dataset", "model", "optimizer", "lr", "weight_decay", "scheduler", "epochs", "batch_size",
               "hidden", "samples", "swa_start", "swa_lr", "ema", "seed")
# may differ from the checkpoint's on --resume; everything else must match (or be left out)
CHANGEABLE = ("epochs", "swa_start")
DEFAULTS = {"dataset": "spirals", "model": "mlp", "optimizer": "adamw", "weight_decay": None,
            "scheduler": "cosine", "epochs": 20, "batch_size": 64, "hidden": 64, "ema": 0.95, "seed": 0}

# optimizer -> (default lr, fixed extra arguments, note, CLI defaults). Chosen by a sweep of the default
# run (spirals, MLP, cosine, 20 epochs, seeds 0 and 1, no averaging): each value is the best, or within
# 0.5% of the best, validation accuracy among the lrs tried (3-5 per optimizer, a factor ~3 apart).
OPT_DEFAULTS = {
    "adamw": (3e-2, {}, "", {}),
    "adam": (3e-2, {}, "", {}),
    "nadam": (3e-2, {}, "", {}),
    "radam": (1e-1, {}, "", {}),
    "adamax": (5e-2, {}, "", {}),
    "adafactor": (0.3, {}, "", {}),
    "sgd": (0.3, {"momentum": 0.9}, "momentum 0.9", {}),
    "rmsprop": (1e-2, {}, "", {}),
    "adagrad": (0.3, {}, "", {}),
    "adadelta": (10.0, {}, "", {}),
    "asgd": (1.0, {}, "", {}),
    "rprop": (1e-2, {}, "batch 512 by default: Rprop needs large batches", {"batch_size": 512}),
    "lbfgs": (1.0, {"line_search_fn": "strong_wolfe", "max_iter": 4, "history_size": 10},
              "strong-Wolfe line search, 4 iterations per batch", {}),
    "muon": (5e-2, {"adjust_lr_fn": "match_rms_adamw"},
             "hidden 2-D weights; the rest with AdamW at lr/2", {}),
}


# the CNN trains best at about a third of the MLP's learning rate (AdamW on digits: 0.01 vs 0.03)
CNN_LR_FACTOR = 1 / 3


class UsageError(Exception):
    """A bad combination of options: reported as a one-line error, exit status 2."""


def optimizer_names():
    import minitorch_optim as optim

    return {n.lower(): n for n in dir(optim)
            if isinstance(getattr(optim, n), type) and issubclass(getattr(optim, n), optim.Optimizer)
            and n not in ("Optimizer", "SparseAdam")}


def describe_lrs():
    rows = []
    for name, (lr, _, note, _cli) in sorted(OPT_DEFAULTS.items()):
        rows.append(f"  {name:9} {lr:<6g} {note}".rstrip())
    return "\n".join(rows)


def default_swa_start(epochs):
    """The last 40% of the epochs (SWA averages once per epoch, so it needs several): 20 -> 13."""
    return epochs - (2 * epochs) // 5 + 1 if epochs >= 5 else 0


def resolve(args, saved, warn):
    """The run's settings: given options, else the checkpoint's (on --resume), else the defaults."""
    given = {k: getattr(args, k) for k in CONFIG_KEYS if getattr(args, k, None) is not None}
    if saved is not None:
        old = saved["config"]
        if set(old) != set(CONFIG_KEYS):
            raise UsageError(f"checkpoint {args.resume!r} has unexpected settings {sorted(set(old) ^ set(CONFIG_KEYS))}")
        clash = {k: (old[k], v) for k, v in given.items() if k not in CHANGEABLE and old[k] != v}
        if clash:
            what = ", ".join(f"--{k.replace('_', '-')} {v[0]} (given {v[1]})" for k, v in clash.items())
            raise UsageError(f"checkpoint {args.resume!r} was trained with {what}; leave these options out to "
                             f"resume it, or start a new run without --resume")
        cfg = dict(old)
        cfg.update({k: v for k, v in given.items()})
        done = saved["epoch"]
        if "swa_start" not in given and cfg["epochs"] != old["epochs"]:
            in_swa = old["swa_start"] and done >= old["swa_start"]
            cfg["swa_start"] = old["swa_start"] if in_swa or not old["swa_start"] else default_swa_start(cfg["epochs"])
        _check_types(cfg, args.resume)
        if done >= cfg["epochs"]:
            raise UsageError(f"checkpoint {args.resume!r} is already at epoch {done} of {cfg['epochs']}; pass a "
                             f"larger --epochs to train on")
        if cfg["swa_start"] and old["swa_start"] and done >= old["swa_start"] and cfg["swa_start"] != old["swa_start"]:
            raise UsageError(f"--swa-start {cfg['swa_start']}: the checkpoint is already averaging since epoch "
                             f"{old['swa_start']}; leave --swa-start out")
    else:
        opt = given.get("optimizer", DEFAULTS["optimizer"])
        cfg = {**DEFAULTS, **OPT_DEFAULTS[opt][3], **given}
        # rounded to 3 digits so the value reads as a number one would type (0.01, not 0.009999999999999998)
        cfg.setdefault("lr", float(f"{OPT_DEFAULTS[opt][0] * (CNN_LR_FACTOR if cfg['model'] == 'cnn' else 1.0):.3g}"))
        cfg.setdefault("samples", 600 if cfg["dataset"] == "spirals" else 1797)
        cfg.setdefault("swa_start", default_swa_start(cfg["epochs"]))
        cfg.setdefault("swa_lr", None)
    _warn_meaningless(cfg, warn, saved)
    return cfg


def resolve_amp(args, saved):
    """``--amp`` for the run: as given, else the checkpoint's on --resume. A resumed run keeps its
    precision (its GradScaler history means nothing in another); checkpoints from before ``amp`` was
    saved take what is given."""
    given = getattr(args, "amp", None)
    if saved is None or "amp" not in saved:
        return given
    old = saved["amp"]
    if given is not None and given != old:
        was = f"--amp {old}" if old else "no --amp"
        raise UsageError(f"checkpoint {args.resume!r} was trained with {was} (given --amp {given}); leave --amp "
                         f"out to resume it, or start a new run without --resume")
    return old


def _check_types(cfg, path):
    num = (int, float)
    rules = {"lr": num, "epochs": int, "batch_size": int, "hidden": int, "samples": int, "swa_start": int,
             "seed": int, "ema": num, "weight_decay": num + (type(None),), "swa_lr": num + (type(None),)}
    for k, kinds in rules.items():
        v = cfg[k]
        if isinstance(v, bool) or not isinstance(v, kinds):
            raise UsageError(f"checkpoint {path!r} is damaged: setting {k}={v!r} has the wrong type")
    for k in ("lr", "epochs", "batch_size", "hidden", "samples"):
        if not cfg[k] > 0:
            raise UsageError(f"checkpoint {path!r} is damaged: setting {k}={cfg[k]!r} must be > 0")
    if cfg["optimizer"] not in OPT_DEFAULTS or cfg["scheduler"] not in SCHEDULERS:
        raise UsageError(f"checkpoint {path!r} is damaged: unknown optimizer or scheduler")


def _warn_meaningless(cfg, warn, saved):
    if cfg["model"] == "cnn" and cfg["dataset"] != "digits":
        raise UsageError("--model cnn needs image data: add --dataset digits")
    per_class = cfg["samples"] if cfg["dataset"] == "spirals" else cfg["samples"] / 10
    n = cfg["samples"] * (3 if cfg["dataset"] == "spirals" else 1)
    if int(n * 0.2) < 1 or n - int(n * 0.2) < 2:
        raise UsageError(f"--samples {cfg['samples']} leaves no validation or training data; use at least "
                         f"{5 if cfg['dataset'] == 'spirals' else 50}")
    n_train = n - int(n * 0.2)
    if cfg["batch_size"] >= n_train:
        warn(f"--batch-size {cfg['batch_size']} covers the whole training set ({n_train} samples): one step per "
             f"epoch, {cfg['epochs']} step{'s' if cfg['epochs'] != 1 else ''} in all, too few to learn much; try --batch-size 64")
    if per_class < 20:
        warn(f"--samples {cfg['samples']} is tiny: the validation accuracy will be noise")
    if cfg["swa_start"] and cfg["swa_start"] >= cfg["epochs"]:
        warn(f"--swa-start {cfg['swa_start']} >= --epochs {cfg['epochs']}: SWA averages "
             f"{'no' if cfg['swa_start'] > cfg['epochs'] else 'a single'} epoch, so its row "
             f"{'is left out' if cfg['swa_start'] > cfg['epochs'] else 'just repeats the plain model'}")
    if cfg["ema"]:
        steps = cfg["epochs"] * -(-int(n - int(n * 0.2)) // cfg["batch_size"])
        window = 1 / (1 - cfg["ema"])
        if window > steps / 3:
            warn(f"--ema {cfg['ema']} averages over ~{window:.0f} steps but the run has {steps}: the EMA model "
                 f"lags far behind; try --ema {max(0.5, 1 - 30 / steps):.2f}")

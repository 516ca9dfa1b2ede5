"""Training-step benchmark: seven models, ours vs torch, same weights, forward + backward + optimizer step.

    python -m minitorch_optim bench --train [--rounds 7] [--steps 5] [--threads 2] [--models mlp,cnn,...] [--json]

Each round runs ``--steps`` steps of every model, alternating one step of ours and one of torch (paired, so
both see the same machine load); a case's time is the median over rounds of the per-step mean, and its ratio is the median
over rounds of that round's ours/torch (with the lowest and highest round ratio, the spread the load caused).
Both sides run with the same thread budget (``--threads``, default 2: ``autograd.set_num_threads`` and
``torch.set_num_threads``).
The memory figures are tracemalloc peaks (NumPy reports its buffers to tracemalloc) relative to the
result's size: building ``nn.Linear(4096, 4096)`` and ``randn(4096, 4096)`` in float32.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
import tracemalloc

import numpy as np

MODELS = ("readme_mlp", "mlp", "cnn", "embedding", "transformer", "lstm_lm", "gpt_sdpa")
DESCRIPTIONS = {
    "readme_mlp": "README MLP 2-64-64-3 with BatchNorm, batch 64, AdamW",
    "mlp": "MLP 784-512-512-10, batch 128, AdamW",
    "cnn": "CNN conv16-pool-conv32-pool-linear on 1x28x28, batch 64, SGD momentum",
    "embedding": "Embedding(50000, 64, sparse) + Linear, batch 256x8, SparseAdam + Adam",
    "transformer": "transformer block d=128, 4 heads, GELU MLP, batch 8x64, AdamW",
    "lstm_lm": "LSTM language model: Embedding(10000, 256), 2-layer LSTM(256), Linear(256, 10000); seq 35 x batch 20, "
               "SGD",
    "gpt_sdpa": "GPT block d=128, 4 heads, causal scaled_dot_product_attention, GELU MLP, batch 8x64, AdamW",
}


class Lib:
    """The names a model needs, from ``autograd`` + ``minitorch_optim`` or from ``torch``."""

    def __init__(self, which):
        self.which = which
        if which == "ours":
            import autograd
            import minitorch_optim

            self.ag, self.optim = autograd, minitorch_optim
        else:
            import torch

            self.ag, self.optim = torch, torch.optim
        self.nn, self.F = self.ag.nn, self.ag.nn.functional

    def tensor(self, a):
        return self.ag.tensor(a) if self.which == "ours" else self.ag.from_numpy(np.ascontiguousarray(a))


def _block_class(nn, F):
    class Block(nn.Module):
        """Pre-norm transformer block: multi-head self-attention and a GELU MLP, both residual."""

        def __init__(self, d=128, heads=4):
            super().__init__()
            self.d, self.h = d, heads
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x):
            B, T, d = x.shape
            h, dh = self.h, d // self.h
            qkv = self.qkv(self.ln1(x))
            q, k, v = (qkv[:, :, i * d:(i + 1) * d].reshape(B, T, h, dh).transpose(1, 2) for i in range(3))
            att = F.softmax((q @ k.transpose(-2, -1)) * (1.0 / dh ** 0.5), dim=-1)
            y = (att @ v).transpose(1, 2).reshape(B, T, d)
            x = x + self.proj(y)
            return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))

    return Block


def _lm_class(nn):
    class LM(nn.Module):
        """Word-level language model: embedding, a 2-layer LSTM, a decoder to the vocabulary."""

        def __init__(self, vocab=10000, d=256):
            super().__init__()
            self.emb, self.rnn, self.dec = nn.Embedding(vocab, d), nn.LSTM(d, d, num_layers=2), nn.Linear(d, vocab)

        def forward(self, tokens):
            out, _ = self.rnn(self.emb(tokens))
            return self.dec(out).reshape(-1, self.dec.out_features)

    return LM


def _gpt_class(nn, F):
    class GPTBlock(nn.Module):
        """Pre-norm causal self-attention through F.scaled_dot_product_attention, then a GELU MLP."""

        def __init__(self, d=128, heads=4):
            super().__init__()
            self.h = heads
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

        def forward(self, x):
            B, T, d = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
            q, k, v = (t.reshape(B, T, self.h, d // self.h).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(B, T, d))
            return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))

    return GPTBlock


def build(lib, name, dtype="float32", seed=0):
    """(model, optimizers, inputs, loss_fn) of one case; the data comes from a NumPy generator."""
    nn, F = lib.nn, lib.F
    rng = np.random.default_rng(seed)
    if name == "readme_mlp":
        m = nn.Sequential(nn.Linear(2, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 64), nn.BatchNorm1d(64),
                          nn.ReLU(), nn.Linear(64, 3))
        x, y = rng.standard_normal((64, 2)), rng.integers(0, 3, 64)
        opts = lambda ps: [lib.optim.AdamW(ps, lr=1e-3)]  # noqa: E731
    elif name == "mlp":
        m = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
        x, y = rng.standard_normal((128, 784)), rng.integers(0, 10, 128)
        opts = lambda ps: [lib.optim.AdamW(ps, lr=1e-3)]  # noqa: E731
    elif name == "cnn":
        m = nn.Sequential(nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 5 * 5, 10))
        x, y = rng.standard_normal((64, 1, 28, 28)), rng.integers(0, 10, 64)
        opts = lambda ps: [lib.optim.SGD(ps, lr=1e-2, momentum=0.9)]  # noqa: E731
    elif name == "embedding":
        m = nn.Sequential(nn.Embedding(50000, 64, sparse=True), nn.Linear(64, 10))
        x, y = rng.integers(0, 50000, (256, 8)), rng.integers(0, 10, 256)
        opts = lambda ps: [lib.optim.SparseAdam(ps[:1], lr=1e-3), lib.optim.Adam(ps[1:], lr=1e-3)]  # noqa: E731
    elif name == "transformer":
        m = _block_class(nn, F)()
        x, y = rng.standard_normal((8, 64, 128)), rng.standard_normal((8, 64, 128))
        opts = lambda ps: [lib.optim.AdamW(ps, lr=1e-3)]  # noqa: E731
    elif name == "lstm_lm":
        m = _lm_class(nn)()
        x, y = rng.integers(0, 10000, (35, 20)), rng.integers(0, 10000, 35 * 20)
        opts = lambda ps: [lib.optim.SGD(ps, lr=1.0)]  # noqa: E731
    elif name == "gpt_sdpa":
        m = _gpt_class(nn, F)()
        x, y = rng.standard_normal((8, 64, 128)), rng.standard_normal((8, 64, 128))
        opts = lambda ps: [lib.optim.AdamW(ps, lr=1e-3)]  # noqa: E731
    else:
        raise ValueError(f"unknown model {name!r}; choose from {MODELS}")
    m = m.double() if dtype == "float64" else m
    if x.dtype.kind == "f":
        x = x.astype(dtype)
    if y.dtype.kind == "f":
        y = y.astype(dtype)
    X, Y = lib.tensor(x), lib.tensor(y)
    if name == "embedding":
        def loss_fn():
            h = m[0](X).mean(dim=1)
            return F.cross_entropy(m[1](h), Y)
    elif name in ("transformer", "gpt_sdpa"):
        def loss_fn():
            return F.mse_loss(m(X), Y)
    else:
        def loss_fn():
            return F.cross_entropy(m(X), Y)
    return m, opts(list(m.parameters())), loss_fn


def copy_weights(src, dst):
    """Copy ``src``'s state (ours) into ``dst`` (torch), key by key."""
    import torch

    sd = {k: torch.from_numpy(np.array(v.numpy() if hasattr(v, "numpy") else v)) for k, v in src.state_dict().items()}
    dst.load_state_dict(sd)


def make_step(model, opts, loss_fn):
    def step():
        for o in opts:
            o.zero_grad()
        loss = loss_fn()
        loss.backward()
        for o in opts:
            o.step()
        return loss

    return step


def pair(name, dtype="float32"):
    """The same case built in ours and in torch (torch's weights copied from ours)."""
    ours = build(Lib("ours"), name, dtype)
    theirs = build(Lib("torch"), name, dtype)
    copy_weights(ours[0], theirs[0])
    return ours, theirs


def _time(step, n):
    t = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - t) / n


def run(models=MODELS, rounds=7, steps=5, threads=2):
    import autograd

    try:
        import torch  # noqa: F401
    except ImportError:
        torch = None
    autograd.set_num_threads(threads)
    if torch is not None:
        torch.set_num_threads(threads)
    cases = {}
    for name in models:
        if torch is None:
            cases[name] = (make_step(*build(Lib("ours"), name)), None)
        else:
            o, t = pair(name)
            cases[name] = (make_step(*o), make_step(*t))
    for so, st in cases.values():  # warm-up: compile kernels, build optimizer state
        so(), so()
        if st is not None:
            st(), st()
    times = {n: ([], []) for n in models}
    for _ in range(rounds):
        for name, (so, st) in cases.items():
            if st is None:
                times[name][0].append(_time(so, steps))
                continue
            to = tt = 0.0
            for _ in range(steps):   # step by step, so that a pair's two sides see the same load
                to += _time(so, 1)
                tt += _time(st, 1)
            times[name][0].append(to / steps)
            times[name][1].append(tt / steps)
    rows = []
    for name in models:
        ours_t, torch_t = times[name]
        row = {"model": name, "description": DESCRIPTIONS[name], "ours_ms": statistics.median(ours_t) * 1e3}
        if torch_t:
            ratios = [a / b for a, b in zip(ours_t, torch_t)]   # each round's pair, measured back to back
            row["torch_ms"] = statistics.median(torch_t) * 1e3
            row["ratio"] = statistics.median(ratios)
            row["ratio_min"], row["ratio_max"] = min(ratios), max(ratios)
        rows.append(row)
    return {"rows": rows, "threads": threads, "rounds": rounds, "memory": memory()}


def _peak(fn):
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, peak


def memory(n=4096):
    import autograd
    import autograd.nn as nn

    layer, peak = _peak(lambda: nn.Linear(n, n))
    size = sum(p.numel() * 4 for p in layer.parameters())
    del layer
    t, rpeak = _peak(lambda: autograd.randn(n, n, dtype=autograd.float32))
    del t
    u, upeak = _peak(lambda: autograd.rand(n, n, dtype=autograd.float32))
    del u
    return {"linear_4096_peak_x": peak / size, "randn_f32_peak_x": rpeak / (n * n * 4),
            "rand_f32_peak_x": upeak / (n * n * 4)}


def table(res):
    lines = [f"{res['rounds']} paired rounds, {res['threads']} threads each side; ratio: median of the rounds' "
             f"ours/torch [lowest, highest]",
             f"{'model':12} {'ours ms':>9} {'torch ms':>9} {'ours/torch':>10} {'spread':>13}  description"]
    for r in res["rows"]:
        t = (f"{r['torch_ms']:9.3f} {r['ratio']:10.2f} [{r['ratio_min']:.2f}, {r['ratio_max']:.2f}]"
             if "ratio" in r else f"{'-':>9} {'-':>10} {'-':>13}")
        lines.append(f"{r['model']:12} {r['ours_ms']:9.3f} {t}  {r['description']}")
    m = res["memory"]
    lines.append(f"peak memory (tracemalloc, x result size): nn.Linear(4096, 4096) {m['linear_4096_peak_x']:.2f}x, "
                 f"randn float32 {m['randn_f32_peak_x']:.2f}x, rand float32 {m['rand_f32_peak_x']:.2f}x")
    return "\n".join(lines)


def main(argv=None):
    from .args import OneLineParser

    ap = OneLineParser(prog="python -m minitorch_optim bench --train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--models", default=",".join(MODELS), help=f"comma-separated subset of {','.join(MODELS)}")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=5, help="steps per round and case")
    ap.add_argument("--threads", type=int, default=2, help="thread budget of each side (default 2)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    a = ap.parse_args(argv)
    models = [m.strip() for m in a.models.split(",") if m.strip()]
    bad = [m for m in models if m not in MODELS]
    if bad:
        ap.error(f"unknown models {bad}; choose from {list(MODELS)}")
    if a.rounds < 1 or a.steps < 1 or a.threads < 1:
        ap.error("--rounds, --steps and --threads must be >= 1")
    res = run(models, a.rounds, a.steps, a.threads)
    print(json.dumps(res, indent=1) if a.json else table(res))
    return 0


if __name__ == "__main__":
    main()

"""GradScaler against ``torch.amp.GradScaler("cpu")``: over a run with injected inf/NaN gradients, the
same scale history, skipped steps, parameters and state_dict, for SGD, Adam (for-loop, foreach, fused)
and AdamW, with gradient clipping between unscale_ and step; torch's errors for misuse."""
import numpy as np
import pytest

import autograd as ag
import minitorch_optim as optim

torch = pytest.importorskip("torch")

STEPS = 9
POISON = {2: "inf", 3: "nan", 6: "-inf"}      # steps whose gradient holds a non-finite value
CLIP = {1, 4, 6, 7}                            # steps that unscale_ and clip before step


def _data():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal(3).astype(np.float32)
    xs = rng.standard_normal((STEPS, 5, 4)).astype(np.float32)
    ys = rng.standard_normal((STEPS, 5, 3)).astype(np.float32)
    return w, b, xs, ys


def _run(T, O, clip, opt_name, kwargs):
    w0, b0, xs, ys = _data()
    w = T.tensor(w0, requires_grad=True)
    b = T.tensor(b0, requires_grad=True)
    opt = getattr(O, opt_name)([w, b], **kwargs)
    scaler = (T.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=2))
    scales, skipped, trackers = [], [], []
    for i in range(STEPS):
        opt.zero_grad()
        loss = ((T.tensor(xs[i]) @ w.t() + b - T.tensor(ys[i])) ** 2).mean()
        scaler.scale(loss).backward()
        if i in POISON:
            w.grad[1, 1] = float(POISON[i])
        before = w.detach().clone()
        if i in CLIP:
            scaler.unscale_(opt)
            clip([w, b], 0.5)
        ret = scaler.step(opt)
        skipped.append(bool((w.detach() == before).all()))
        assert ret is None
        scaler.update()
        scales.append(scaler.get_scale())
        trackers.append(scaler._get_growth_tracker())
    return dict(scales=scales, skipped=skipped, trackers=trackers, w=w.detach().numpy(), b=b.detach().numpy(),
                sd=scaler.state_dict())


CONFIGS = {
    "sgd": ("SGD", dict(lr=0.1, momentum=0.9)),
    "adam_forloop": ("Adam", dict(lr=0.05, foreach=False)),
    "adam_foreach": ("Adam", dict(lr=0.05, foreach=True)),
    "adam_fused": ("Adam", dict(lr=0.05, fused=True)),
    "adamw": ("AdamW", dict(lr=0.05, weight_decay=0.1)),
}


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_grad_scaler_matches_torch_with_injected_inf_and_nan(config):
    name, kwargs = CONFIGS[config]
    ours = _run(ag, optim, ag.nn.utils.clip_grad_norm_, name, kwargs)
    theirs = _run(torch, torch.optim, torch.nn.utils.clip_grad_norm_, name, kwargs)
    assert ours["scales"] == theirs["scales"]
    assert ours["trackers"] == theirs["trackers"]
    assert ours["skipped"] == theirs["skipped"] == [i in POISON for i in range(STEPS)]
    assert ours["sd"] == theirs["sd"]
    np.testing.assert_allclose(ours["w"], theirs["w"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours["b"], theirs["b"], rtol=1e-5, atol=1e-6)


def _one_backward(T, O):
    w = T.tensor([1.0, 2.0], requires_grad=True)
    opt = O.SGD([w], lr=0.1)
    scaler = T.amp.GradScaler("cpu")
    scaler.scale((w * w).sum()).backward()
    return w, opt, scaler


@pytest.mark.parametrize("lib", ["ours", "torch"])
def test_grad_scaler_misuse_raises_as_torch(lib):
    T, O = (ag, optim) if lib == "ours" else (torch, torch.optim)
    w, opt, scaler = _one_backward(T, O)
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match=r"unscale_\(\) has already been called on this optimizer since the last update\(\)"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match=r"step\(\) has already been called since the last update\(\)"):
        scaler.step(opt)
    with pytest.raises(RuntimeError, match=r"unscale_\(\) is being called after step\(\)"):
        scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        scaler.step(opt, closure=lambda: 0)
    scaler.update()
    fresh = T.amp.GradScaler("cpu")
    with pytest.raises(AssertionError, match="Attempted step but _scale is None"):
        fresh.step(opt)
    with pytest.raises(RuntimeError, match="The source state dict is empty"):
        fresh.load_state_dict({})
    with pytest.raises(AssertionError, match="The growth factor must be > 1.0"):
        T.amp.GradScaler("cpu", growth_factor=1.0)
    h = T.tensor([1.0], requires_grad=True).half().detach().requires_grad_()
    hopt = O.SGD([h], lr=0.1)
    h.grad = T.ones(1).half()
    scaler2 = T.amp.GradScaler("cpu")
    scaler2.scale(T.ones(1))
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients"):
        scaler2.unscale_(hopt)


def test_grad_scaler_state_dict_round_trip_and_disabled_scaler_is_a_pass_through():
    w, opt, scaler = _one_backward(ag, optim)
    scaler.step(opt)
    scaler.update(123.0)
    sd = scaler.state_dict()
    assert sd == {"scale": 123.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2000,
                  "_growth_tracker": 0}
    other = ag.amp.GradScaler("cpu")
    other.load_state_dict(sd)
    assert other.state_dict() == sd and other.get_scale() == 123.0
    off = ag.amp.GradScaler("cpu", enabled=False)
    loss = ag.tensor(2.0)
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {}
    scaled = scaler.scale([ag.tensor(1.0), (ag.tensor(2.0),)])
    assert scaled[0].item() == 123.0 and scaled[1][0].item() == 246.0


def test_docs_amp_page_examples_run_and_print_what_the_page_says(capsys):
    import pathlib
    import re
    import warnings

    text = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "src" / "amp.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # clipping an inf gradient
        for b in blocks:
            exec(compile(b, "amp.md", "exec"), {})
    lines = capsys.readouterr().out.split("\n")
    assert lines[0] == "float16 float32" and lines[1] == "float32"
    scales = [float(ln.split()[1]) for ln in lines[2:] if ln.strip()]
    assert scales[:6] == [1024.0, 1024.0, 512.0, 512.0, 512.0, 1024.0]

"""Schedules for any hyper-parameter: ``lr_scheduler.HyperParameter(opt, key)`` under the lr schedulers.
Closed forms for the values; torch (with the same values written into its groups by hand) for the steps."""
import math

import numpy as np
import pytest

import autograd as ag
import minitorch_optim as optim
from minitorch_optim import lr_scheduler as S
from minitorch_optim.swa_utils import SWALR


def _adamw(**kw):
    p = ag.tensor(np.linspace(-1, 1, 6), requires_grad=True)
    return p, optim.AdamW([p], lr=1e-2, weight_decay=0.1, **kw)


def test_cosine_weight_decay_and_linear_beta1_follow_closed_forms():
    p, opt = _adamw()
    wd = S.CosineAnnealingLR(S.HyperParameter(opt, "weight_decay"), T_max=4, eta_min=0.02)
    b1 = S.LinearLR(S.HyperParameter(opt, ("betas", 0)), start_factor=0.5, total_iters=2)
    lr = S.StepLR(opt, 1, 0.5)
    g = opt.param_groups[0]
    assert g["initial_weight_decay"] == 0.1 and g["initial_beta1"] == 0.9 and g["betas"] == (0.45, 0.999)
    for t in range(1, 5):
        p.grad = ag.tensor(np.ones(6))
        opt.step()
        for s in (wd, b1, lr):
            s.step()
        assert g["weight_decay"] == pytest.approx(0.02 + 0.08 * (1 + math.cos(math.pi * t / 4)) / 2, abs=1e-15)
        assert g["betas"][0] == pytest.approx(0.9 * min(1.0, 0.5 + 0.5 * t / 2), rel=1e-12) and g["betas"][1] == 0.999
        assert g["lr"] == pytest.approx(1e-2 * 0.5 ** t, rel=1e-12)
    assert wd.get_last_lr() == [g["weight_decay"]] and "weight_decay" not in wd.state_dict()


@pytest.mark.parametrize("path", [dict(foreach=False), dict(foreach=True), {}], ids=["forloop", "foreach", "default"])
def test_scheduled_hyper_parameters_reach_the_step_as_in_torch(path):
    torch = pytest.importorskip("torch")
    p, opt = _adamw(**path)
    pt = torch.tensor(np.linspace(-1, 1, 6), requires_grad=True)
    ot = torch.optim.AdamW([pt], lr=1e-2, weight_decay=0.1, **path)
    sched = S.SequentialLR(view := S.HyperParameter(opt, ("betas", 0)),
                           [S.ConstantLR(view, 0.5, 2), S.ExponentialLR(view, 1.05)], milestones=[2])
    wd = S.ExponentialLR(S.HyperParameter(opt, "weight_decay"), 3.0)
    rng = np.random.default_rng(0)
    for _ in range(6):
        for k in ("betas", "weight_decay"):  # torch has no such scheduler: the same values by hand
            ot.param_groups[0][k] = opt.param_groups[0][k]
        gr = rng.normal(size=6)
        p.grad, pt.grad = ag.tensor(gr), torch.tensor(gr)
        opt.step()
        ot.step()
        sched.step()
        wd.step()
        np.testing.assert_allclose(p.numpy(), pt.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert opt.param_groups[0]["weight_decay"] == pytest.approx(0.1 * 3 ** 6)


def test_hyper_parameter_view_over_a_multi_optimizer_and_swalr():
    w = ag.tensor(np.ones((3, 3)), requires_grad=True)
    b = ag.tensor(np.ones(3), requires_grad=True)
    multi = optim.MultiOptimizer([optim.Muon([w], lr=0.02), optim.AdamW([b], lr=1e-3)])
    betas = S.HyperParameter(multi, ("betas", 0))
    assert len(betas.param_groups) == 1        # Muon's group has no betas
    mom = S.HyperParameter(multi, "momentum")
    swa = SWALR(mom, swa_lr=0.5, anneal_epochs=2, anneal_strategy="linear")
    swa.step()
    swa.step()
    assert multi.param_groups[0]["momentum"] == pytest.approx(0.5) and multi.param_groups[0]["swa_momentum"] == 0.5
    with pytest.raises(ValueError, match="has 'nesterov_x'"):
        S.HyperParameter(multi, "nesterov_x")
    with pytest.raises(RuntimeError, match="step the optimizer"):
        mom.step()

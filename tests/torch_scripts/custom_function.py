# A two-layer net written with custom autograd Functions (a clamp-based ReLU and a scaled tanh taking a
# number argument), trained by hand with torch.no_grad updates; also asks autograd.grad for an input gradient.
import torch
from torch.autograd import Function


class ClampReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        g = grad_out.clone()
        g[x < 0] = 0
        return g


class ScaledTanh(Function):
    @staticmethod
    def forward(ctx, x, scale):
        y = torch.tanh(x) * scale
        ctx.scale = scale
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad_out):
        (y,) = ctx.saved_tensors
        return grad_out * (ctx.scale - y * y / ctx.scale), None


def run(init, X, Y):
    x, y = torch.tensor(X), torch.tensor(Y).double().unsqueeze(1)
    w1 = torch.tensor(init["w1"], requires_grad=True)
    w2 = torch.tensor(init["w2"], requires_grad=True)
    losses, log = [], []
    for step in range(15):
        h = ScaledTanh.apply(ClampReLU.apply(x @ w1), 2.0)
        loss = (h @ w2 - y).pow(2).mean()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w1 -= 0.05 * w1.grad
            w2 -= 0.05 * w2.grad
            w1.grad = None
            w2.grad.zero_()
        log.append(f"{step}: {loss:.6f} {loss.grad_fn.name()}")
    xi = x.clone().requires_grad_(True)
    (gx,) = torch.autograd.grad(ScaledTanh.apply(ClampReLU.apply(xi @ w1), 2.0).sum(), xi)
    losses.append(gx.abs().sum().item())
    return losses, log

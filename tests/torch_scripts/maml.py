# MAML on sine regression: an inner SGD step on functional parameters with create_graph=True
# (torch.func.functional_call), the meta-loss on the query set differentiated through it (second
# derivatives), and a meta-optimizer over a batch of tasks.
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call


def build():
    return {"model": nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1))}


def inner_adapt(model, params, x, y, inner_lr, steps):
    for _ in range(steps):
        loss = F.mse_loss(functional_call(model, params, (x,)), y)
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=True)
        params = {name: p - inner_lr * g for (name, p), g in zip(params.items(), grads)}
    return params


def run(init, data):
    model = build()["model"]
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    meta_opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xs, ys = torch.tensor(data["xs"]), torch.tensor(data["ys"])
    xq, yq = torch.tensor(data["xq"]), torch.tensor(data["yq"])
    losses = []
    for it in range(4):
        meta_opt.zero_grad()
        meta_loss = 0.0
        for t in range(xs.shape[0]):
            params = dict(model.named_parameters())
            fast = inner_adapt(model, params, xs[t], ys[t], 0.1, 2)
            meta_loss = meta_loss + F.mse_loss(functional_call(model, fast, xq[t]), yq[t])
        meta_loss = meta_loss / xs.shape[0]
        meta_loss.backward()
        meta_opt.step()
        losses.append(meta_loss.item())
    # the per-task manual form: parameters as a list, the forward written with F.linear
    w = [p.detach().clone().requires_grad_() for p in model.parameters()]

    def f(x, w):
        h = torch.tanh(F.linear(x, w[0], w[1]))
        h = torch.tanh(F.linear(h, w[2], w[3]))
        return F.linear(h, w[4], w[5])
    g = torch.autograd.grad(F.mse_loss(f(xs[0], w), ys[0]), w, create_graph=True)
    adapted = [p - 0.1 * gi for p, gi in zip(w, g)]
    q = F.mse_loss(f(xq[0], adapted), yq[0])
    q.backward()
    losses.append(q.item())
    losses.append(sum(p.grad.abs().sum().item() for p in w))
    return losses, [], {"model": model.state_dict()}

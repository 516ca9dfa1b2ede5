# Regression with Adam and a cosine schedule, checkpointed half way (model, optimizer and scheduler state)
# and resumed into fresh objects; the resumed run must continue exactly.
import torch
import torch.nn as nn
import torch.optim as optim


def make(init):
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    opt = optim.Adam(model.parameters(), lr=0.05, weight_decay=1e-3)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=1e-3)
    return model, opt, sched


def train(model, opt, sched, x, y, steps, losses):
    loss_fn = nn.MSELoss()
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        losses.append(sched.get_last_lr()[0])


def run(init, X, Y, path):
    x, y = torch.tensor(X), torch.tensor(Y).double().unsqueeze(1)
    losses = []
    model, opt, sched = make(init)
    train(model, opt, sched, x, y, 5, losses)
    torch.save({"model": model.state_dict(), "optim": opt.state_dict(), "sched": sched.state_dict(), "step": 5},
               path)
    other = {k: v * 0 + 0.1 for k, v in init.items()}
    model, opt, sched = make(other)
    ckpt = torch.load(path)
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optim"])
    sched.load_state_dict(ckpt["sched"])
    train(model, opt, sched, x, y, 5, losses)
    return losses, [str(ckpt["step"])]

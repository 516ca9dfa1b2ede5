# An MLP classifier trained with a DataLoader, a step schedule and the usual device/backends boilerplate.
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim import lr_scheduler
from torch.utils.data import DataLoader, TensorDataset


def run(init, X, Y):
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = False
    device = torch.device("cpu")
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3)).double().to(device)
    model.load_state_dict({k: torch.tensor(v) for k, v in init.items()})
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    sched = lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    loader = DataLoader(TensorDataset(torch.tensor(X), torch.tensor(Y)), batch_size=8, shuffle=False)
    losses, log = [], []
    for epoch in range(4):
        model.train()
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
            log.append(f"epoch {epoch} loss {loss:.4f} lr {sched.get_last_lr()[0]:.3f}")
        sched.step()
        model.eval()
        with torch.inference_mode():
            acc = (model(torch.tensor(X)).argmax(dim=1) == torch.tensor(Y)).double().mean()
        log.append(f"acc {acc:.3f}")
    return losses, log

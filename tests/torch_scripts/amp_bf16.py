# A mixed-precision training loop: the forward under torch.autocast("cpu", dtype=torch.bfloat16), the loss
# computed in float32, a torch.amp.GradScaler (scale, unscale_ before clipping, step, update), and the
# scaler's state saved with the checkpoint.
import torch
import torch.nn as nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc1 = nn.Linear(4 * 4 * 4, 32)
        self.ln = nn.LayerNorm(32)
        self.fc2 = nn.Linear(32, 5)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        x = F.gelu(self.ln(self.fc1(x.flatten(1))))
        return self.fc2(x)


def build():
    return {"model": Net()}


def run(init, data, dtype_name="bfloat16"):
    dtype = getattr(torch, dtype_name)
    model = Net()
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=2)
    x_all, y_all = torch.tensor(data["x"]), torch.tensor(data["y"])
    losses, log = [], []
    for step in range(6):
        x, y = x_all[step % 2 * 8:step % 2 * 8 + 8], y_all[step % 2 * 8:step % 2 * 8 + 8]
        optimizer.zero_grad()
        with torch.autocast(device_type="cpu", dtype=dtype):
            out = model(x)
            assert out.dtype == dtype
            loss = F.cross_entropy(out, y)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        scaler.step(optimizer)
        scaler.update()
        losses.append(loss.float().item())
        log.append(f"{loss.dtype == torch.float32} scale {scaler.get_scale()} {scaler.is_enabled()}")
    ckpt = {"model": model.state_dict(), "scaler": scaler.state_dict()}
    log.append(str(sorted(ckpt["scaler"])))
    model.eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=dtype):
        losses.append(F.cross_entropy(model(x_all), y_all).float().item())
    return losses, log, {"model": model.state_dict()}

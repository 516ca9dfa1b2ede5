# SimCLR-style contrastive training in the older AMP spelling: torch.cuda.amp.autocast / GradScaler switched
# off on a CPU, the NT-Xent loss from cosine similarities of normalised projections with the diagonal masked
# by torch.finfo(...).min, SGD with Nesterov momentum and CosineAnnealingLR, and the gradient norm logged
# with torch.linalg.vector_norm.
import torch
import torch.nn as nn
import torch.nn.functional as F


class Encoder(nn.Module):
    def __init__(self, d_in=12, d_hid=32, d_proj=8):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(d_in, d_hid), nn.BatchNorm1d(d_hid), nn.ReLU(inplace=True),
                                      nn.Linear(d_hid, d_hid))
        self.projector = nn.Sequential(nn.ReLU(), nn.Linear(d_hid, d_proj))

    def forward(self, x):
        return self.projector(self.backbone(x))


def nt_xent(z1, z2, temperature=0.5):
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.size(0)
    sim = F.cosine_similarity(z.unsqueeze(1), z.unsqueeze(0), dim=-1) / temperature
    self_mask = torch.eye(2 * n, dtype=torch.bool)
    sim = sim.masked_fill(self_mask, torch.finfo(sim.dtype).min)
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, targets)


def build():
    return {"model": Encoder()}


def run(init, data):
    model = Encoder()
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    use_amp = next(model.parameters()).is_cuda
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=6)
    scaler = torch.cuda.amp.GradScaler(enabled=use_amp)
    views = torch.tensor(data["views"])
    losses, log = [], []
    for step in range(6):
        x1, x2 = views[0, step % 2 * 8:step % 2 * 8 + 8], views[1, step % 2 * 8:step % 2 * 8 + 8]
        optimizer.zero_grad()
        with torch.cuda.amp.autocast(enabled=use_amp):
            loss = nt_xent(model(x1), model(x2))
        scaler.scale(loss).backward()
        grad_norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in model.parameters()]))
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        losses += [loss.item(), grad_norm.item()]
        log.append(f"step {step} loss {loss.item():.4f} |g| {grad_norm:.3f}")
    model.eval()
    with torch.no_grad():
        z = F.normalize(model(views[0]), dim=1)
        losses.append(F.pairwise_distance(z, F.normalize(model(views[1]), dim=1)).mean().item())
    return losses, log, {"model": model.state_dict()}

# A small ResNet trained as image-classification recipes write it: residual blocks with BatchNorm and
# in-place ReLU, kaiming initialisation, weight decay only on weights (biases and norm parameters in a
# second param group), SGD with Nesterov momentum under OneCycleLR stepped per batch, label smoothing,
# gradient accumulation over two batches with clip_grad_norm_, a retained activation gradient read after
# a tensor hook, and a no_grad evaluation counting top-1 and top-2 hits.
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset


class Block(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, classes=5):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
        self.layers = nn.ModuleList([Block(8, 8), Block(8, 16, 2)])
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(16, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward(self, x, keep=None):
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x)
        if keep is not None:
            x.retain_grad()
            x.register_hook(lambda g: g * 0.5)      # scales what flows back, and what retain_grad keeps
            keep.append(x)
        return self.fc(torch.flatten(self.pool(x), 1))


def build():
    return {"model": ResNet()}


def run(init, data, epochs=3, accum=2):
    model = ResNet()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in init["model"].items()})
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim <= 1 or name.endswith(".bias") else decay).append(p)
    optimizer = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0.0}],
                                lr=0.05, momentum=0.9, nesterov=True)
    loader = DataLoader(TensorDataset(torch.from_numpy(data["x"]), torch.from_numpy(data["y"])), batch_size=8)
    val = DataLoader(TensorDataset(torch.from_numpy(data["x_val"]), torch.from_numpy(data["y_val"])), batch_size=8)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, epochs=epochs,
                                                    steps_per_epoch=len(loader) // accum)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    losses, log = [], []
    for epoch in range(epochs):
        model.train()
        optimizer.zero_grad(set_to_none=True)
        for i, (x, y) in enumerate(loader):
            kept = []
            loss = criterion(model(x, kept), y) / accum
            loss.backward()
            losses.append(loss.item())
            losses.append(kept[0].grad.abs().sum().item())
            if (i + 1) % accum == 0:
                norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
                losses.append(float(norm))
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                scheduler.step()
        model.eval()
        top1 = top2 = 0
        with torch.no_grad():
            for x, y in val:
                out = model(x)
                top1 += (out.argmax(1) == y).sum().item()
                top2 += (out.topk(2, dim=1).indices == y.unsqueeze(1)).any(1).sum().item()
        log.append(f"epoch {epoch}: top1 {top1} top2 {top2} lr {scheduler.get_last_lr()[0]:.5f}")
    return losses, log, {"model": model.state_dict()}

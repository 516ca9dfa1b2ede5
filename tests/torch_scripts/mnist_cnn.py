# An MNIST-style CNN classifier as the official example writes it: an nn.Module subclass, a DataLoader,
# Adadelta with StepLR, train()/eval(), a no_grad test loop that counts correct argmaxes, and the
# state_dict saved and loaded back.
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.optim.lr_scheduler import StepLR
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self, p_drop=0.25):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.dropout1 = nn.Dropout(p_drop)
        self.dropout2 = nn.Dropout(2 * p_drop)
        self.fc1 = nn.Linear(16 * 5 * 5, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return F.log_softmax(self.fc2(x), dim=1)


def build():
    return {"model": Net()}


def train(model, device, loader, optimizer, losses):
    model.train()
    for data, target in loader:
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())


def test(model, device, loader):
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for data, target in loader:
            data, target = data.to(device), target.to(device)
            output = model(data)
            test_loss += F.nll_loss(output, target, reduction="sum").item()
            pred = output.argmax(dim=1, keepdim=True)
            correct += pred.eq(target.view_as(pred)).sum().item()
    return test_loss / len(loader.dataset), correct


def run(init, data, path, p_drop=0.0):
    device = torch.device("cuda" if torch.cuda.is_available() and False else "cpu")
    model = Net(p_drop).to(device)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in init["model"].items()})
    train_set = TensorDataset(torch.from_numpy(data["x"]), torch.from_numpy(data["y"]))
    test_set = TensorDataset(torch.from_numpy(data["x_test"]), torch.from_numpy(data["y_test"]))
    train_loader = DataLoader(train_set, batch_size=16, shuffle=False)
    test_loader = DataLoader(test_set, batch_size=32)
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    losses, log = [], []
    for epoch in range(1, 3):
        train(model, device, train_loader, optimizer, losses)
        test_loss, correct = test(model, device, test_loader)
        losses.append(test_loss)
        log.append(f"epoch {epoch}: {correct}/{len(test_loader.dataset)} lr {scheduler.get_last_lr()[0]:.4f}")
        scheduler.step()
    torch.save(model.state_dict(), path)
    again = Net(p_drop)
    again.load_state_dict(torch.load(path, weights_only=True))
    return losses, log, {"model": again.state_dict()}

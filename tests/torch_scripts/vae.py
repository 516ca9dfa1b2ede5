# A VAE as in the official example: reparameterisation with randn_like, a Bernoulli decoder, the loss
# binary_cross_entropy(reduction="sum") plus the analytic KL term, Adam, and decoding random codes.
import torch
from torch import nn, optim
from torch.nn import functional as F


class VAE(nn.Module):
    def __init__(self, d=16, h=12, z=3):
        super().__init__()
        self.fc1 = nn.Linear(d, h)
        self.fc21 = nn.Linear(h, z)
        self.fc22 = nn.Linear(h, z)
        self.fc3 = nn.Linear(z, h)
        self.fc4 = nn.Linear(h, d)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = randn_like(std)
        return mu + eps * std

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 16))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


NOISE = None   # a test sets this to draw the same noise in both libraries


def randn_like(t):
    return torch.randn_like(t) if NOISE is None else torch.tensor(NOISE(tuple(t.shape)), dtype=t.dtype)


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 16), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def build():
    return {"model": VAE()}


def run(init, data):
    model = VAE()
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    x_all = torch.tensor(data["x"])
    losses = []
    for epoch in range(3):
        model.train()
        train_loss = 0
        for batch in x_all.split(8):
            optimizer.zero_grad()
            recon, mu, logvar = model(batch)
            loss = loss_function(recon, batch, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
            losses.append(loss.item())
        losses.append(train_loss / len(x_all))
    model.eval()
    with torch.no_grad():
        sample = model.decode(torch.tensor(data["codes"]))
        losses.append(sample.sum().item())
    return losses, [str(tuple(sample.shape))], {"model": model.state_dict()}

# WGAN-GP on 2-D points: the critic's gradient penalty takes autograd.grad(create_graph=True) of the critic
# at random interpolates and penalises (||grad||_2 - 1)^2, so the critic step differentiates twice.
import torch
import torch.nn as nn
import torch.autograd as autograd


def mlp(i, o):
    return nn.Sequential(nn.Linear(i, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, o))


def build():
    return {"G": mlp(4, 2), "D": mlp(2, 1)}


NOISE = None


def rand(*shape, normal=False):
    if NOISE is None:
        return torch.randn(*shape) if normal else torch.rand(*shape)
    return torch.tensor(NOISE(shape, normal))


def gradient_penalty(D, real, fake):
    alpha = rand(real.size(0), 1)
    alpha = alpha.expand(real.size())
    interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    d_interpolates = D(interpolates)
    gradients = autograd.grad(outputs=d_interpolates, inputs=interpolates,
                              grad_outputs=torch.ones_like(d_interpolates),
                              create_graph=True, retain_graph=True, only_inputs=True)[0]
    return ((gradients.norm(2, dim=1) - 1) ** 2).mean() * 10


def run(init, data):
    G, D = mlp(4, 2), mlp(2, 1)
    G.load_state_dict({k: torch.tensor(v) for k, v in init["G"].items()})
    D.load_state_dict({k: torch.tensor(v) for k, v in init["D"].items()})
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.9))
    real_all = torch.tensor(data["real"])
    losses = []
    for it in range(4):
        for p in D.parameters():
            p.requires_grad = True
        for i in range(3):
            real = real_all[i * 16:(i + 1) * 16]
            D.zero_grad()
            fake = G(rand(16, 4, normal=True)).detach()
            d_loss = D(fake).mean() - D(real).mean() + gradient_penalty(D, real, fake)
            d_loss.backward()
            opt_d.step()
            losses.append(d_loss.item())
        for p in D.parameters():
            p.requires_grad = False
        G.zero_grad()
        g_loss = -D(G(rand(16, 4, normal=True))).mean()
        g_loss.backward()
        opt_g.step()
        losses.append(g_loss.item())
    return losses, [], {"G": G.state_dict(), "D": D.state_dict()}

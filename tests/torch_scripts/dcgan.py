# DCGAN as in the official example, at 16x16: a ConvTranspose2d generator and a Conv2d discriminator with
# BatchNorm2d and LeakyReLU(inplace), weights_init applied through Module.apply, BCEWithLogitsLoss,
# label tensors from torch.full, fake.detach() for the discriminator step and two Adam optimizers.
import torch
import torch.nn as nn

nz, ngf, ndf = 8, 8, 8


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
            nn.ConvTranspose2d(ngf, 1, 4, 2, 1, bias=False), nn.Tanh())

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(1, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False))

    def forward(self, input):
        return self.main(input).view(-1, 1).squeeze(1)


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)


def build():
    g, d = Generator(), Discriminator()
    g.apply(weights_init)
    d.apply(weights_init)
    return {"G": g, "D": d}


NOISE = None


def randn(*shape):
    return torch.randn(*shape) if NOISE is None else torch.tensor(NOISE(shape))


def run(init, data):
    netG, netD = Generator(), Discriminator()
    netG.apply(weights_init)   # exercised, then replaced by the shared initial weights
    netG.load_state_dict({k: torch.tensor(v) for k, v in init["G"].items()})
    netD.load_state_dict({k: torch.tensor(v) for k, v in init["D"].items()})
    criterion = nn.BCEWithLogitsLoss()
    fixed_noise = randn(4, nz, 1, 1)
    real_label, fake_label = 1.0, 0.0
    optimizerD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optimizerG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    images = torch.tensor(data["images"])
    losses, log = [], []
    for i, real in enumerate(images.split(8)):
        netD.zero_grad()
        b_size = real.size(0)
        label = torch.full((b_size,), real_label, dtype=torch.float)
        errD_real = criterion(netD(real), label)
        errD_real.backward()
        D_x = torch.sigmoid(netD(real)).mean().item()
        noise = randn(b_size, nz, 1, 1)
        fake = netG(noise)
        label.fill_(fake_label)
        errD_fake = criterion(netD(fake.detach()), label)
        errD_fake.backward()
        errD = errD_real + errD_fake
        optimizerD.step()
        netG.zero_grad()
        label.fill_(real_label)
        errG = criterion(netD(fake), label)
        errG.backward()
        optimizerG.step()
        losses += [errD.item(), errG.item(), D_x]
        log.append(f"[{i}] Loss_D: {errD.item():.4f} Loss_G: {errG.item():.4f}")
    with torch.no_grad():
        sample = netG(fixed_noise).detach().cpu()
    losses.append(sample.abs().mean().item())
    return losses, [str(tuple(sample.shape))], {"G": netG.state_dict(), "D": netD.state_dict()}

# A sequence classifier on nn.TransformerEncoder: token embeddings scaled by sqrt(d_model) plus a sinusoidal
# positional-encoding buffer, a key padding mask (and a causal mask), masked mean pooling, cross-entropy with
# label smoothing, AdamW with a linear warm-up in LambdaLR (or OneCycleLR) and gradient clipping.
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=64):
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(1, max_len, d_model)
        pe[0, :, 0::2] = torch.sin(position * div_term)
        pe[0, :, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        return x + self.pe[:, :x.size(1)]


class Classifier(nn.Module):
    def __init__(self, ntoken=30, d_model=16, nhead=4, d_hid=32, nlayers=2, nclass=3, pad_idx=0, causal=False):
        super().__init__()
        self.embed = nn.Embedding(ntoken, d_model, padding_idx=pad_idx)
        self.pos = PositionalEncoding(d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead, d_hid, dropout=0.0, batch_first=True,
                                           activation="gelu")
        self.encoder = nn.TransformerEncoder(layer, nlayers, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, nclass)
        self.d_model, self.pad_idx, self.causal = d_model, pad_idx, causal

    def forward(self, tokens):
        pad = tokens == self.pad_idx
        x = self.pos(self.embed(tokens) * math.sqrt(self.d_model))
        mask = nn.Transformer.generate_square_subsequent_mask(tokens.size(1)) if self.causal else None
        h = self.encoder(x, mask=mask, src_key_padding_mask=pad, is_causal=self.causal)
        keep = (~pad).unsqueeze(-1).float()
        pooled = (h * keep).sum(1) / keep.sum(1).clamp(min=1)
        return self.head(pooled)


def build(causal=False):
    return {"model": Classifier(causal=causal)}


def run(init, data, causal=False, schedule="warmup"):
    model = Classifier(causal=causal)
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    no_decay = [p for n, p in model.named_parameters() if n.endswith("bias") or "norm" in n]
    decay = [p for n, p in model.named_parameters() if not (n.endswith("bias") or "norm" in n)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=3e-3)
    total, warmup = 8, 3
    if schedule == "warmup":
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / (total - warmup))))
    else:
        scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=total)
    tokens, labels = torch.tensor(data["tokens"]), torch.tensor(data["labels"])
    losses, log = [], []
    for step in range(total):
        model.train()
        xb, yb = tokens[(step % 2) * 8:(step % 2) * 8 + 8], labels[(step % 2) * 8:(step % 2) * 8 + 8]
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(model(xb), yb)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        log.append(f"{step} lr={scheduler.get_last_lr()[0]:.6f}")
    model.eval()
    with torch.no_grad():
        logits = model(tokens)
        acc = (logits.argmax(-1) == labels).float().mean().item()
        losses.append(F.cross_entropy(logits, labels).item())
    log.append(f"acc {acc:.4f}")
    return losses, log, {"model": model.state_dict()}

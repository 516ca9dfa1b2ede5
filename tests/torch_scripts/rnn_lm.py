# A word-level language model as in the official example: Embedding, a 2-layer LSTM (or GRU), a linear
# decoder, batchified data with BPTT windows, the hidden state detached between windows, gradient
# clipping with clip_grad_norm_, a hand-written SGD update and a no_grad evaluation with perplexity.
import math

import torch
import torch.nn as nn


class RNNModel(nn.Module):
    def __init__(self, rnn_type, ntoken, ninp, nhid, nlayers, dropout=0.0):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        self.rnn_type, self.nhid, self.nlayers = rnn_type, nhid, nlayers

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        output = self.drop(output)
        decoded = self.decoder(output).view(-1, self.decoder.out_features)
        return nn.functional.log_softmax(decoded, dim=1), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        if self.rnn_type == "LSTM":
            return (weight.new_zeros(self.nlayers, bsz, self.nhid), weight.new_zeros(self.nlayers, bsz, self.nhid))
        return weight.new_zeros(self.nlayers, bsz, self.nhid)


def build(rnn_type="LSTM"):
    return {"model": RNNModel(rnn_type, 20, 8, 12, 2)}


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    data = data.narrow(0, 0, nbatch * bsz)
    return data.view(bsz, -1).t().contiguous()


def get_batch(source, i, bptt=5):
    seq_len = min(bptt, len(source) - 1 - i)
    return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].reshape(-1)


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def run(init, data, rnn_type="LSTM"):
    model = build(rnn_type)["model"]
    model.load_state_dict({k: torch.tensor(v) for k, v in init["model"].items()})
    criterion = nn.NLLLoss()
    train_data = batchify(torch.tensor(data["tokens"]), 4)
    val_data = batchify(torch.tensor(data["val"]), 2)
    lr, losses, log = 2.0, [], []
    for epoch in range(2):
        model.train()
        hidden = model.init_hidden(4)
        for i in range(0, train_data.size(0) - 1, 5):
            x, targets = get_batch(train_data, i)
            model.zero_grad()
            hidden = repackage_hidden(hidden)
            output, hidden = model(x, hidden)
            loss = criterion(output, targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
            for p in model.parameters():
                p.data.add_(p.grad, alpha=-lr)
            losses.append(loss.item())
        model.eval()
        total, hidden = 0.0, model.init_hidden(2)
        with torch.no_grad():
            for i in range(0, val_data.size(0) - 1, 5):
                x, targets = get_batch(val_data, i)
                output, hidden = model(x, hidden)
                hidden = repackage_hidden(hidden)
                total += len(x) * criterion(output, targets).item()
        val_loss = total / (len(val_data) - 1)
        losses.append(val_loss)
        log.append(f"| end of epoch {epoch} | valid ppl {math.exp(val_loss):8.2f}")
        lr /= 4.0
    return losses, log, {"model": model.state_dict()}

"""PyTorch eager baseline for `deno task bench` (the engines and sequence sections).

MLPs, the engines' workload: 60 inputs, N ReLU layers of width W, one sigmoid
output, BCE, Adam(lr 1e-4), fp32 with TF32 off, a fresh randperm per epoch.

Sequence models, the sequence section's workload (`src/cli/bench.ts`): R
windows of L steps x F fields, a Dense(1) sigmoid head, BCE, Adam(lr 1e-3),
batch B, a fresh randperm per epoch, after a warm-up of two batches:
  lstm, gru: one torch.nn.LSTM / GRU layer of S units, the head on the last
    step's state. PyTorch keeps two bias vectors per layer (b_ih, b_hh) where
    tfjs keeps one (so 4S or 3S parameters more), and its GRU applies the reset
    gate after the recurrent product (tfjs: before); the arithmetic is the same.
  transformer: Dense(F -> S) projection, sinusoidal positions, two post-norm
    encoder blocks (4 heads, feed-forward 2S with ReLU, layer norm eps 1e-3, no
    dropout), mean pooling: the tfjs model's layers and parameter count.

Prints one JSON object per line:
  {"kind": "info", "torch": version, "device": name}
  {"kind": "mlp", "size": W, "layers": N, "rows": R, "batch": B, "seconds": s/epoch}
  {"kind": "sequence", "family": f, "windows": R, "length": L, "fields": F,
   "size": S, "batch": B, "parameters": P, "seconds": s/epoch}
Usage: python3 torch_baseline.py [--threads=N] SIZE:LAYERS:ROWS:BATCH:EPOCHS ...
       python3 torch_baseline.py [--threads=N] seq:FAMILY:ROWS:LENGTH:FIELDS:SIZE:BATCH:EPOCHS ...
(--threads sets torch.set_num_threads before anything runs.)
"""
import json
import math
import sys
import time

import torch

for arg in sys.argv[1:]:
    if arg.startswith("--threads="):
        torch.set_num_threads(int(arg.split("=", 1)[1]))

dev = "cuda" if torch.cuda.is_available() else "cpu"
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
name = torch.cuda.get_device_name(0) if dev == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
print(json.dumps({"kind": "info", "torch": torch.__version__, "device": name}), flush=True)


def sync():
    if dev == "cuda":
        torch.cuda.synchronize()


def seconds_per_epoch(m, opt, lf, x, y, batch, epochs, warmup_batches=None):
    """Mean seconds of `epochs` timed epochs (a fresh randperm each), after a warm-up: one
    whole epoch, or `warmup_batches` batches when given."""
    rows = x.shape[0]

    def step(idx):
        opt.zero_grad()
        loss = lf(m(x[idx]), y[idx])
        loss.backward()
        opt.step()

    def epoch():
        perm = torch.randperm(rows, device=dev)
        for i in range(0, rows, batch):
            step(perm[i:i + batch])

    if warmup_batches is None:
        epoch()
    else:
        for _ in range(warmup_batches):
            step(torch.randperm(rows, device=dev)[:batch])
    sync()
    t = time.time()
    for _ in range(epochs):
        epoch()
    sync()
    return (time.time() - t) / epochs


def mlp(width, layers, rows, batch, epochs):
    torch.manual_seed(0)
    mods = [torch.nn.Linear(60, width), torch.nn.ReLU()]
    for _ in range(layers - 1):
        mods += [torch.nn.Linear(width, width), torch.nn.ReLU()]
    mods += [torch.nn.Linear(width, 1), torch.nn.Sigmoid()]
    m = torch.nn.Sequential(*mods).to(dev)
    opt = torch.optim.Adam(m.parameters(), 1e-4)
    lf = torch.nn.BCELoss()
    x = torch.randn(rows, 60, device=dev)
    y = torch.randint(0, 2, (rows, 1), device=dev).float()
    dt = seconds_per_epoch(m, opt, lf, x, y, batch, epochs)
    print(json.dumps({"kind": "mlp", "size": width, "layers": layers, "rows": rows,
                      "batch": batch, "seconds": dt}), flush=True)


class Recurrent(torch.nn.Module):
    def __init__(self, family, fields, size):
        super().__init__()
        cell = torch.nn.LSTM if family == "lstm" else torch.nn.GRU
        self.rnn = cell(fields, size, batch_first=True)
        self.head = torch.nn.Linear(size, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return torch.sigmoid(self.head(out[:, -1]))


class Transformer(torch.nn.Module):
    def __init__(self, length, fields, size):
        super().__init__()
        self.project = torch.nn.Linear(fields, size)
        pe = torch.zeros(length, size)
        for t in range(length):
            for i in range(size):
                angle = t / 10000 ** ((2 * (i // 2)) / size)
                pe[t, i] = math.sin(angle) if i % 2 == 0 else math.cos(angle)
        self.register_buffer("positions", pe)
        block = dict(d_model=size, nhead=4, dim_feedforward=2 * size, dropout=0.0,
                     activation="relu", layer_norm_eps=1e-3, batch_first=True)
        self.blocks = torch.nn.ModuleList(
            [torch.nn.TransformerEncoderLayer(**block) for _ in range(2)])
        self.head = torch.nn.Linear(size, 1)

    def forward(self, x):
        h = self.project(x) + self.positions
        for b in self.blocks:
            h = b(h)
        return torch.sigmoid(self.head(h.mean(dim=1)))


def sequence(family, rows, length, fields, size, batch, epochs):
    torch.manual_seed(0)
    m = (Transformer(length, fields, size) if family == "transformer"
         else Recurrent(family, fields, size)).to(dev)
    params = sum(p.numel() for p in m.parameters())
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    lf = torch.nn.BCELoss()
    x = torch.randn(rows, length, fields, device=dev)
    y = torch.randint(0, 2, (rows, 1), device=dev).float()
    dt = seconds_per_epoch(m, opt, lf, x, y, batch, epochs, warmup_batches=2)
    print(json.dumps({"kind": "sequence", "family": family, "windows": rows, "length": length,
                      "fields": fields, "size": size, "batch": batch, "parameters": params,
                      "seconds": dt}), flush=True)


for spec in sys.argv[1:]:
    if spec.startswith("--threads="):
        continue
    if spec.startswith("seq:"):
        _, family, *rest = spec.split(":")
        sequence(family, *(int(v) for v in rest))
        continue
    w, n, r, b, e = (int(v) for v in spec.split(":"))
    mlp(w, n, r, b, e)

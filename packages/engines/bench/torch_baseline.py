"""PyTorch eager baseline for `deno task bench` (the engines section).

Same workload as the engines' rows: 60 inputs, N ReLU layers of width W, one
sigmoid output, BCE, Adam(lr 1e-4), fp32 with TF32 off, a fresh randperm per
epoch. Prints one JSON object per line:
  {"kind": "info", "torch": version, "device": name}
  {"kind": "mlp", "size": W, "layers": N, "rows": R, "batch": B, "seconds": s/epoch}
Usage: python3 torch_baseline.py SIZE:LAYERS:ROWS:BATCH:EPOCHS ...
"""
import json
import sys
import time

import torch

dev = "cuda" if torch.cuda.is_available() else "cpu"
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
name = torch.cuda.get_device_name(0) if dev == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
print(json.dumps({"kind": "info", "torch": torch.__version__, "device": name}), flush=True)


def sync():
    if dev == "cuda":
        torch.cuda.synchronize()


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

    def epoch():
        perm = torch.randperm(rows, device=dev)
        for i in range(0, rows, batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss = lf(m(x[idx]), y[idx])
            loss.backward()
            opt.step()

    epoch()
    sync()
    t = time.time()
    for _ in range(epochs):
        epoch()
    sync()
    dt = (time.time() - t) / epochs
    print(json.dumps({"kind": "mlp", "size": width, "layers": layers, "rows": rows,
                      "batch": batch, "seconds": dt}), flush=True)


for spec in sys.argv[1:]:
    w, n, r, b, e = (int(v) for v in spec.split(":"))
    mlp(w, n, r, b, e)

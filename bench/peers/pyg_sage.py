"""PyTorch Geometric peer for bench/ml.ts: SAGEConv on Cora (same split and hyper-parameters as
ml/cora.ts) and the forward-pass time of a 2-layer SAGEConv on the same telemetry graph.
Usage: python pyg_sage.py <cora_dir> <telemetry_graph.json> <seeds> <epochs> <runs>
Prints one JSON object on stdout."""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch_geometric.nn import SAGEConv


def load_cora(d):
    labels = np.loadtxt(f"{d}/labels.txt", dtype=np.int64)
    n = len(labels)
    rows = [line.split() for line in open(f"{d}/features.txt").read().rstrip("\n").split("\n")]
    f = 1 + max(int(w) for r in rows for w in r)
    x = np.zeros((n, f), dtype=np.float32)
    for i, r in enumerate(rows):
        for w in r:
            x[i, int(w)] = 1.0 / len(r)  # row-normalised, as ml/cora.ts and PyG's NormalizeFeatures
    e = np.loadtxt(f"{d}/edges.txt", dtype=np.int64)
    ei = np.concatenate([e, e[:, ::-1]]).T
    split = json.load(open(f"{d}/split.json"))
    return torch.tensor(x), torch.tensor(labels), torch.tensor(ei.copy()), {k: torch.tensor(v) for k, v in split.items()}


class Sage(torch.nn.Module):
    def __init__(self, fin, hid, fout):
        super().__init__()
        self.c1 = SAGEConv(fin, hid, aggr="mean")
        self.c2 = SAGEConv(hid, fout, aggr="mean")

    def forward(self, x, ei, dropout=0.0):
        x = F.dropout(x, dropout, self.training)
        x = F.relu(self.c1(x, ei))
        x = F.dropout(x, dropout, self.training)
        return self.c2(x, ei)


def cora_run(x, y, ei, split, seed, epochs):
    torch.manual_seed(seed)
    m = Sage(x.shape[1], 64, int(y.max()) + 1)
    opt = torch.optim.Adam(m.parameters(), lr=0.01, weight_decay=5e-4)
    best_val, test_at_best = -1.0, 0.0
    t0 = time.perf_counter()
    for _ in range(epochs):
        m.train()
        opt.zero_grad()
        out = m(x, ei, 0.5)
        F.cross_entropy(out[split["train"]], y[split["train"]]).backward()
        opt.step()
        m.eval()
        with torch.no_grad():
            pred = m(x, ei).argmax(1)
        val = (pred[split["val"]] == y[split["val"]]).float().mean().item()
        if val > best_val:
            best_val = val
            test_at_best = (pred[split["test"]] == y[split["test"]]).float().mean().item()
    return {"seed": seed, "test_accuracy": test_at_best, "best_val_accuracy": best_val, "train_ms": (time.perf_counter() - t0) * 1000}


def forward_times(graph_file, runs):
    g = json.load(open(graph_file))
    x = torch.tensor(np.array(g["x"], dtype=np.float32).reshape(g["n"], g["f"]))
    e = np.array(g["edges"], dtype=np.int64).reshape(-1, 2)
    ei = torch.tensor(np.concatenate([e, e[:, ::-1]]).T.copy())
    torch.manual_seed(0)
    m = Sage(g["f"], g["hidden"], g["hidden"]).eval()
    ts = []
    with torch.no_grad():
        for i in range(runs + 5):
            t0 = time.perf_counter()
            m(x, ei)
            if i >= 5:
                ts.append((time.perf_counter() - t0) * 1000)
    ts.sort()
    return {"nodes": g["n"], "p50_ms": ts[len(ts) // 2], "p95_ms": ts[min(len(ts) - 1, int(len(ts) * 0.95))]}


def main():
    cora_dir, graph_file, seeds, epochs, runs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    x, y, ei, split = load_cora(cora_dir)
    cora = [cora_run(x, y, ei, split, s, epochs) for s in range(1, seeds + 1)]
    out = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cora": cora,
        "cora_accuracy_mean": float(np.mean([r["test_accuracy"] for r in cora])),
        "forward": forward_times(graph_file, runs),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()

# PyTorch's side of bench/train-stage.ts: a twin of the demo's `train` stage, trained on the
# features and labels that a `pipeline run` of the demo wrote (read from a `pipeline checkout`
# folder: fixlen/<id>.npy float32 [L, 512] per movie, labels/labels.json, split.json,
# genres.json), with the same training as stages/models/fit.ts:
#
# - bilstm_maxpool (stages/models/bilstm-maxpool.ts): per-frame LayerNorm(512) -> BiLSTM
#   (hidden per direction, `layers` stacked, every step) -> max over time -> dropout -> Linear
#   to the genres; and the mean_mlp baseline (stages/models/mean-mlp.ts): mean over time ->
#   LayerNorm -> Linear(hidden) + relu -> dropout -> Linear; the baseline after the model, as
#   train.baseline does (once only when the model is mean_mlp itself).
# - the loss of stages/nn/losses.ts: bce_pos_count is BCE from the logits, each genre's element
#   weighted by its number of positives in the training split, mean over batch x genres
#   (BCEWithLogitsLoss(weight=counts)); bce is the same unweighted.
# - Adam (betas 0.9/0.999, eps 1e-8), StepLR lr * decay^floor((epoch - 1) / every) set per
#   epoch, ceil(n / batch) steps per epoch over a fresh shuffle of the training split.
# - after every epoch: the validation split in batches of batch_size (loss: mean over movies),
#   mAP and weighted F1 at threshold 0.5 as stages/report/metrics-math.ts computes them
#   (scikit-learn's definitions); the epoch with the best weighted F1 is kept (the first epoch
#   always, a later one only when strictly better; early stop after `patience` epochs without
#   one); a snapshot of the weights when an epoch is kept, and a checkpoint (weights, Adam
#   state, best weights) written to a temporary file and renamed after every epoch but the
#   last, as fit.ts does; at the end the best weights are restored and saved once.
#
# Initialisation follows tfjs (our models), not PyTorch's defaults: LSTM input kernels
# Glorot-normal (tfjs draws it truncated at 2 std, so this does too), recurrent kernels
# orthogonal, biases zero, Linear layers Glorot-uniform with zero bias, LayerNorm ones/zeros.
# PyTorch's LSTM has two biases per gate (b_ih + b_hh) where ours has one: b_hh is kept at
# zero and frozen, so that Adam moves one bias per gate as ours does (two would step twice as
# far). The random draws (initial weights, dropout masks, batch order) are PyTorch's, so the
# results are not ours bit for bit; they should land in the same range.
#
#   python3 bench/train-stage-torch.py --inputs DIR [--threads N] [--epochs 24 --batch-size 8 ...]
#
# Prints one JSON line: total_s (data loading + every fit), load_s, import_s (python, torch and
# torch.optim's first import, not in total_s), per model its fit seconds (build, epochs, checkpoints, final save),
# epoch_s (the sum of per-epoch times measured as fit.ts measures them: steps + validation),
# steps, epochs run, selected epoch, and the val mAP / weighted F1 and test mAP of the selected
# epoch (test scored after the timing: the metrics stage does that in the pipeline); threads,
# torch version.
import time

T_START = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

# The first torch.optim.Adam imports torch._dynamo (about 1 s): library loading, counted in
# import_s with the imports rather than in the first model's fit.
torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))])
IMPORT_S = time.perf_counter() - T_START

p = argparse.ArgumentParser()
p.add_argument("--inputs", required=True, help="a `pipeline checkout` folder holding fixlen/ and labels/")
p.add_argument("--threads", type=int, default=0, help="0: PyTorch's default (one per core)")
# The train.* params; the defaults are conf/default.yaml's.
p.add_argument("--model", default="bilstm_maxpool", choices=["bilstm_maxpool", "mean_mlp"])
p.add_argument("--baseline", type=int, default=1, help="1: also train the mean_mlp baseline (train.baseline)")
p.add_argument("--loss", default="bce_pos_count", choices=["bce", "bce_pos_count"])
p.add_argument("--epochs", type=int, default=24)
p.add_argument("--batch-size", type=int, default=8)
p.add_argument("--lr", type=float, default=0.001)
p.add_argument("--lr-decay-every", type=int, default=150)
p.add_argument("--lr-decay", type=float, default=0.6)
p.add_argument("--patience", type=int, default=160)
p.add_argument("--hidden", type=int, default=128)
p.add_argument("--layers", type=int, default=1)
p.add_argument("--dropout", type=float, default=0.2)
p.add_argument("--seed", type=int, default=0)
p.add_argument("--eval-batch", type=int, default=32, help="metrics.batch_size: movies per batch when scoring test (untimed)")
a = p.parse_args()

if a.threads > 0:
    torch.set_num_threads(a.threads)

THRESHOLD = 0.5  # fit.ts selects at 0.5


# ------------------------------------------------------------------ data

def load(inputs: str):
    t0 = time.perf_counter()
    with open(os.path.join(inputs, "labels", "labels.json")) as f:
        labels = json.load(f)
    with open(os.path.join(inputs, "labels", "split.json")) as f:
        split = json.load(f)
    with open(os.path.join(inputs, "labels", "genres.json")) as f:
        genres = json.load(f)

    def rows(ids):
        # As the train stage: the split's movies in split order, those without features left out.
        xs, ys = [], []
        for i in ids:
            path = os.path.join(inputs, "fixlen", f"{i}.npy")
            if not os.path.exists(path):
                continue
            m = np.load(path)
            if m.dtype != np.float32 or m.ndim != 2:
                raise SystemExit(f"{path}: expected float32 [L,F], found {m.dtype} {m.shape}")
            xs.append(m)
            ys.append(np.asarray(labels[i], dtype=np.float32))
        if not xs:
            return torch.zeros(0), torch.zeros(0, len(genres))
        return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))

    data = {s: rows(split.get(s) or []) for s in ("train", "val", "test")}
    return data, genres, time.perf_counter() - t0


# ------------------------------------------------------------------ metrics (stages/report/metrics-math.ts)

def average_precision(s: np.ndarray, t: np.ndarray):
    """sklearn's average_precision_score: tied scores are one threshold; None without positives."""
    pos = int((t > 0).sum())
    if pos == 0:
        return None
    order = np.argsort(-s, kind="stable")
    ss, tt = s[order], (t[order] > 0).astype(np.float64)
    tp = np.cumsum(tt)
    last = np.r_[ss[1:] != ss[:-1], True]  # a threshold closes after the last of a tied run
    idx = np.nonzero(last)[0]
    precision = tp[idx] / (idx + 1)
    recall = tp[idx] / pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def multilabel(scores: np.ndarray, targets: np.ndarray):
    """mAP over the genres with positives, and F1 at THRESHOLD weighted by support (zero_division 0)."""
    s = scores.astype(np.float64)
    t = targets > 0
    aps, f1w, support_sum = [], 0.0, 0
    for g in range(s.shape[1]):
        pred = s[:, g] >= THRESHOLD
        tp = int((pred & t[:, g]).sum())
        fp = int((pred & ~t[:, g]).sum())
        fn = int((~pred & t[:, g]).sum())
        support = tp + fn
        f1 = 0.0 if 2 * tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)
        f1w += f1 * support
        support_sum += support
        if support > 0:
            aps.append(average_precision(s[:, g], targets[:, g]))
    return (sum(aps) / len(aps) if aps else None), (f1w / support_sum if support_sum else 0.0)


# ------------------------------------------------------------------ models

def glorot_normal_truncated_(w: torch.Tensor) -> None:
    # tfjs glorotNormal: truncated normal (at 2 std) with std sqrt(2 / (fan_in + fan_out)).
    fan_out, fan_in = w.shape  # PyTorch keeps [out, in]; tfjs [in, out]: the same fans
    std = math.sqrt(2.0 / (fan_in + fan_out))
    torch.nn.init.trunc_normal_(w, 0.0, std, -2 * std, 2 * std)


def dense(n_in: int, n_out: int) -> torch.nn.Linear:
    lin = torch.nn.Linear(n_in, n_out)
    torch.nn.init.xavier_uniform_(lin.weight)  # tfjs dense: glorotUniform kernel, zero bias
    torch.nn.init.zeros_(lin.bias)
    return lin


class BiLstmMaxpool(torch.nn.Module):
    def __init__(self, features: int, genres: int) -> None:
        super().__init__()
        self.frame_norm = torch.nn.LayerNorm(features, eps=1e-5)
        self.bilstm = torch.nn.LSTM(features, a.hidden, num_layers=a.layers, batch_first=True, bidirectional=True)
        for name, w in self.bilstm.named_parameters():
            if name.startswith("weight_ih"):
                glorot_normal_truncated_(w.data)
            elif name.startswith("weight_hh"):
                torch.nn.init.orthogonal_(w.data)
            else:
                torch.nn.init.zeros_(w.data)
            if name.startswith("bias_hh"):
                w.requires_grad_(False)  # one bias per gate, as ours (see the top of this file)
        self.dropout = torch.nn.Dropout(a.dropout)
        self.fc = dense(2 * a.hidden, genres)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.bilstm(self.frame_norm(x))
        return self.fc(self.dropout(h.amax(dim=1)))


class MeanMlp(torch.nn.Module):
    def __init__(self, features: int, genres: int) -> None:
        super().__init__()
        self.norm = torch.nn.LayerNorm(features, eps=1e-5)
        self.hidden = dense(features, a.hidden)
        self.dropout = torch.nn.Dropout(a.dropout)
        self.fc = dense(a.hidden, genres)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The mean over all L steps, zero padding included, as globalAveragePooling1d.
        return self.fc(self.dropout(torch.relu(self.hidden(self.norm(x.mean(dim=1))))))


def learning_rate(epoch: int) -> float:
    return a.lr * a.lr_decay ** ((epoch - 1) // a.lr_decay_every)


def fit(name: str, data, genres: int, scratch: str):
    t0 = time.perf_counter()
    x, y = data["train"]
    xv, yv = data["val"]
    n, nv = x.shape[0], xv.shape[0]
    features = x.shape[2]
    # Both models from the same seed, as the train stage builds both with train.seed.
    torch.manual_seed(a.seed)
    model = BiLstmMaxpool(features, genres) if name == "bilstm_maxpool" else MeanMlp(features, genres)
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.Adam(params, lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    # Class weights from the training split only, as makeLossSpec.
    weight = (y > 0.5).sum(dim=0).float() if a.loss == "bce_pos_count" else None
    loss_fn = torch.nn.BCEWithLogitsLoss(weight=weight)
    # The batch order from a generator of its own, as fit.ts's `${seed}:shuffle`.
    shuffle = torch.Generator().manual_seed(a.seed + 1)
    batches = math.ceil(n / a.batch_size)
    ckpt = os.path.join(scratch, f"{name}-checkpoint.pt")
    history, best, best_epoch, best_value, stopped, steps, epoch_s = [], None, 0, None, "max_epochs", 0, 0.0
    for epoch in range(1, a.epochs + 1):
        e0 = time.perf_counter()
        lr = learning_rate(epoch)
        for g in opt.param_groups:
            g["lr"] = lr
        model.train()
        order = torch.randperm(n, generator=shuffle)
        loss_sum = 0.0
        for b in range(batches):
            rows = order[b * a.batch_size:(b + 1) * a.batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[rows]), y[rows])
            loss.backward()
            opt.step()
            v = loss.item()
            if not math.isfinite(v):
                raise SystemExit(f"{name}: training diverged at epoch {epoch}, batch {b + 1} (loss {v})")
            loss_sum += v
            steps += 1
        rec = {"epoch": epoch, "train_loss": loss_sum / batches, "val_loss": None, "val_map": None, "val_weighted_f1": None}
        if nv > 0:
            model.eval()
            probs, vloss = [], 0.0
            with torch.no_grad():
                for i in range(0, nv, a.batch_size):
                    logits = model(xv[i:i + a.batch_size])
                    vloss += loss_fn(logits, yv[i:i + a.batch_size]).item() * logits.shape[0]
                    probs.append(torch.sigmoid(logits))
            m, f1 = multilabel(torch.cat(probs).numpy(), yv.numpy())
            rec.update(val_loss=vloss / nv, val_map=m, val_weighted_f1=f1)
        epoch_s += time.perf_counter() - e0
        history.append(rec)
        value = rec["val_weighted_f1"]
        if nv == 0 or best_epoch == 0 or (value is not None and value > (best_value if best_value is not None else -math.inf)):
            best_epoch, best_value = epoch, value
            best = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if nv > 0 and epoch - best_epoch >= a.patience and epoch < a.epochs:
            stopped = "early_stop"
            break
        if epoch < a.epochs:
            tmp = f"{ckpt}.{os.getpid()}.tmp"
            torch.save({"epoch": epoch, "model": model.state_dict(), "optimizer": opt.state_dict(), "best": best, "history": history}, tmp)
            os.replace(tmp, ckpt)
    model.load_state_dict(best)
    torch.save(model.state_dict(), os.path.join(scratch, f"{name}.pt"))
    seconds = time.perf_counter() - t0

    # Untimed: the selected weights on the test split (the metrics stage's work in the pipeline).
    xt, yt = data["test"]
    test_map = None
    if xt.shape[0] > 0:
        model.eval()
        with torch.no_grad():
            pt = torch.cat([torch.sigmoid(model(xt[i:i + a.eval_batch])) for i in range(0, xt.shape[0], a.eval_batch)])
        test_map, _ = multilabel(pt.numpy(), yt.numpy())
    sel = history[best_epoch - 1]
    return {
        "seconds": seconds,
        "epoch_s": epoch_s,
        "steps": steps,
        "epochs_run": len(history),
        "stopped": stopped,
        "selected_epoch": best_epoch,
        "val_weighted_f1": sel["val_weighted_f1"],
        "val_map": sel["val_map"],
        "test_map": test_map,
        "weights": sum(q.numel() for q in params),
    }


data, genres, load_s = load(a.inputs)
if data["train"][0].shape[0] == 0:
    raise SystemExit(f"{a.inputs}: no training movie has features")
models = {}
with tempfile.TemporaryDirectory(prefix="train-stage-torch-") as scratch:
    models[a.model] = fit(a.model, data, len(genres), scratch)
    if a.baseline and a.model != "mean_mlp":
        models["mean_mlp"] = fit("mean_mlp", data, len(genres), scratch)
total_s = load_s + sum(m["seconds"] for m in models.values())
print(json.dumps({
    "total_s": total_s,
    "load_s": load_s,
    "import_s": IMPORT_S,
    "models": models,
    "epochs": a.epochs,
    "batch_size": a.batch_size,
    "movies": {s: int(data[s][0].shape[0]) for s in data},
    "threads": torch.get_num_threads(),
    "torch": torch.__version__,
}))

# PyTorch's side of bench/rnn-train.ts: the same training step on the same shapes, timed the
# same way, so the two are compared within one run. A BiLSTM (hidden 128) over [T, 512] inputs,
# Dense 21 on the two directions' final states, sigmoid binary cross-entropy, Adam (lr 1e-3).
#
#   python3 bench/rnn-train-torch.py --steps 32 --batch 32 --threads 2 [--min-steps 5 --min-ms 4000]
#
# Prints one JSON line: {"samples_per_sec", "ms_per_step", "measured", "threads", "torch"}.
import argparse
import json
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("--steps", type=int, required=True)
p.add_argument("--batch", type=int, required=True)
p.add_argument("--threads", type=int, default=0, help="0: PyTorch's default (one per core)")
p.add_argument("--features", type=int, default=512)
p.add_argument("--units", type=int, default=128)
p.add_argument("--labels", type=int, default=21)
p.add_argument("--min-steps", type=int, default=5)
p.add_argument("--min-ms", type=float, default=4000)
a = p.parse_args()

if a.threads > 0:
    torch.set_num_threads(a.threads)
torch.manual_seed(1)


class Model(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = torch.nn.LSTM(a.features, a.units, batch_first=True, bidirectional=True)
        self.head = torch.nn.Linear(2 * a.units, a.labels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.rnn(x)
        return self.head(torch.cat([h[0], h[1]], dim=1))


model = Model()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = torch.nn.BCEWithLogitsLoss()
# Uniform in [-1, 1) with about 20% positive labels, as bench/train-steps.ts's randomBatch.
x = torch.rand(a.batch, a.steps, a.features) * 2 - 1
y = (torch.rand(a.batch, a.labels) < 0.2).float()


def step() -> None:
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()


step()  # warm-up, as bench/train-steps.ts's timeSteps does
n = 0
t0 = time.perf_counter()
while n < a.min_steps or (time.perf_counter() - t0) * 1000 < a.min_ms:
    step()
    n += 1
ms = (time.perf_counter() - t0) * 1000 / n
print(json.dumps({"samples_per_sec": a.batch * 1000 / ms, "ms_per_step": ms, "measured": n, "threads": torch.get_num_threads(), "torch": torch.__version__}))

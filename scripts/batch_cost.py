"""Seconds per training batch of a model on random images: what one ``asnn compare`` row costs.

    PYTHONPATH=. python scripts/batch_cost.py --model resnet --shape 3,32,32 --classes 10 --timesteps 4

Random images in [0, 1], encoded as training encodes them, forward + backward + Adam on the
default device; reports the median of ``--batches`` timed batches after one warm-up batch.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from asnn_neuro import encoding as enc
from asnn_neuro.models import build_model
from asnn_neuro.models.config import ModelConfig
from asnn_neuro.neurons.cuba_cpu import fast_cuba
from asnn_neuro.training.config import pick_device


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="lenet")
    p.add_argument("--shape", default="3,32,32")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--encoding", default="hybrid")
    p.add_argument("--neuron", default="asnn")
    p.add_argument("--timesteps", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--batches", type=int, default=5)
    p.add_argument("--device", default="auto")
    a = p.parse_args()
    device = pick_device(a.device)
    shape = tuple(int(v) for v in a.shape.split(","))
    cfg = ModelConfig(a.model, shape, a.classes, a.neuron, a.encoding, a.timesteps)
    with fast_cuba():
        model = build_model(cfg).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        gen = torch.Generator().manual_seed(0)
        times = []
        for i in range(a.batches + 1):
            x = torch.rand(a.batch_size, *shape, generator=gen)
            y = torch.randint(0, a.classes, (a.batch_size,), generator=gen)
            frames = enc.encode(x, a.encoding, a.timesteps).to(device)
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            loss = F.cross_entropy(model(frames), y.to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            if i:
                times.append(time.perf_counter() - t0)
    params = sum(p.numel() for p in model.parameters())
    print(f"{a.model} {a.shape} T={a.timesteps} {a.encoding}/{a.neuron} batch {a.batch_size} on {device} "
          f"({torch.get_num_threads()} threads, {params / 1e6:.2f} M parameters): median "
          f"{statistics.median(times):.3f} s per batch ({min(times):.3f}-{max(times):.3f}, {len(times)} batches)")


if __name__ == "__main__":
    main()

"""Encoding throughput: images/s of every scheme in ``encoding.SCHEMES`` on one batch."""

from __future__ import annotations

import time

import torch

from asnn_neuro import encoding as enc
from asnn_neuro.bench.common import load_avg, spread


def bench_encoding(images: int = 10_000, timesteps: int = 8, repeats: int = 3,
                   shape: tuple[int, int, int] = (3, 32, 32), log=print) -> dict:
    """Median images/s (and spread over ``repeats``) of ``encode`` per scheme, float32 input in [0, 1]."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand((images, *shape), generator=gen)
    t0 = time.perf_counter()
    calibration = enc.TemporalEqCalibration.fit(x, timesteps)
    fit_s = time.perf_counter() - t0
    out: dict = {"images": images, "shape": list(shape), "timesteps": timesteps, "repeats": repeats,
                 "dtype": "float32", "torch_threads": torch.get_num_threads(),
                 "temporal_eq_fit_s": fit_s, "schemes": []}
    for scheme in enc.SCHEMES:
        kwargs = {"calibration": calibration} if scheme == "temporal-eq" else {}
        if scheme == "rate":
            kwargs = {"seed": 0}
        enc.encode(x[:16], scheme, timesteps, **kwargs)  # warm-up
        rates = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            frames = enc.encode(x, scheme, timesteps, **kwargs)
            rates.append(images / (time.perf_counter() - t0))
            del frames
        row = {"scheme": scheme, "images_per_s": spread(rates), "load": load_avg()}
        out["schemes"].append(row)
        log(f"  encode {scheme:16s} {row['images_per_s']['median']:12.0f} images/s")
    return out

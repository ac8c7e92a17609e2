"""Data-parallel training helpers (torchrun + DistributedDataParallel); no-ops in a plain run.

Launch: ``torchrun --nproc_per_node K -m asnn_neuro train ...``. torchrun sets RANK, WORLD_SIZE,
LOCAL_RANK (and MASTER_ADDR/PORT); ``init_from_env`` joins the process group (NCCL when CUDA is
available, else gloo). Each rank then trains on ``shard(order, info)`` of the same seeded
permutation, with the model wrapped by ``wrap`` so gradients are averaged across ranks.

Sharding is strided, as torch's DistributedSampler: rank r takes positions r, r + K, r + 2K, ...
of the permutation (padded by wrap-around to a multiple of K). With a per-rank batch B, step b of
all ranks together then covers exactly positions [b*B*K, (b+1)*B*K) of the permutation: the
global batch a single process with batch B*K would use at step b (batch norm aside: DDP
normalises with each rank's own batch statistics).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from asnn_neuro.errors import InputError


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands; ``enabled`` is False for a plain (single-process) run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""
    enabled: bool = False


def _env_int(name: str, default: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise InputError(f"environment variable {name} is not set (launch with torchrun)")
        return default
    try:
        return int(value)
    except ValueError:
        raise InputError(f"environment variable {name}={value!r} is not an integer") from None


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def init_from_env(backend: str | None = None) -> DistInfo:
    """Join the process group torchrun describes; a plain run (or a world of 1) gets a disabled DistInfo."""
    if not launched_by_torchrun():
        return DistInfo()
    world, rank = _env_int("WORLD_SIZE"), _env_int("RANK")
    local = _env_int("LOCAL_RANK", rank)
    if world < 1 or not 0 <= rank < world or local < 0:
        raise InputError(f"invalid torchrun environment: RANK={rank} WORLD_SIZE={world} LOCAL_RANK={local}")
    if world == 1:
        return DistInfo(local_rank=local)
    backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
    if backend == "nccl":
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistInfo(rank=rank, world_size=world, local_rank=local, backend=backend, enabled=True)


def device_for(info: DistInfo, requested: torch.device) -> torch.device:
    """The device this rank should use: its own GPU (cuda:LOCAL_RANK) when training on CUDA."""
    if info.enabled and requested.type == "cuda":
        return torch.device("cuda", info.local_rank)
    return requested


def wrap(model: torch.nn.Module, info: DistInfo, **ddp_kwargs) -> torch.nn.Module:
    """DistributedDataParallel(model) when enabled, else the model itself.

    Call it after the warm-up forward pass that fixes the SLAYER neurons' shapes. The optimizer
    may take the plain or the wrapped model's parameters: they are the same tensors.
    """
    if not info.enabled:
        return model
    param = next(model.parameters(), None)
    ids = [param.device.index] if param is not None and param.is_cuda else None
    return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids, **ddp_kwargs)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The plain model inside a DDP wrapper (for checkpoints: no 'module.' key prefix)."""
    return model.module if isinstance(model, torch.nn.parallel.DistributedDataParallel) else model


def shard(indices: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """This rank's share of an epoch's permutation: every K-th entry from position ``rank``,
    after padding by wrap-around to a multiple of K (all ranks get the same count)."""
    if not info.enabled or info.world_size == 1:
        return indices
    n, k = len(indices), info.world_size
    if n == 0:
        return indices
    total = -(-n // k) * k
    padded = indices.repeat(-(-total // n))[:total]
    return padded[info.rank::k]


def all_reduce_sum(tensor: torch.Tensor, info: DistInfo) -> torch.Tensor:
    """Sum ``tensor`` over ranks in place (e.g. correct/total counts); returns it."""
    if info.enabled:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def is_main(info: DistInfo) -> bool:
    """True on the rank that writes files and prints (rank 0, or a plain run)."""
    return info.rank == 0


def barrier(info: DistInfo) -> None:
    if info.enabled:
        if info.backend == "nccl":
            dist.barrier(device_ids=[info.local_rank])
        else:
            dist.barrier()


def cleanup(info: DistInfo) -> None:
    """Leave the process group (safe to call twice, or in a plain run)."""
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()

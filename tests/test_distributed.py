"""Data-parallel helpers: sharding, plain-run no-ops, and gradient averaging under torchrun (gloo, CPU)."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from asnn_neuro.training import distributed as dd

SCRIPT = textwrap.dedent('''
    """Train a tiny dense ASNN net for a few SGD steps; under torchrun each rank takes its shard."""
    import sys
    import torch
    import torch.nn.functional as F
    from asnn_neuro.training import distributed as dd
    from asnn_neuro.models.blocks import Readout, dense_block

    out, per_rank_batch, world = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    info = dd.init_from_env()
    torch.manual_seed(0)
    T = 3
    model = torch.nn.Sequential(dense_block("asnn", T, 12, 16, norm=False), Readout(16, 4, T, per_step=True))
    model = model.double()
    with torch.no_grad():
        model(torch.zeros(2, 12, T, dtype=torch.float64))
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(23, 12, T, generator=gen, dtype=torch.float64) * 2
    y = torch.randint(0, 4, (23,), generator=gen)
    order = torch.randperm(23, generator=torch.Generator().manual_seed(2))
    if info.enabled:
        mine, batch = dd.shard(order, info), per_rank_batch
    else:  # the reference: one process, the union batch, the same padded order
        total = -(-23 // world) * world
        mine, batch = order.repeat(2)[:total], per_rank_batch * world
    init = {k: v.detach().clone() for k, v in model.state_dict().items()}
    net = dd.wrap(model, info)
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    for step in range(len(mine) // batch):
        idx = mine[step * batch:(step + 1) * batch]
        loss = F.cross_entropy(net(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    seen = dd.all_reduce_sum(torch.tensor([float(len(mine))]), info)
    torch.save({"params": {k: v.detach() for k, v in dd.unwrap(net).state_dict().items()}, "init": init,
                "seen": float(seen), "main": dd.is_main(info), "backend": info.backend},
               f"{out}/rank{info.rank}.pt" if info.enabled else f"{out}/single.pt")
    dd.barrier(info)
    dd.cleanup(info)
''')


def _info(rank: int, world: int) -> dd.DistInfo:
    return dd.DistInfo(rank=rank, world_size=world, local_rank=rank, backend="gloo", enabled=True)


def test_shards_are_disjoint_equal_and_cover_the_permutation():
    order = torch.randperm(10, generator=torch.Generator().manual_seed(0))
    parts = [dd.shard(order, _info(r, 3)) for r in range(3)]
    assert [len(p) for p in parts] == [4, 4, 4]
    padded = torch.cat([order, order[:2]])  # wrap-around padding to 12
    assert torch.equal(torch.stack(parts, 1).reshape(-1), padded)  # step-wise union == consecutive order
    assert set(torch.cat(parts).tolist()) == set(order.tolist())


def test_shard_pads_tiny_epochs_by_wrap_around():
    order = torch.tensor([7, 3])
    parts = [dd.shard(order, _info(r, 5)).tolist() for r in range(5)]
    assert parts == [[7], [3], [7], [3], [7]]


def test_plain_run_is_a_no_op(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    info = dd.init_from_env()
    assert info == dd.DistInfo() and not info.enabled and dd.is_main(info)
    model = torch.nn.Linear(2, 2)
    assert dd.wrap(model, info) is model and dd.unwrap(model) is model
    order = torch.arange(5)
    assert torch.equal(dd.shard(order, info), order)
    t = torch.ones(2)
    assert dd.all_reduce_sum(t, info) is t and torch.equal(t, torch.ones(2))
    dd.barrier(info)
    dd.cleanup(info)


def test_bad_torchrun_environment_is_an_input_error(monkeypatch):
    from asnn_neuro.errors import InputError

    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(InputError, match="RANK=3"):
        dd.init_from_env()


def test_torchrun_two_ranks_average_gradients_like_one_process_on_union_batches(tmp_path: Path, monkeypatch):
    script = tmp_path / "ddp_script.py"
    script.write_text(SCRIPT)
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
           "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(script), str(tmp_path), "3", "2"]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):  # the reference runs here, as a plain process
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "argv", [str(script), str(tmp_path), "3", "2"])
    runpy.run_path(str(script), run_name="__main__")
    r0, r1, ref = (torch.load(tmp_path / name, weights_only=False) for name in ("rank0.pt", "rank1.pt",
                                                                                "single.pt"))
    assert r0["backend"] == "gloo" and r0["main"] and not r1["main"]
    assert r0["seen"] == r1["seen"] == 24.0  # 23 samples padded to 2 x 12
    for key, value in ref["params"].items():
        assert torch.equal(r0["params"][key], r1["params"][key]), key
        assert torch.allclose(r0["params"][key], value, atol=1e-6, rtol=0), key
    assert any(not torch.allclose(ref["init"][k], v, atol=1e-3) for k, v in ref["params"].items())  # trained

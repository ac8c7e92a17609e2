"""Small NIR graphs written with the nir library itself, for import tests (bad geometry, bombs, names)."""

from __future__ import annotations

from pathlib import Path

import nir
import numpy as np


def lif(n, tau: float = 2e-4, thr: float = 1.0) -> nir.LIF:
    """n: a size or a shape."""
    return nir.LIF(tau=np.full(n, tau), r=np.full(n, tau / 1e-4), v_leak=np.zeros(n), v_threshold=np.full(n, thr),
                   v_reset=np.zeros(n))


def mlp_nir(path: Path, n_in: int = 4, n_out: int = 3, tau: float = 2e-4, seed: int = 0) -> Path:
    """input -> Affine -> LIF -> output."""
    rng = np.random.default_rng(seed)
    nodes = {"input": nir.Input(input_type={"input": np.array([n_in])}),
             "fc": nir.Affine(weight=rng.normal(0, 1, (n_out, n_in)).astype(np.float32),
                              bias=np.zeros(n_out, np.float32)),
             "lif": lif(n_out, tau=tau), "output": nir.Output(output_type={"output": np.array([n_out])})}
    nir.write(str(path), nir.NIRGraph(nodes=nodes, edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")]))
    return Path(path)


def _out(n: int, k: int, s: int, p: int, d: int = 1) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def conv_nir(path: Path, stride: int = 1, dilation: int = 1, padding: int = 1, pool_kernel: int | None = None,
             pool_stride: int | None = None) -> Path:
    """input 1x6x6 -> Conv2d(2 channels, 3x3) -> LIF [-> SumPool2d] -> Flatten -> Affine -> LIF -> output.
    The geometry is written as given, and every later node is sized as the geometry says (as the nir
    library's own type inference computes it), so the file is consistent even where it is nonsense."""
    rng = np.random.default_rng(0)
    conv = nir.Conv2d(input_shape=np.array([6, 6]), weight=rng.normal(0, 1, (2, 1, 3, 3)).astype(np.float32),
                      stride=np.array([stride, stride]), padding=np.array([padding, padding]),
                      dilation=np.array([dilation, dilation]), groups=1, bias=np.zeros(2, np.float32))
    s = _out(6, 3, stride, padding, dilation)
    nodes = {"input": nir.Input(input_type={"input": np.array([1, 6, 6])}), "conv": conv, "lif1": lif((2, s, s))}
    edges = [("input", "conv"), ("conv", "lif1")]
    last, shape = "lif1", [2, s, s]
    if pool_kernel is not None:
        ps = pool_stride if pool_stride is not None else pool_kernel
        nodes["pool"] = nir.SumPool2d(kernel_size=np.array([pool_kernel] * 2), stride=np.array([ps] * 2),
                                      padding=np.array([0, 0]))
        edges.append((last, "pool"))
        q = _out(s, pool_kernel, ps, 0) if ps > 0 else s
        last, shape = "pool", [2, q, q]
    size = int(np.prod(shape))
    nodes["flat"] = nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0)
    nodes["fc"] = nir.Affine(weight=rng.normal(0, 1, (3, size)).astype(np.float32), bias=np.zeros(3, np.float32))
    nodes["lif2"] = lif(3)
    nodes["output"] = nir.Output(output_type={"output": np.array([3])})
    edges += [(last, "flat"), ("flat", "fc"), ("fc", "lif2"), ("lif2", "output")]
    nir.write(str(path), nir.NIRGraph(nodes=nodes, edges=edges, type_check=False))
    return Path(path)


def patch(path: Path, **datasets) -> Path:
    """Overwrite datasets of a written NIR file, e.g. patch(p, **{"conv/stride": [0, 0]}) (node/attribute),
    as a hand-made or corrupted file would hold them."""
    import h5py

    with h5py.File(path, "r+") as f:
        for key, value in datasets.items():
            full = f"node/nodes/{key}"
            del f[full]
            f.create_dataset(full, data=np.asarray(value))
    return Path(path)


def delay_nir(path: Path, delay: float, n_in: int = 4, n1: int = 5, n2: int = 3) -> Path:
    """input -> fc1 -> lif1 -> Delay(``delay`` seconds) -> fc2 -> lif2 -> output."""
    rng = np.random.default_rng(1)
    nodes = {"input": nir.Input(input_type={"input": np.array([n_in])}),
             "fc1": nir.Linear(weight=rng.normal(0, 1, (n1, n_in)).astype(np.float32)), "lif1": lif(n1),
             "d": nir.Delay(delay=np.full(n1, delay)),
             "fc2": nir.Linear(weight=rng.normal(0, 1, (n2, n1)).astype(np.float32)), "lif2": lif(n2),
             "output": nir.Output(output_type={"output": np.array([n2])})}
    edges = [("input", "fc1"), ("fc1", "lif1"), ("lif1", "d"), ("d", "fc2"), ("fc2", "lif2"), ("lif2", "output")]
    nir.write(str(path), nir.NIRGraph(nodes=nodes, edges=edges))
    return Path(path)

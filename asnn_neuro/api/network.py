"""A deployable network in Python: ``load``, ``import_nir``, ``train`` and ``Network.simulate``.

A ``Network`` is a name the toolchain knows (an export folder ``WORKDIR/NAME/``, or a NetX
file); its stages run on demand and write what the CLI writes (runs in ``SIMDIR/RUN/``), so
a notebook and ``asnn`` see the same files. Inputs are arrays shaped (samples, steps,
*input shape) in torch order (C, H, W) -- or (samples, steps, neurons) -- or a data set name.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from asnn_neuro.api.run import Run
from asnn_neuro.errors import InputError

WORKDIR = "netx_exports"
SIMDIR = "sims"


@dataclass
class Network:
    """A network the toolchain can run: ``ref`` is an export name in ``workdir`` or a NetX file.

    ``chip``: it has a fixed-point chip network (network.net); ``float_graph``: it has an
    imported NIR graph's float graph (float.npz: the source library's own simulation);
    ``info``: import.json / export.json / train.json of an export, merged (empty for a file).
    """

    ref: str
    workdir: str = WORKDIR
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return Path(self.ref).stem if self.ref.endswith(".net") else self.ref

    @property
    def folder(self) -> Path | None:
        d = Path(self.workdir) / self.ref
        return d if d.is_dir() else None

    @property
    def chip(self) -> bool:
        return self.folder is None or (self.folder / "network.net").is_file()

    @property
    def float_graph(self) -> bool:
        return self.folder is not None and (self.folder / "float.npz").is_file()

    @property
    def ir(self):
        """The chip network (``asnn_neuro.ir.Network``) as the backends run it."""
        from asnn_neuro.evaluate.inputs import resolve_net

        return resolve_net(self.ref, self.workdir).net

    def simulate(self, x: Any = "mnist5k", labels: Any = None, *, backend: str = "executor",
                 precision: str = "fixed", samples: int | None = None, name: str | None = None,
                 simdir: str = SIMDIR, progress: bool = False, stream: str | None = None) -> Run:
        """Run ``x`` on ``backend`` (``executor`` | ``lava`` | ``loihi``) in ``precision``
        (``fixed`` | ``float``) and write the run folder ``simdir/NAME/``.

        ``x``: input frames (samples, steps, *input shape) or (samples, steps, neurons): 0/1 spikes,
        else graded values (integers on the chip path; currents for a float graph); or a data set
        name (``mnist5k``, ``digits``, ``mnist:DIR`` ...) for a network trained here, with
        ``samples`` test images (default 100). ``labels`` (samples,) give the accuracy.
        Float precision on the executor runs the imported float graph or the trained model.
        ``stream``: how samples follow each other on the chip path, ``reset`` | ``fill`` |
        ``continuous`` (default: continuous for a NetX file we did not write, else reset;
        docs/stream_modes.md).
        """
        from asnn_neuro.evaluate.simulate import canonical_backend

        backend = canonical_backend(backend)
        run_name = name or f"{self.name}-{backend}-{precision}"
        if isinstance(x, str):
            from asnn_neuro.evaluate.simulate import run_simulation

            with self._slayer():
                return Run(run_simulation(self.ref, dataset=x, samples=samples or 100, backend=backend,
                                          precision=precision, name=run_name, workdir=self.workdir, simdir=simdir,
                                          progress=progress, stream=stream))
        labels = None if labels is None else np.asarray(labels).reshape(-1)
        if backend == "executor" and precision == "float" and self.float_graph:
            return self._simulate_float(x, labels, samples, run_name, simdir)
        return self._simulate_chip(x, labels, samples, backend, precision, run_name, simdir, progress, stream)

    def _simulate_float(self, x: Any, labels: np.ndarray | None, samples: int | None, run_name: str,
                        simdir: str) -> Run:
        from asnn_neuro.deploy.nir.read import load_float
        from asnn_neuro.evaluate.inputs import array_frames
        from asnn_neuro.evaluate.simulate_float import simulate_float

        fg = load_float(self.folder / "float.npz")
        spikes, graded = array_frames(tuple(fg.input_shape), x, "x", integer=False)
        frames = spikes if spikes is not None else graded
        n = _samples(frames.shape[0], samples, labels)
        return Run(simulate_float(self.ref, dataset="", samples=n, name=run_name, input_file=None, encoding=None,
                                  timesteps=None, workdir=self.workdir, simdir=simdir, frames=frames[:n],
                                  labels=None if labels is None else labels[:n]))

    def _simulate_chip(self, x: Any, labels: np.ndarray | None, samples: int | None, backend: str,
                       precision: str, run_name: str, simdir: str, progress: bool, stream: str | None) -> Run:
        from asnn_neuro.evaluate.inputs import array_frames, resolve_net
        from asnn_neuro.evaluate.simulate import checked_frames, run_frames, validate
        from asnn_neuro.util.names import check_name

        check_name(run_name, "name")
        rnet = resolve_net(self.ref, self.workdir)
        spikes, graded = array_frames(tuple(rnet.net.input.shape), x, "x")
        n = _samples((spikes if spikes is not None else graded).shape[0], samples, labels)
        validate(backend, precision, n)
        spikes, graded = checked_frames(rnet, spikes, graded, "x", n)
        with self._slayer():
            record = run_frames(rnet, spikes, graded, Path(simdir) / run_name, backend=backend, precision=precision,
                                labels=None if labels is None else labels[:n], progress=progress, stream=stream)
        return Run(record)

    def _slayer(self) -> contextlib.AbstractContextManager:
        """lava-dl's fast CPU CUBA path around runs of a model trained here (its float reference)."""
        if self.folder is None or not (self.folder / "checkpoint.pt").is_file():
            return contextlib.nullcontext()
        from asnn_neuro.neurons.cuba_cpu import fast_cuba

        return fast_cuba()

    def fit(self, chip: str = "loihi2", tiling: str = "fewest") -> dict:
        """Cores and chips the network takes on Loihi (fit.json's content; docs/loihi_fit.md)."""
        from asnn_neuro.fit.run import fit_network

        return fit_network(self.ir, chip, tiling)


def _samples(available: int, samples: int | None, labels: np.ndarray | None) -> int:
    n = available if samples is None else min(samples, available)
    if labels is not None and len(labels) < n:
        raise InputError(f"labels: {len(labels)} labels for {n} samples")
    return n


def _info(folder: Path) -> dict[str, Any]:
    info: dict[str, Any] = {}
    for name in ("train.json", "export.json", "import.json"):
        if (folder / name).is_file():
            info.update(json.loads((folder / name).read_text()))
    return info


def load(net: Any, *, workdir: str = WORKDIR, name: str | None = None, source: str = "nir",
         timesteps: int = 10) -> Network:
    """A ``Network`` from an export name, a NetX file (.net), a NIR file (.nir) or a
    ``nir.NIRGraph`` object (imported first as ``name``, with ``source``'s conventions)."""
    if not isinstance(net, (str, Path)) or str(net).endswith(".nir"):
        return import_nir(net, name=name, source=source, timesteps=timesteps, workdir=workdir)
    ref = str(net)
    if (Path(workdir) / ref).is_dir() and "/" not in ref:
        return Network(ref, workdir, _info(Path(workdir) / ref))
    if Path(ref).is_file():
        return Network(ref, workdir)
    raise InputError(f"{ref}: no export of that name in {workdir}/ and no such file")


def import_nir(graph: Any, name: str | None = None, *, source: str = "nir", dt: float | None = None,
               timesteps: int = 10, weight_bits: int = 8, max_clip: float = 1e-3, workdir: str = WORKDIR,
               fix_norse_tau: bool = False) -> Network:
    """Import a NIR graph -- a .nir file or a ``nir.NIRGraph`` object, e.g. straight from
    ``snntorch.export_to_nir`` -- with ``source``'s conventions (``nir``, ``snntorch``,
    ``sinabs``, ``spikingjelly``, ``norse``, ``rockpool``; docs/nir.md) into ``workdir/NAME/`` (float graph,
    and the chip network unless the chip path refuses it, then ``info["chip_refused"]`` says why);
    ``dt`` (s) overrides the source's step, ``weight_bits`` / ``max_clip`` as for ``asnn export``;
    ``fix_norse_tau`` reads time constants as Norse 1.1.0 writes them (dt * tau)."""
    from asnn_neuro.deploy.nir.importer import import_nir as run_import

    if name is None:
        if not isinstance(graph, (str, Path)):
            raise InputError("import_nir: give name= for an in-memory NIR graph")
        name = Path(graph).stem
    info = run_import(graph, name, source=source, dt=dt, timesteps=timesteps, weight_bits=weight_bits,
                      max_clip=max_clip, workdir=workdir, fix_norse_tau=fix_norse_tau)
    return Network(name, workdir, info)


def train(name: str, *, dataset: str = "mnist5k", model: str = "lenet", encoding: str = "hybrid",
          neuron: str = "asnn", timesteps: int = 4, epochs: int = 15, seed: int = 0, export: bool = True,
          workdir: str = WORKDIR, progress: bool = False, **options: Any) -> Network:
    """Train a SLAYER model (``asnn train``'s options; more ``TrainConfig`` fields as keywords)
    into ``workdir/NAME/`` and, with ``export``, fold, quantise and write its NetX file."""
    from asnn_neuro.training import TrainConfig
    from asnn_neuro.training import train as run_train

    t0 = time.perf_counter()
    cfg = TrainConfig(dataset=dataset, model=model, encoding=encoding, neuron=neuron, timesteps=timesteps,
                      epochs=epochs, seed=seed, name=name, workdir=workdir, **options)
    info = {"training": run_train(cfg, show_progress=progress)}
    if export:
        from asnn_neuro.evaluate.quantization import export_and_report

        info["export"] = export_and_report(name, workdir=workdir, progress=progress)
    info["seconds"] = time.perf_counter() - t0
    return Network(name, workdir, info)

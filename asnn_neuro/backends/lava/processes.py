"""Lava Processes that the stock library lacks, with CPU ProcessModels.

- ``AdaptiveNeuron``: the ASNN neuron (per-step leak and gain schedules, soft
  reset, two input paths for hybrid coding, optional non-spiking readout),
  with a bit-accurate fixed-point model and a floating-point model.
- ``FrameSource``: streams pre-encoded input frames (binary or graded) from
  a memory-mapped ``.npy`` file, one frame per time step.
- ``SpikeProbe``: counts (and optionally records) what a layer emits, aligned
  to samples by the layer's pipeline depth, and writes the result to ``.npz``
  when the last sample has passed. Files are used instead of ``Var.get``
  because Lava ships Var contents element by element.

Pipeline timing: a layer at depth ``d`` (synapse + neuron adds one step each
layer) processes step ``t`` of sample ``k`` at Lava time step
``k * period + t + d + 1``. When a process starts from rest, and whether it runs
before the sample reaches it, is the stream mode's (``backends.stream.Clock``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from asnn_neuro.backends.stream import Clock
from asnn_neuro.chip import fixed_point as fx
from asnn_neuro.chip.neurons import registry
from asnn_neuro.chip.neurons.base import Drive, PortDrive
from asnn_neuro.util.threads import one_thread_in_worker


class AdaptiveNeuron(AbstractProcess):
    """ASNN neuron: u = lam[t] u + g[t] (sum over paths of I_p), s = u >= 1, soft reset.

    Parameters (all integers in the fixed-point convention of ``fixed_point``):
    shape: neuron shape (WHC for conv layers, (n,) for dense).
    leak, gain: int arrays (period,) -- lam[t] and g[t] times 4096.
    spike_bias, graded_bias: per-neuron folded biases of the two input paths.
    spike_shift, graded_shift: right shifts turning (accum + bias) * gain into state units.
    spike_mask, graded_mask: (period,) 0/1 -- at which steps each path (and its bias) is live.
    period: time steps per sample (the schedules' length); clock: the layer's place in the stream.
    readout: if True the neuron never spikes and sends its state as a graded value.
    threshold, reset: firing threshold and what a spike subtracts (default: the threshold), state units.
    """

    def __init__(
        self,
        *,
        shape: tuple[int, ...],
        leak: np.ndarray,
        gain: np.ndarray,
        spike_bias: np.ndarray,
        graded_bias: np.ndarray,
        spike_shift: int,
        graded_shift: int,
        spike_mask: np.ndarray,
        graded_mask: np.ndarray,
        period: int,
        clock: Clock,
        readout: bool = False,
        threshold: int = fx.STATE_ONE,
        reset: int | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(
            shape=shape,
            period=period,
            clock=clock,
            readout=readout,
            spike_shift=spike_shift,
            graded_shift=graded_shift,
            threshold=threshold,
            reset=threshold if reset is None else int(reset),
            name=name,
        )
        self.a_in = InPort(shape=shape)
        self.a_graded = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.u = Var(shape=shape, init=0)
        self.leak = Var(shape=(period,), init=np.asarray(leak))
        self.gain = Var(shape=(period,), init=np.asarray(gain))
        self.spike_bias = Var(shape=shape, init=np.broadcast_to(spike_bias, shape).copy())
        self.graded_bias = Var(shape=shape, init=np.broadcast_to(graded_bias, shape).copy())
        self.spike_mask = Var(shape=(period,), init=np.asarray(spike_mask))
        self.graded_mask = Var(shape=(period,), init=np.asarray(graded_mask))


class _AdaptiveNeuronBase(PyLoihiProcessModel):
    a_in: PyInPort
    a_graded: PyInPort
    s_out: PyOutPort

    def _inputs(self) -> tuple[int, np.ndarray, np.ndarray] | None:
        """(step in the schedule, spike-port input, graded-port input), None while idle; the
        state is set to rest when the clock says so."""
        a_spk = self.a_in.recv()
        a_grd = self.a_graded.recv()
        p = self.proc_params
        _, t, runs, fresh = p["clock"].at(self.time_step)
        if not runs:
            return None
        if fresh:
            self.u[...] = 0
        return t % p["period"], a_spk, a_grd


@implements(proc=AdaptiveNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyAdaptiveNeuronFixed(_AdaptiveNeuronBase):
    """Bit-accurate model: the arithmetic of ``fixed_point.asnn_*``."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    a_graded: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    u: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    leak: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=13)
    gain: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=16)
    spike_bias: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    graded_bias: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    spike_mask: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=1)
    graded_mask: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=1)

    def run_spk(self) -> None:
        got = self._inputs()
        if got is None:
            self.s_out.send(np.zeros(self.s_out.shape, dtype=np.int32))
            return
        t, a_spk, a_grd = got
        p = self.proc_params
        gain = int(self.gain[t])
        current = np.zeros(self.u.shape, dtype=np.int64)
        if self.spike_mask[t]:
            current += fx.asnn_input(a_spk.astype(np.int64), self.spike_bias, gain, p["spike_shift"])
        if self.graded_mask[t]:
            current += fx.asnn_input(a_grd.astype(np.int64), self.graded_bias, gain, p["graded_shift"])
        u = fx.asnn_update(self.u.astype(np.int64), current, int(self.leak[t]))
        if p["readout"]:
            self.u[...] = u
            self.s_out.send(u.astype(np.int32))
            return
        spikes, u = fx.asnn_fire(u, p["threshold"], p["reset"])
        self.u[...] = u
        self.s_out.send(spikes.astype(np.int32))


@implements(proc=AdaptiveNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyAdaptiveNeuronFloat(_AdaptiveNeuronBase):
    """Floating-point model: the same equations without rounding or saturation."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    a_graded: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)
    u: np.ndarray = LavaPyType(np.ndarray, float)
    leak: np.ndarray = LavaPyType(np.ndarray, float)
    gain: np.ndarray = LavaPyType(np.ndarray, float)
    spike_bias: np.ndarray = LavaPyType(np.ndarray, float)
    graded_bias: np.ndarray = LavaPyType(np.ndarray, float)
    spike_mask: np.ndarray = LavaPyType(np.ndarray, float)
    graded_mask: np.ndarray = LavaPyType(np.ndarray, float)

    def run_spk(self) -> None:
        got = self._inputs()
        if got is None:
            self.s_out.send(np.zeros(self.s_out.shape))
            return
        t, a_spk, a_grd = got
        p = self.proc_params
        gain = self.gain[t] / fx.DECAY_ONE
        current = np.zeros(self.u.shape)
        if self.spike_mask[t]:
            current += (a_spk + self.spike_bias) * gain * 2.0 ** (-p["spike_shift"] + fx.DECAY_BITS)
        if self.graded_mask[t]:
            current += (a_grd + self.graded_bias) * gain * 2.0 ** (-p["graded_shift"] + fx.DECAY_BITS)
        u = self.leak[t] / fx.DECAY_ONE * self.u + current / fx.STATE_ONE
        if p["readout"]:
            self.u[...] = u
            self.s_out.send(u * fx.STATE_ONE)
            return
        spikes = u >= p["threshold"] / fx.STATE_ONE
        self.u[...] = u - spikes * (p["reset"] / fx.STATE_ONE)
        self.s_out.send(spikes.astype(float))


class KindNeuron(AbstractProcess):
    """Any registered neuron kind (``chip.neurons``): each step runs the kind's own ``step`` on
    what its ports received, so its integers are the executor's; starts from the kind's ``init``
    when its clock says so (every sample in ``reset`` and ``fill``, once in ``continuous``).

    params: the kind's parameter dataclass; bias, shift, mask: per port ('spike', 'graded',
    'imag') its paths' summed bias (Lava layout), shared shift and per-step mask (or None);
    graded: the layer sends values (24-bit messages) rather than 0/1 spikes."""

    def __init__(self, *, shape: tuple[int, ...], params, bias: dict[str, np.ndarray], shift: dict[str, int],
                 mask: dict[str, tuple[int, ...] | None], clock: Clock, name: str | None = None) -> None:
        super().__init__(shape=shape, params=params, bias=bias, shift=shift, mask=mask, clock=clock, name=name)
        self.a_in = InPort(shape=shape)
        self.a_graded = InPort(shape=shape)
        self.a_imag = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)


@implements(proc=KindNeuron, protocol=LoihiProtocol)
@requires(CPU)
class PyKindNeuron(PyLoihiProcessModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    a_graded: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    a_imag: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self._kind = registry.of(proc_params["params"])
        self._state = None

    def run_spk(self) -> None:
        received = {"spike": self.a_in.recv(), "graded": self.a_graded.recv(), "imag": self.a_imag.recv()}
        p = self.proc_params
        _, t, runs, fresh = p["clock"].at(self.time_step)
        if not runs:
            self.s_out.send(np.zeros(self.s_out.shape, dtype=np.int32))
            return
        shape = tuple(self.s_out.shape)
        like = np.zeros(0, dtype=np.int64)
        if fresh:
            self._state = self._kind.init(p["params"], shape, like)
        ports = {name: PortDrive(received[name].astype(np.int64), p["bias"][name], p["shift"][name], p["mask"][name])
                 for name in p["bias"]}
        out, self._state = self._kind.step(p["params"], self._state, Drive(t, ports, shape, like))
        self.s_out.send(np.asarray(out).astype(np.int32))


class IntegerConv(AbstractProcess):
    """A convolution synapse computed with ``fixed_point``: transposed (NetX ``convT`` /
    ``unpool``, which Lava lacks; ``fixed_point.conv_transpose``, weight in torch's (C_in,
    C_out / groups, kH, kW)) or forward for inputs wider than Lava's CPU Conv model handles (it
    sizes its output coordinates in int8: PilotNet's 200-wide frames; ``fixed_point.conv2d``,
    weight in torch's (C_out, C_in / groups, kH, kW)). One step of latency like Lava's Conv;
    shapes are Lava's (x, y, z)."""

    def __init__(self, *, in_shape: tuple[int, ...], out_shape: tuple[int, ...], weight: np.ndarray,
                 stride: tuple[int, int], padding: tuple[int, int], dilation: tuple[int, int], groups: int,
                 transposed: bool, name: str | None = None) -> None:
        super().__init__(in_shape=in_shape, out_shape=out_shape, weight=np.asarray(weight, dtype=np.int64),
                         stride=tuple(stride), padding=tuple(padding), dilation=tuple(dilation), groups=int(groups),
                         transposed=bool(transposed), name=name)
        self.s_in = InPort(shape=in_shape)
        self.a_out = OutPort(shape=out_shape)


@implements(proc=IntegerConv, protocol=LoihiProtocol)
@requires(CPU)
class PyIntegerConv(PyLoihiProcessModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        one_thread_in_worker()
        self._buf = np.zeros(proc_params["out_shape"], dtype=np.int32)

    def run_spk(self) -> None:
        self.a_out.send(self._buf)
        p = self.proc_params
        x = np.asarray(self.s_in.recv(), dtype=np.int64).transpose(2, 1, 0)  # (x, y, z) -> (C, H, W)
        geometry = (p["weight"], p["stride"], p["padding"], p["dilation"], p["groups"])
        if p["transposed"]:
            out = fx.conv_transpose(x, *geometry, (p["out_shape"][1], p["out_shape"][0]))
        else:
            out = fx.conv2d(x, *geometry)
        self._buf = out.transpose(2, 1, 0).astype(np.int32)


class SynapticDelay(AbstractProcess):
    """Delays each neuron's synaptic input by ``delay`` steps (NetX ``delay``, as lava-dl's
    ``DelayDense`` does), with no step of its own; the line empties when its neuron starts from rest."""

    def __init__(self, *, shape: tuple[int, ...], delay: np.ndarray, clock: Clock,
                 name: str | None = None) -> None:
        super().__init__(shape=shape, clock=clock, name=name)
        self.a_in = InPort(shape=shape)
        self.a_out = OutPort(shape=shape)
        self.delay = Var(shape=shape, init=np.asarray(delay, dtype=np.int64))
        self.ring = Var(shape=(int(np.max(delay)) + 1, *shape), init=0)


@implements(proc=SynapticDelay, protocol=LoihiProtocol)
@requires(CPU)
class PySynapticDelay(PyLoihiProcessModel):
    """The delay line of ``fixed_point.delay_push_select`` (exact in both precisions)."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)
    delay: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=6)
    ring: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)

    def run_spk(self) -> None:
        a = self.a_in.recv().astype(np.int64)
        p = self.proc_params
        _, _, runs, fresh = p["clock"].at(self.time_step)
        if not runs:
            self.a_out.send(np.zeros(self.a_out.shape, dtype=np.int32))
            return
        if fresh:
            self.ring[...] = 0
        # the ring's slots only need consecutive step numbers (a sample's own t restarts in continuous)
        self.a_out.send(fx.delay_push_select(self.ring, self.time_step, a, self.delay).astype(np.int32))


class SampleGate(AbstractProcess):
    """Passes its input on, except when its layer starts from rest (and while it idles), where it
    sends zeros: a recurrent path then cannot carry the last spikes of one sample into the next,
    nor (``fill``) a synapse the steps of the previous sample, as the executor (which runs samples
    independently) does not."""

    def __init__(self, *, shape: tuple[int, ...], clock: Clock, name: str | None = None) -> None:
        super().__init__(shape=shape, clock=clock, name=name)
        self.a_in = InPort(shape=shape)
        self.a_out = OutPort(shape=shape)


@implements(proc=SampleGate, protocol=LoihiProtocol)
@requires(CPU)
class PySampleGate(PyLoihiProcessModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def run_spk(self) -> None:
        a = self.a_in.recv()
        p = self.proc_params
        _, _, runs, fresh = p["clock"].at(self.time_step)
        self.a_out.send(np.zeros(self.a_out.shape, dtype=np.int32) if fresh or not runs else a.astype(np.int32))


class FrameSource(AbstractProcess):
    """Sends frame ``time_step - 1`` of a (steps, *shape) ``.npy`` file each step, zeros after."""

    def __init__(self, *, shape: tuple[int, ...], frames_path: str, name: str | None = None) -> None:
        super().__init__(shape=shape, frames_path=frames_path, name=name)
        self.s_out = OutPort(shape=shape)


@implements(proc=FrameSource, protocol=LoihiProtocol)
@requires(CPU)
class PyFrameSource(PyLoihiProcessModel):
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self._frames = np.load(proc_params["frames_path"], mmap_mode="r")

    def run_spk(self) -> None:
        i = self.time_step - 1
        if i < len(self._frames):
            self.s_out.send(np.asarray(self._frames[i], dtype=np.int32))
        else:
            self.s_out.send(np.zeros(self.s_out.shape, dtype=np.int32))


class SpikeProbe(AbstractProcess):
    """Counts what a layer sends for ``samples`` samples and saves it to ``out_path`` (.npz).

    Only the sample's own steps count (``clock.steps`` per sample; not a pipeline fill's).
    Saved arrays: ``per_neuron`` (neurons,) total events, ``per_step`` (steps,) events
    summed over neurons and samples, ``per_sample`` (samples,) events per sample;
    with ``record=k > 0`` also ``trace`` (k, steps, neurons) of the values sent by the
    first k samples (uint8 spikes, or int32 states of a readout layer with ``graded=True``).
    """

    def __init__(
        self,
        *,
        shape: tuple[int, ...],
        clock: Clock,
        samples: int,
        out_path: str,
        record: int = 0,
        graded: bool = False,
        name: str | None = None,
    ) -> None:
        super().__init__(
            shape=shape, clock=clock, samples=samples,
            out_path=out_path, record=int(record), graded=graded, name=name,
        )
        self.a_in = InPort(shape=shape)


@implements(proc=SpikeProbe, protocol=LoihiProtocol)
@requires(CPU)
class PySpikeProbe(PyLoihiProcessModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        p = proc_params
        n = int(np.prod(p["shape"]))
        self._per_neuron = np.zeros(n, dtype=np.int64)
        self._per_step = np.zeros(p["clock"].steps, dtype=np.int64)
        self._per_sample = np.zeros(p["samples"], dtype=np.int64)
        self._trace = None
        if p["record"]:
            dtype = np.int32 if p["graded"] else np.uint8
            self._trace = np.zeros((min(p["record"], p["samples"]), p["clock"].steps, n), dtype=dtype)

    def run_spk(self) -> None:
        data = self.a_in.recv()
        p = self.proc_params
        k, t, _, _ = p["clock"].at(self.time_step)
        steps = p["clock"].steps
        if k < 0 or k >= p["samples"] or not 0 <= t < steps:
            return
        # Lava arrays are WHC; store CHW-flattened so that indices match torch layout.
        flat = np.asarray(data).transpose(tuple(range(data.ndim))[::-1]).reshape(-1).astype(np.int64)
        events = flat != 0  # a spike, or a graded message
        self._per_neuron += events
        total = int(events.sum())
        self._per_step[t] += total
        self._per_sample[k] += total
        if self._trace is not None and k < len(self._trace):
            self._trace[k, t] = flat
        if k == p["samples"] - 1 and t == steps - 1:
            self._save(p["out_path"])

    def _save(self, path: str) -> None:
        arrays = {
            "per_neuron": self._per_neuron,
            "per_step": self._per_step,
            "per_sample": self._per_sample,
        }
        if self._trace is not None:
            arrays["trace"] = self._trace
        tmp = f"{path}.tmp.npz"
        np.savez(tmp, **arrays)
        os.replace(tmp, path)


def probe_result(path: str | Path) -> dict[str, np.ndarray]:
    """Load what a SpikeProbe saved."""
    with np.load(path) as data:
        return {key: data[key] for key in data.files}

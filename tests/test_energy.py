"""Energy stage: exact synop counts against brute force, profiles, and KerasSpiking's Loihi formula."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from asnn_neuro import ir
from asnn_neuro.energy import estimate_from, write_energy
from asnn_neuro.energy.fanout import ann_macs, fanout, layer_counts, synops
from asnn_neuro.energy.profiles import load_profiles
from asnn_neuro.errors import InputError

RNG = np.random.default_rng(0)
CUBA = ir.CubaNeuron(i_decay=4096, v_decay=4096, vth_mant=80)


def out_size(n: int, k: int, s: int, p: int, d: int) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def conv_path(c_in, c_out, k, s=1, p=0, d=1, groups=1) -> ir.Path:
    w = RNG.integers(-128, 128, size=(c_out, c_in // groups, k, k))
    return ir.Path(source=0, kind="conv", weight=w, kernel=(k, k), stride=(s, s), padding=(p, p),
                   dilation=(d, d), groups=groups)


def brute_conv_synops(counts: np.ndarray, path: ir.Path, out_hw: tuple[int, int]) -> int:
    """Loop over every output neuron and every weight; add the input it reads if in bounds."""
    c_out, cin_g, kh, kw = path.weight.shape
    c_in, h, w = counts.shape
    per_group_out = c_out // path.groups
    total = 0
    for co in range(c_out):
        g = co // per_group_out
        for oy in range(out_hw[0]):
            for ox in range(out_hw[1]):
                for cl in range(cin_g):
                    for ky in range(kh):
                        for kx in range(kw):
                            iy = oy * path.stride[0] - path.padding[0] + ky * path.dilation[0]
                            ix = ox * path.stride[1] - path.padding[1] + kx * path.dilation[1]
                            if 0 <= iy < h and 0 <= ix < w:
                                total += int(counts[g * cin_g + cl, iy, ix])
    return total


def brute_pool_synops(counts: np.ndarray, k: int, s: int, p: int, out_hw: tuple[int, int]) -> int:
    c, h, w = counts.shape
    total = 0
    for ch in range(c):
        for oy in range(out_hw[0]):
            for ox in range(out_hw[1]):
                for ky in range(k):
                    for kx in range(k):
                        iy, ix = oy * s - p + ky, ox * s - p + kx
                        if 0 <= iy < h and 0 <= ix < w:
                            total += int(counts[ch, iy, ix])
    return total


def check_conv(c_in, c_out, hw, k, s, p, d, groups):
    path = conv_path(c_in, c_out, k, s, p, d, groups)
    oh = out_size(hw, k, s, p, d)
    counts = RNG.integers(0, 7, size=(c_in, hw, hw))
    got = synops(path, counts.reshape(-1), (c_in, hw, hw), (c_out, oh, oh))
    assert got == brute_conv_synops(counts, path, (oh, oh))
    # a second, independent route: torch conv with all-ones weights sums the inputs each output reads
    ones = torch.ones(c_out, c_in // groups, k, k, dtype=torch.float64)
    conv = torch.nn.functional.conv2d(torch.tensor(counts, dtype=torch.float64)[None], ones, stride=s,
                                      padding=p, dilation=d, groups=groups)
    assert got == int(conv.sum().item())


def test_conv_synops_stride_padding_match_brute_force():
    check_conv(c_in=2, c_out=3, hw=5, k=3, s=2, p=1, d=1, groups=1)


def test_conv_synops_dilation_and_groups_match_brute_force():
    check_conv(c_in=4, c_out=6, hw=7, k=3, s=1, p=2, d=2, groups=2)


def test_conv_edge_inputs_have_fewer_synapses():
    path = conv_path(1, 2, 3, s=1, p=1)
    fan = fanout(path, (1, 4, 4), (2, 4, 4)).reshape(4, 4)
    assert fan[0, 0] == 2 * 4 and fan[1, 1] == 2 * 9 and fan[0, 1] == 2 * 6


@settings(max_examples=40, deadline=None)
@given(
    c_in=st.integers(1, 3), mult=st.integers(1, 2), groups=st.sampled_from([1, 2]),
    hw=st.integers(3, 7), k=st.integers(1, 3), s=st.integers(1, 3), p=st.integers(0, 2), d=st.integers(1, 2),
)
def test_conv_synops_property(c_in, mult, groups, hw, k, s, p, d):
    if out_size(hw, k, s, p, d) < 1:
        return
    check_conv(c_in * groups, mult * groups, hw, k, s, p, d, groups)


@pytest.mark.parametrize("k,s,p,hw", [(2, 2, 0, 6), (3, 2, 1, 5), (2, 1, 0, 4), (3, 3, 1, 7)])
def test_pool_synops_match_brute_force(k, s, p, hw):
    path = ir.Path(source=0, kind="pool", kernel=(k, k), stride=(s, s), padding=(p, p))
    oh = out_size(hw, k, s, p, 1)
    counts = RNG.integers(0, 5, size=(3, hw, hw))
    assert synops(path, counts.reshape(-1), (3, hw, hw), (3, oh, oh)) == brute_pool_synops(counts, k, s, p,
                                                                                           (oh, oh))


def test_dense_and_identity_synops():
    w = RNG.integers(-5, 5, size=(7, 12))
    counts = RNG.integers(0, 9, size=12)
    dense = ir.Path(source=0, kind="dense", weight=w)
    brute = sum(int(counts[i]) for o in range(7) for i in range(12))
    assert synops(dense, counts, (12,), (7,)) == brute
    # a dense path reading a conv map flattens it in (C, H, W) order
    assert synops(dense, counts, (3, 2, 2), (7,)) == brute
    ident = ir.Path(source=0, kind="identity")
    assert synops(ident, counts, (12,), (12,)) == int(counts.sum())


def test_dense_shape_mismatch_is_input_error():
    dense = ir.Path(source=0, kind="dense", weight=np.zeros((3, 5), dtype=int))
    with pytest.raises(InputError, match="5 inputs"):
        fanout(dense, (6,), (3,))


def hybrid_net() -> ir.Network:
    """graded + spiking input -> conv (2 paths) -> pool -> dense readout, plus an identity skip."""
    conv_g = ir.Path(source=ir.Stream.GRADED, kind="conv", weight=RNG.integers(-9, 9, (3, 1, 3, 3)),
                     kernel=(3, 3), padding=(1, 1), graded=True)
    conv_s = ir.Path(source=ir.Stream.SPIKES, kind="conv", weight=RNG.integers(-9, 9, (3, 1, 3, 3)),
                     kernel=(3, 3), padding=(1, 1))
    layers = [
        ir.Layer("conv1", (3, 6, 6), CUBA, [conv_g, conv_s]),
        ir.Layer("pool1", (3, 3, 3), CUBA, [ir.Path(source=0, kind="pool", kernel=(2, 2), stride=(2, 2))]),
        ir.Layer("skip", (3, 3, 3), CUBA, [ir.Path(source=1, kind="identity")]),
        ir.Layer("fc", (4,), CUBA, [ir.Path(source=2, kind="dense", weight=RNG.integers(-9, 9, (4, 27)))]),
    ]
    return ir.Network(ir.InputSpec((1, 6, 6), graded=True), layers, timesteps=4)


def random_counts(net: ir.Network) -> dict[str, np.ndarray]:
    n_in = int(np.prod(net.input.shape))
    counts = {"input_spikes": RNG.integers(0, 4, n_in), "input_graded": RNG.integers(0, 2, n_in)}
    for i, layer in enumerate(net.layers):
        counts[f"layer{i}_spikes"] = RNG.integers(0, 4, layer.neurons)
    return counts


def test_layer_counts_split_graded_and_spiking_paths():
    net = hybrid_net()
    counts = random_counts(net)
    rows = layer_counts(net, counts)
    gi = counts["input_graded"].reshape(1, 6, 6)
    si = counts["input_spikes"].reshape(1, 6, 6)
    assert rows[0]["graded_macs"] == brute_conv_synops(gi, net.layers[0].paths[0], (6, 6))
    assert rows[0]["synops"] == brute_conv_synops(si, net.layers[0].paths[1], (6, 6))
    assert rows[1]["synops"] == int(counts["layer0_spikes"].sum())  # 2x2/2 pool: one window each
    assert rows[2]["synops"] == int(counts["layer1_spikes"].sum())
    assert rows[3]["synops"] == 4 * int(counts["layer2_spikes"].sum())
    assert [r["spikes"] for r in rows] == [int(counts[f"layer{i}_spikes"].sum()) for i in range(4)]
    assert rows[1]["graded_macs"] == 0


def test_layer_counts_missing_array_names_it():
    net = hybrid_net()
    counts = random_counts(net)
    del counts["layer1_spikes"]
    with pytest.raises(InputError, match="layer1_spikes"):
        layer_counts(net, counts)


def test_ann_macs_is_targets_times_fan_in():
    net = hybrid_net()
    expected = 2 * (3 * 36 * 9) + 27 * 4 + 27 * 1 + 4 * 27
    assert ann_macs(net) == expected


def dense_net() -> ir.Network:
    layers = [
        ir.Layer("fc1", (4,), CUBA, [ir.Path(source=ir.Stream.SPIKES, kind="dense",
                                             weight=RNG.integers(-9, 9, (4, 6)))]),
        ir.Layer("out", (3,), ir.AdaptiveNeuron(leak=(4096,) * 8, gain=(4096,) * 8, readout=True),
                 [ir.Path(source=0, kind="dense", weight=RNG.integers(-9, 9, (3, 4)))]),
    ]
    return ir.Network(ir.InputSpec((6,)), layers, timesteps=8)


def test_loihi_energy_equals_keras_spiking_formula():
    """KerasSpiking ModelEnergy on Loihi: synops x (23.6 + 3.5) pJ + neurons x T x 81 pJ."""
    net, samples, steps = dense_net(), 5, 8
    counts = {"input_spikes": np.array([3, 0, 7, 1, 2, 5]), "input_graded": np.zeros(6, int),
              "layer0_spikes": np.array([4, 0, 9, 2]), "layer1_spikes": np.zeros(3, int)}
    summary = {"samples": samples, "timesteps": steps, "latency_steps": 2, "layers": []}
    result = estimate_from(summary, net, counts)
    synops_total = (3 + 0 + 7 + 1 + 2 + 5) * 4 + (4 + 0 + 9 + 2) * 3
    expected = synops_total / samples * (23.6 + 3.5) * 1e-12 + (4 + 3) * steps * 81e-12
    got = result["devices"]["loihi"]["joules_per_inference"]
    assert got == pytest.approx(expected, rel=1e-12)
    assert result["latency_steps"] == 2 + steps
    assert result["per_inference"]["synops"] == synops_total / samples
    ann = result["ann_baseline"]
    assert ann["macs_per_inference"] == 4 * 6 + 3 * 4
    assert ann["joules_per_inference"] == pytest.approx(36 * 4.6e-12, rel=1e-12)
    assert result["snn_to_ann_energy_ratio"] == pytest.approx(got / ann["joules_per_inference"])


def test_neuron_kinds_charge_the_update_events_they_declare():
    """An ALIF layer declares a neuron and a threshold update per neuron and step: twice the
    neuron energy of the same layer as CUBA; spikes, synops and the firing rate do not change."""
    from asnn_neuro.chip.neurons.alif import AdaptiveLifNeuron

    net = dense_net()
    alif = AdaptiveLifNeuron(i_decay=1024, v_decay=128, th_decay=400, ref_decay=400, vth_mant=300, vth_step=100)
    net_alif = ir.Network(net.input, [ir.Layer("fc1", (4,), alif, net.layers[0].paths), net.layers[1]], timesteps=8)
    counts = {"input_spikes": np.array([3, 0, 7, 1, 2, 5]), "input_graded": np.zeros(6, int),
              "layer0_spikes": np.array([4, 0, 9, 2]), "layer1_spikes": np.zeros(3, int)}
    summary = {"samples": 5, "timesteps": 8, "latency_steps": 2, "layers": []}
    cuba, adaptive = estimate_from(summary, net, counts), estimate_from(summary, net_alif, counts)
    e_neuron = load_profiles().devices["loihi"].constants["energy_per_neuron"]
    extra = adaptive["devices"]["loihi"]["joules_per_inference"] - cuba["devices"]["loihi"]["joules_per_inference"]
    assert extra == pytest.approx(4 * 8 * e_neuron, rel=1e-9)
    a, c = adaptive["layers"][0], cuba["layers"][0]
    assert a["neuron_updates"] == 2 * c["neuron_updates"] == 64
    assert a["update_events"] == {"neuron_update": 32, "threshold_update": 32}
    assert a["firing_rate"] == c["firing_rate"] and a["synops"] == c["synops"]


def test_estimate_from_summary_totals_without_network():
    summary = {"samples": 2, "timesteps": 4, "layers": [
        {"name": "a", "type": "dense", "neurons": 10, "spikes": 8, "synops": 100, "graded_macs": 40}]}
    result = estimate_from(summary)
    c = load_profiles().devices["loihi"].constants
    expected = 50 * c["energy_per_synop"] + 40 * c["energy_per_neuron"] + 20 * c["energy_per_mac"]
    assert result["devices"]["loihi"]["joules_per_inference"] == pytest.approx(expected, rel=1e-12)
    assert result["ann_baseline"]["joules_per_inference"] is None
    assert result["activity_source"] == "summary.json"


def test_user_profile_adds_device(tmp_path):
    f = tmp_path / "mine.json"
    f.write_text(json.dumps({"devices": {"chipx": {
        "spiking": True, "source": "made up, 2025",
        "constants": {"energy_per_synop": 1e-12, "energy_per_neuron": 2e-12, "energy_per_mac": 3e-12}}}}))
    profiles = load_profiles([f])
    assert "chipx" in profiles.devices and "loihi" in profiles.devices
    summary = {"samples": 1, "timesteps": 2, "layers": [
        {"name": "a", "type": "dense", "neurons": 5, "spikes": 1, "synops": 7, "graded_macs": 1}]}
    result = estimate_from(summary, profiles=profiles)
    assert result["devices"]["chipx"]["joules_per_inference"] == pytest.approx(7e-12 + 20e-12 + 3e-12)


@pytest.mark.parametrize("body,match", [
    ("{not json", "not valid JSON"),
    (json.dumps({"devices": {"x": {"spiking": True, "source": "s",
                                   "constants": {"energy_per_synop": 1e-12, "energy_per_neuron": 1e-12}}}}),
     "missing constant 'energy_per_mac'"),
    (json.dumps({"devices": {"x": {"spiking": False, "source": "s",
                                   "constants": {"energy_per_mac": -1e-12, "energy_per_neuron": 0}}}}),
     "negative"),
    (json.dumps({"devices": {"x": {"spiking": False,
                                   "constants": {"energy_per_mac": 1e-12, "energy_per_neuron": 0}}}}),
     "source"),
    (json.dumps({"nothing": 1}), "devices"),
])
def test_bad_profile_files_are_input_errors(tmp_path, body, match):
    f = tmp_path / "bad.json"
    f.write_text(body)
    with pytest.raises(InputError, match=match) as err:
        load_profiles([f])
    assert str(f) in str(err.value)


def test_builtin_profiles_have_citations_with_years():
    profiles = load_profiles()
    for name in ("loihi", "spinnaker", "spinnaker2", "ann-45nm", "cpu", "gpu"):
        dev = profiles.devices[name]
        assert any(str(y) in dev.source for y in range(2010, 2026)), name
    assert profiles.devices["loihi"].e_synop == pytest.approx(27.1e-12)
    assert profiles.devices["loihi"].e_neuron == pytest.approx(81e-12)
    assert profiles.devices["ann-45nm"].e_mac == pytest.approx(4.6e-12)


def test_write_energy_writes_json_and_markdown(tmp_path):
    net = dense_net()
    run = tmp_path / "run1"
    run.mkdir()
    counts = random_counts(net)
    np.savez(run / "counts.npz", **counts)
    rows = layer_counts(net, counts)
    (run / "summary.json").write_text(json.dumps({"net": "dense", "samples": 3, "timesteps": 8,
                                                  "latency_steps": 2, "layers": rows}))
    result = write_energy(run, net=net)
    data = json.loads((run / "energy.json").read_text())
    assert data["samples"] == 3 and set(data["devices"]) >= {"loihi", "spinnaker", "spinnaker2"}
    for dev in data["devices"].values():
        assert {"joules_per_inference", "per_layer", "constants", "source"} <= set(dev)
    assert {"joules_per_inference", "macs_per_inference"} <= set(data["ann_baseline"])
    loihi = data["devices"]["loihi"]
    assert loihi["joules_per_inference"] == result["devices"]["loihi"]["joules_per_inference"]
    md = (run / "energy.md").read_text()
    assert "leaves out" in md and "leakage" in md and "| loihi |" in md


def test_missing_or_corrupt_summary_names_the_file(tmp_path):
    run = tmp_path / "r"
    run.mkdir()
    with pytest.raises(InputError, match="summary.json"):
        write_energy(run)
    (run / "summary.json").write_text("{oops")
    with pytest.raises(InputError, match=r"summary\.json: corrupt"):
        write_energy(run)
    with pytest.raises(InputError, match="no such run"):
        write_energy(tmp_path / "absent")


def test_energy_json_has_loihi_time_and_neurobench_side_by_side():
    """Time per step from the same events the energy prices; static energy = idle W x that time."""
    from asnn_neuro.fit.run import fit_network
    from asnn_neuro.fit.timing import step_time

    net, samples, steps = dense_net(), 5, 8
    counts = {"input_spikes": np.array([3, 0, 7, 1, 2, 5]), "input_graded": np.zeros(6, int),
              "layer0_spikes": np.array([4, 0, 9, 2]), "layer1_spikes": np.zeros(3, int)}
    result = estimate_from({"samples": samples, "timesteps": steps, "latency_steps": 2, "layers": []}, net, counts)
    t = result["loihi_time"]
    st = step_time(fit_network(net), result["layers"], steps, 18 / samples / steps)
    assert t["step_seconds"] == pytest.approx([st["min"], st["max"]])
    assert t["latency_seconds"] == pytest.approx([st["min"] * 10, st["max"] * 10])  # 8 steps + depth 2
    idle = result["fit"]["idle_watts"]
    assert t["energy_joules"]["static"] == pytest.approx([idle * st["min"] * 8, idle * st["max"] * 8])
    assert t["energy_joules"]["dynamic"] == [result["loihi_range"]["min"], result["loihi_range"]["max"]]
    nb = result["neurobench"]
    # the readout integrator never spikes: like NeuroBench's hooks (spiking layers only) it is left out
    assert nb["activation_sparsity"] == pytest.approx(1 - 15 / (4 * steps * samples))
    assert nb["synaptic_operations"]["Dense"] == (6 * 4 + 4 * 3) * steps

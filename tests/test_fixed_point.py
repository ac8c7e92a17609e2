"""The deployed integer arithmetic, pinned by hand-computed steps (numpy and torch alike)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from asnn_neuro.chip import fixed_point as fx


@pytest.mark.parametrize("xp", ["numpy", "torch"])
def test_round_shift_rounds_half_up(xp):
    vals = [-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5]
    arr = np.array(vals, dtype=np.int64) if xp == "numpy" else torch.tensor(vals, dtype=torch.int64)
    got = [int(v) for v in fx.round_shift(arr, 1)]
    # x / 2 rounded half up: -2.5 -> -2, -1.5 -> -1, -0.5 -> 0, 0.5 -> 1, 2.5 -> 3
    assert got == [-2, -2, -1, -1, 0, 0, 1, 1, 2, 2, 3]
    assert [int(v) for v in fx.round_shift(arr, -2)] == [4 * v for v in vals]


def test_asnn_three_steps_by_hand():
    # lam = 0.5, g = 1.0; input currents 0.75, 0.75, 0.0 in state units of 1/4096
    leak, gain = 2048, 4096
    u = np.zeros(1, dtype=np.int64)
    spikes = []
    for accum in (3072, 3072, 0):  # with shift 12: (accum * 4096) >> 12 == accum
        cur = fx.asnn_input(np.array([accum]), 0, gain, 12)
        u = fx.asnn_update(u, cur, leak)
        s, u = fx.asnn_fire(u)
        spikes.append(int(s[0]))
    # t0: u = 0.75 -> no spike; t1: u = 0.375 + 0.75 = 1.125 -> spike, u = 0.125; t2: u = 0.0625
    assert spikes == [0, 1, 0]
    assert int(u[0]) == 256


def test_asnn_bias_is_inside_the_gain():
    # round((accum + bias) * gain / 2**shift): (10 + 6) * 2048 / 2**4 = 2048
    assert int(fx.asnn_input(np.array([10]), np.array([6]), 2048, 4)[0]) == 2048


def test_asnn_state_saturates_at_24_bits():
    u = fx.asnn_update(np.array([fx.STATE_LIMIT]), np.array([10**9]), 4096)
    assert int(u[0]) == fx.STATE_LIMIT


def test_lif_step_matches_lava_arithmetic_by_hand():
    u = np.array([1000, -1000], dtype=np.int64)
    v = np.array([5000, 0], dtype=np.int64)
    s, u2, v2 = fx.lif_step(u, v, np.array([3, -2]), du=1024, dv=512, bias=np.array([64, 0]), vth_mant=100)
    # u: effective decay du + 1 = 1025, sign-magnitude: (1000 * 3071) >> 12 = 749, plus a << 6
    assert u2.tolist() == [749 + 192, -749 - 128]
    # v: (5000 * 3584) >> 12 = 4375, + u + bias = 5380 <= 100 << 6: no spike
    assert v2.tolist() == [4375 + 941 + 64, -877]
    assert s.tolist() == [False, False]
    s, u3, v3 = fx.lif_step(u2, v2, np.array([0, 0]), du=1024, dv=512, bias=np.array([64, 0]), vth_mant=80)
    # u = (941 * 3071) >> 12 = 705; v = (5380 * 3584) >> 12 + 705 + 64 = 5476 > 80 << 6 = 5120: spike, reset
    assert int(u3[0]) == 705 and s.tolist() == [True, False] and int(v3[0]) == 0


def test_numpy_and_torch_agree_on_random_integers():
    rng = np.random.default_rng(0)
    u = rng.integers(-(2**20), 2**20, 1000)
    a = rng.integers(-(2**14), 2**14, 1000)
    for shift in (-3, 0, 5, 11):
        n = fx.asnn_update(u, fx.asnn_input(a, 7, 3000, shift), 3333)
        t = fx.asnn_update(torch.from_numpy(u), fx.asnn_input(torch.from_numpy(a), 7, 3000, shift), 3333)
        assert np.array_equal(n, t.numpy())
    sn, un, vn = fx.lif_step(u, u // 3, a, 700, 300, 5, 1000)
    st, ut, vt = fx.lif_step(torch.from_numpy(u), torch.from_numpy(u // 3), torch.from_numpy(a), 700, 300, 5, 1000)
    assert np.array_equal(sn, st.numpy()) and np.array_equal(un, ut.numpy()) and np.array_equal(vn, vt.numpy())


def test_graded_payloads_are_exact_for_8bit_pixels():
    x = torch.arange(256, dtype=torch.float32) / 255
    assert torch.equal(fx.quantize_graded(x), torch.arange(256))

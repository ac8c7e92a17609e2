"""The reference code's semantics as named options: temporal-ref coding, the fixed-leak LIF,
test-batch BN statistics, the reference augmentation, the mixup cut-off, and the training subset."""

from __future__ import annotations

import pytest
import torch

from asnn_neuro.data import Dataset, load_dataset
from asnn_neuro.encoding import encode
from asnn_neuro.errors import InputError
from asnn_neuro.training.config import TrainConfig
from asnn_neuro.training.loop import train

VALUES = (0.0, 0.25, 0.5, 0.75, 1.0)
# temporal-ref by hand. Thresholds 1 - (i+1)/T: T=2: 1/2, 0; T=4: 3/4, 1/2, 1/4, 0;
# T=7: 6/7 (.857), 5/7 (.714), 4/7 (.571), 3/7 (.429), 2/7 (.286), 1/7 (.143), 0. A value fires at
# its first crossing, is zeroed, and fires again at the last step (0 >= 0), as every value does.
TEMPORAL_REF = {
    2: ([0, 1], [0, 1], [1, 1], [1, 1], [1, 1]),
    4: ([0, 0, 0, 1], [0, 0, 1, 1], [0, 1, 0, 1], [1, 0, 0, 1], [1, 0, 0, 1]),
    7: ([0, 0, 0, 0, 0, 0, 1],   # 0: only the all-ones last frame
        [0, 0, 0, 0, 0, 1, 1],   # 0.25 >= 1/7 at step 5
        [0, 0, 0, 1, 0, 0, 1],   # 0.5 >= 3/7 at step 3
        [0, 1, 0, 0, 0, 0, 1],   # 0.75 >= 5/7 at step 1
        [1, 0, 0, 0, 0, 0, 1]),  # 1 >= 6/7 at step 0
}


def _digits(n_train: int = 96, n_test: int = 32) -> Dataset:
    d = load_dataset("digits", seed=0)
    return Dataset(name=d.name, train_x=d.train_x[:n_train], train_y=d.train_y[:n_train],
                   test_x=d.test_x[:n_test], test_y=d.test_y[:n_test], classes=d.classes)


@pytest.mark.parametrize("steps", sorted(TEMPORAL_REF))
def test_temporal_ref_by_hand(steps):
    x = torch.tensor(VALUES).view(1, 1, 1, len(VALUES))
    frames = encode(x, "temporal-ref", steps)[0, 0, 0]
    assert frames.tolist() == [[float(v) for v in row] for row in TEMPORAL_REF[steps]]
    # frames 0..T-2 are temporal's; temporal's last frame holds only the values that had not fired
    plain = encode(x, "temporal", steps)[0, 0, 0]
    assert torch.equal(frames[:, :-1], plain[:, :-1])
    assert plain[:, -1].tolist() == [1.0, 0.0, 0.0, 0.0, 0.0] if steps > 2 else [1.0, 1.0, 0.0, 0.0, 0.0]


def test_fashion_mnist_from_the_debian_package():
    from asnn_neuro.data import registry

    if not registry.fashion_mnist_installed():
        pytest.skip(registry.FASHION_MNIST_MISSING)
    d = load_dataset("fashion-mnist")
    assert (len(d.train_y), len(d.test_y), d.shape, d.classes) == (60000, 10000, (1, 28, 28), 10)
    assert torch.bincount(d.test_y).tolist() == [1000] * 10
    assert torch.bincount(d.train_y).tolist() == [6000] * 10
    # graded, unlike MNIST: a large share of the pixels lies strictly between black and white
    x = d.test_x[:1000]
    assert 0.3 < float(((x > 0.05) & (x < 0.95)).float().mean()) < 0.6


def test_fashion_mnist_missing_says_how_to_get_it(monkeypatch):
    from asnn_neuro.data import registry

    monkeypatch.setattr(registry, "FASHION_MNIST_DIR", "/nonexistent/fashion-mnist")
    with pytest.raises(InputError, match="^fashion-mnist: not installed at .*apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist")


def test_fixed_leak_stays_frozen_and_is_lif_only(tmp_path):
    from asnn_neuro.models.method import FIXED_GAIN, FIXED_LEAK

    cfg = TrainConfig(dataset="digits", encoding="temporal", neuron="lif", timesteps=3, epochs=1, name="m",
                      workdir=str(tmp_path), batch_size=32, device="cpu", fixed_leak=True)
    train(cfg, data=_digits(), show_progress=False)
    state = torch.load(tmp_path / "m" / "checkpoint.pt", weights_only=False)["model"]
    leaks = [v for k, v in state.items() if k.endswith("neuron.leak")]
    gains = [v for k, v in state.items() if k.endswith("neuron.gain")]
    assert len(leaks) == len(gains) == 4
    assert all(torch.equal(v, torch.tensor([FIXED_LEAK])) for v in leaks)
    assert all(torch.equal(v, torch.tensor([FIXED_GAIN])) for v in gains)
    # the learned lif moves its leak in the same run
    learned = TrainConfig(**{**cfg.__dict__, "fixed_leak": False, "name": "l"})
    train(learned, data=_digits(), show_progress=False)
    state = torch.load(tmp_path / "l" / "checkpoint.pt", weights_only=False)["model"]
    assert any(not torch.equal(v, torch.tensor([0.5])) for k, v in state.items() if k.endswith("neuron.leak"))
    with pytest.raises(InputError, match="--fixed-leak applies to --neuron lif only"):
        train(TrainConfig(**{**cfg.__dict__, "neuron": "asnn"}), data=_digits(), show_progress=False)


def test_batch_statistics_scores_like_train_mode_and_restores_the_running_ones():
    from asnn_neuro.models import build_model
    from asnn_neuro.models.config import ModelConfig
    from asnn_neuro.models.method import batch_statistics

    torch.manual_seed(0)
    model = build_model(ModelConfig("lenet", (1, 8, 8), 10, "lif", "direct", 3, bn_stats="per-step")).eval()
    x = encode(torch.rand(16, 1, 8, 8), "direct", 3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        running = model(x)
        with batch_statistics(model):
            batch = model(x)
        model.train()
        want = model(x)  # the reference: never .eval(), so every test batch is normalised by itself
        model.load_state_dict(before)
        model.eval()
    assert torch.equal(batch, want) and not torch.allclose(batch, running, atol=1e-3)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    assert not any(m.training for m in model.modules())


def test_reference_augmentation_matches_torchvision_and_its_ranges():
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    from asnn_neuro.training.augment import REF_CROP_PADDING, reference_augment, rotate

    torch.manual_seed(1)
    x = torch.rand(4, 3, 20, 32)
    for angle in (0.0, 7.3, 25.0, 90.0):
        ours = rotate(x, torch.full((4,), angle, dtype=torch.float64))
        theirs = torch.stack([TF.rotate(img, angle, interpolation=InterpolationMode.NEAREST, fill=0) for img in x])
        assert torch.equal(ours, theirs), angle
    # one bright pixel at the centre: flipped, rotated <= 25 degrees and shifted by <= 5 pixels
    img = torch.zeros(2000, 1, 29, 29)
    img[:, :, 14, 14] = 1.0
    out = reference_augment(img, torch.Generator().manual_seed(0))
    assert out.sum((1, 2, 3)).eq(1).all()
    where = out.flatten(1).argmax(1)
    rows, cols = where // 29 - 14, where % 29 - 14
    assert rows.abs().max() == cols.abs().max() == REF_CROP_PADDING
    again = reference_augment(img, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    # a horizontal bar: about half the images are mirrored (flip probability 1/2)
    bar = torch.zeros(2000, 1, 29, 29)
    bar[:, :, 14, 20:26] = 1.0
    out = reference_augment(bar, torch.Generator().manual_seed(3))
    mass_left = (out[..., :14].sum((1, 2, 3)) > out[..., 15:].sum((1, 2, 3))).float().mean()
    assert 0.45 < float(mass_left) < 0.55


def _record_inputs(seen: list[tuple[int, torch.Tensor]], epoch: list[int]):
    def prepare(model: torch.nn.Module) -> None:
        epoch[0] += 1
        if not getattr(model, "_recorded", False):
            model.register_forward_pre_hook(lambda m, args: seen.append((epoch[0], args[0].detach().clone()))
                                            if m.training else None)
            model._recorded = True
    return prepare


def test_mixup_until_stops_mixing_after_that_epoch(tmp_path):
    seen: list[tuple[int, torch.Tensor]] = []
    cfg = TrainConfig(dataset="digits", encoding="hybrid", neuron="asnn", timesteps=3, epochs=3, name="m",
                      workdir=str(tmp_path), batch_size=32, mixup=1.0, mixup_until=2, device="cpu",
                      augment=False)
    # prepare runs once when the model is built, then at the start of every epoch
    train(cfg, data=_digits(), show_progress=False, prepare=_record_inputs(seen, [-1]))
    assert sorted({e for e, _ in seen}) == [1, 2, 3]
    for e, frames in seen:  # digits are on a 1/16 grid; mixed ones are not
        off_grid = bool(((frames[..., 0] * 16 - (frames[..., 0] * 16).round()).abs() > 1e-3).any())
        assert off_grid == (e <= 2), e
    with pytest.raises(InputError, match="--mixup-until needs --mixup"):
        train(TrainConfig(**{**cfg.__dict__, "mixup": 0.0}), data=_digits(), show_progress=False)


def test_train_subset_keeps_the_whole_test_set(tmp_path):
    cfg = TrainConfig(dataset="digits", encoding="direct", neuron="lif", timesteps=2, epochs=1, name="m",
                      workdir=str(tmp_path), batch_size=32, device="cpu", train_subset=64)
    r = train(cfg, data=_digits(), show_progress=False)
    assert r["history"][0]["samples"] == 64 and r["test_samples"] == 32 and len(r["test_predictions"]) == 32
    with pytest.raises(InputError, match="--train-subset 500: .* has only 96 training images"):
        train(TrainConfig(**{**cfg.__dict__, "train_subset": 500}), data=_digits(), show_progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("encoding,neuron,options", [
    ("temporal-ref", "asnn", {}),
    ("hybrid", "lif", {"fixed_leak": True}),
    ("hybrid", "asnn", {"eval_bn": "batch", "augmentation": "reference", "mixup": 1.0, "mixup_until": 1}),
])
def test_reference_options_train_export_and_run_bit_exact_in_lava(tmp_path, encoding, neuron, options):
    from asnn_neuro.deploy.export import export
    from asnn_neuro.evaluate.verify import verify

    cfg = TrainConfig(dataset="digits", encoding=encoding, neuron=neuron, timesteps=3, epochs=2, name="m",
                      workdir=str(tmp_path), batch_size=32, device="cpu", **options)
    result = train(cfg, data=_digits(256, 64), show_progress=False)
    assert all(result["config"][k] == v for k, v in options.items())
    info = export("m", workdir=str(tmp_path))
    assert len(info["layers"]) == 8
    v = verify("m", dataset="digits", samples=4, workdir=str(tmp_path), simdir=str(tmp_path / "sims"),
               progress=False)
    assert v["bit_exact_fraction"] == 1.0 and v["prediction_agreement"] == 1.0

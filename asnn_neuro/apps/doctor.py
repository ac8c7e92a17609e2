"""``asnn doctor``: is the installation complete, and if not, what to do about it."""

from __future__ import annotations

import importlib
import sys
from importlib import metadata

from asnn_neuro.compat import lava_compat

OK, WARN, FAIL = "ok", "warn", "FAIL"


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def checks() -> list[tuple[str, str, str]]:
    """(status, item, detail/fix) rows."""
    rows: list[tuple[str, str, str]] = []
    py = sys.version_info
    rows.append((OK if (3, 10) <= py[:2] <= (3, 11) else FAIL, "python",
                 f"{py[0]}.{py[1]}.{py[2]}" + ("" if (3, 10) <= py[:2] <= (3, 11) else
                                               " -- use Python 3.10 or 3.11 (PYTHON=python3.11 make setup)")))
    for dist, want in (("torch", None), ("torchvision", None), ("lava-nc", "0.10.0"), ("lava-dl", "0.6.0"),
                       ("numpy", None), ("h5py", None), ("mlxtend", None), ("scikit-learn", None)):
        v = _version(dist)
        if v is None:
            rows.append((FAIL, dist, "not installed -- run make setup (scripts/setup.sh)"))
        elif want and v != want:
            rows.append((FAIL, dist, f"{v} installed, {want} needed -- run make setup"))
        else:
            rows.append((OK, dist, v))
    np_v = _version("numpy")
    if np_v and tuple(int(x) for x in np_v.split(".")[:2]) >= (2, 4):
        rows.append((FAIL, "numpy < 2.4", f"{np_v}: lava-nc's ports call np.reshape(newshape=...), "
                     "removed in numpy 2.4 -- pip install 'numpy<2.4'"))
    try:
        patched = lava_compat.is_patched()
        rows.append((OK if patched else FAIL, "lava 3.11 fix",
                     "applied" if patched and lava_compat.needs_fix() else "not needed" if patched
                     else "missing -- run: python -m asnn_neuro.compat.lava_compat"))
    except lava_compat.CompatError as exc:
        rows.append((FAIL, "lava 3.11 fix", str(exc)))
    for mod, what in (("lava.magma.core.run_configs", "lava-nc imports"),
                      ("asnn_neuro.compat.slayer", "lava-dl SLAYER imports"),
                      ("lava.lib.dl.netx", "lava-dl NetX imports")):
        try:
            importlib.import_module(mod)
            rows.append((OK, what, "yes"))
        except Exception as exc:  # noqa: BLE001
            rows.append((FAIL, what, f"{type(exc).__name__}: {exc}"))
    try:
        import torch
        import torchvision  # noqa: F401

        torch.ops.torchvision.nms  # noqa: B018 -- the operator a mismatched torch/torchvision pair lacks
        rows.append((OK, "torchvision ops", "nms present"))
        cuda = torch.cuda.is_available()
        rows.append((OK, "CUDA", f"{torch.cuda.device_count()} device(s)" if cuda
                     else "not available -- training runs on the CPU (fine for the demo)"))
    except Exception as exc:  # noqa: BLE001
        rows.append((FAIL, "torchvision ops", f"{type(exc).__name__}: {exc} -- reinstall a matching torch/"
                     "torchvision pair (make setup)"))
    from asnn_neuro.neurons import native

    # not a failure: without a compiler the torch kernel gives the same results, only slower on the CPU
    rows.append((OK, "ASNN CPU kernel", native.status()))
    rows.append((OK, "CUBA CPU kernel", native.status("cuba")))
    loihi = importlib.util.find_spec("lava.utils.loihi2_profiler") is not None \
        or _version("lava-loihi") is not None
    rows.append((OK, "lava-loihi", "installed: --backend loihi available" if loihi
                 else "not installed: --backend loihi unavailable (needs Intel INRC access); Lava CPU works"))
    return rows


def run_doctor() -> int:
    rows = checks()
    for status, item, detail in rows:
        print(f"  [{status:4s}] {item:24s} {detail}")
    failed = [r for r in rows if r[0] == FAIL]
    print("asnn doctor: " + ("everything needed is in place" if not failed else f"{len(failed)} problem(s) above"))
    return 0 if not failed else 1

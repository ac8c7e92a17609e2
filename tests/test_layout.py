"""The package's layout: data flows one way through the stages, and nothing imports in a loop.

Two checks: a static one over the import graph (every ``import`` in every module, including
the ones inside functions, read with ``ast``), and a dynamic one that imports each module
first in a fresh copy of the package, so an import-order problem cannot hide behind another
module having been imported earlier.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "asnn_neuro"

# Stage order (docs/architecture.md): a module may import modules of its own stage or of
# earlier stages, never of later ones. Keys are the first component below asnn_neuro.
STAGES = {
    "errors": 0, "util": 0, "chip": 0, "compat": 0, "ir": 0,
    "data": 1, "encoding": 1, "neurons": 1,
    "models": 2,
    "training": 3,
    "deploy": 4,
    "backends": 5, "runs": 5,
    "energy": 6, "fit": 6,
    "evaluate": 7,
    "report": 8,
    "bench": 9, "apps": 9, "api": 9,
    "cli": 10, "__main__": 11, "__init__": 0,
}


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(name: str) -> str | None:
    """The module of ours that an import of ``name`` loads (a name inside a module -> that module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """Every module of ours that ``module`` imports, anywhere in its body."""
    tree = ast.parse(MODULES[module].read_text())
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            # ``from pkg import mod`` loads pkg.mod; ``from mod import name`` loads mod
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        for name in names:
            target = resolve(name) if name.startswith("asnn_neuro") else None
            if target and target != module:
                found.add(target)
    return found


GRAPH = {m: imports_of(m) for m in MODULES}


def stage_of(module: str) -> int:
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else "__init__"
    assert key in STAGES, f"{module}: its folder is not in the stage map (tests/test_layout.py, docs/architecture.md)"
    return STAGES[key]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_loop():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_reader_sees_imports_inside_functions():
    assert "asnn_neuro.backends.lava.runner" in GRAPH["asnn_neuro.evaluate.simulate"]


def test_no_module_imports_in_a_loop():
    assert cycles(GRAPH) == []


def test_imports_flow_from_later_stages_to_earlier_ones():
    backwards = [f"{m} -> {t}" for m, targets in GRAPH.items() for t in targets
                 if stage_of(t) > stage_of(m) and not (m == "asnn_neuro" and t.count(".") == 1)]
    assert backwards == []


def external_imports(module: str) -> set[str]:
    """Top-level names of the third-party packages ``module`` imports anywhere in its body."""
    found = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found - {"asnn_neuro"}


def test_the_executor_never_needs_lava():
    """The integer executor is the path that runs where Lava cannot be installed."""
    reach, todo = set(), ["asnn_neuro.backends.executor"]
    while todo:
        m = todo.pop()
        if m not in reach:
            reach.add(m)
            todo.extend(GRAPH[m])
    assert sorted(m for m in reach if "lava" in external_imports(m)) == []


FRESH_IMPORT = """
import importlib, sys
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "asnn_neuro" or m.startswith("asnn_neuro.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


@pytest.mark.slow
def test_every_module_imports_first():
    """Each module imported first into a fresh copy of the package (third-party modules stay loaded)."""
    names = sorted(m for m in MODULES if not m.endswith("__main__"))  # __main__ runs the CLI
    out = subprocess.run([sys.executable, "-c", FRESH_IMPORT, *names], capture_output=True, text=True,
                         timeout=600, cwd=PACKAGE.parent)
    assert out.returncode == 0, out.stdout + out.stderr[-2000:]


def test_importing_the_package_leaves_lava_dl_unchanged():
    """A user importing asnn_neuro next to their own lava-dl code gets lava-dl as it ships."""
    probe = """
import lava.lib.dl.slayer as slayer
li = slayer.neuron.dynamics.leaky_integrator
before = {k: v for k, v in vars(li).items()}
import multiprocessing
ctx = multiprocessing.context._default_context._actual_context
import asnn_neuro, asnn_neuro.models, asnn_neuro.training, asnn_neuro.deploy.lower, asnn_neuro.evaluate.simulate
import asnn_neuro.backends.lava.runner, asnn_neuro.cli
after = {k: v for k, v in vars(li).items()}
changed = sorted(k for k in set(before) | set(after) if before.get(k) is not after.get(k))
assert not changed, changed
assert multiprocessing.context._default_context._actual_context is ctx
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                         cwd=PACKAGE.parent)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stdout + out.stderr[-2000:]

"""Package attributes that import their module on first use (PEP 562), so that importing a
package (and ``asnn --help``) does not load torch or Lava until a stage needs them."""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from typing import Any


def lazy_attributes(package: str, table: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``table`` maps a public name to the module
    (relative to ``package``, e.g. ``"schemes"``) that defines it; a name mapped to itself is
    that submodule."""

    def __getattr__(name: str) -> Any:
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(f"{package}.{table[name]}")
        return module if table[name] == name else getattr(module, name)

    def __dir__() -> list[str]:
        return sorted(table)

    return __getattr__, __dir__


class CallableStage(types.ModuleType):
    """A stage package that is also its stage's Python API entry point: calling the package
    calls ``asnn_neuro.api.<its name>``, so ``an.energy(run)`` works while ``asnn_neuro.energy``
    stays the package (a package attribute of that name could not be a function)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        api = importlib.import_module("asnn_neuro.api")  # the API sits above every stage
        return getattr(api, self.__name__.rpartition(".")[2])(*args, **kwargs)


def callable_stage(name: str) -> None:
    """Make the loaded package ``name`` a ``CallableStage`` (call at the end of its __init__)."""
    sys.modules[name].__class__ = CallableStage

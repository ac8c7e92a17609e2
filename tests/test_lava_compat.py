"""The Python 3.11 fix for lava-nc: idempotent, refuses what it does not know."""

from __future__ import annotations

import pytest

from asnn_neuro.compat import lava_compat

BROKEN = '''from dataclasses import dataclass, InitVar

@dataclass
class CoreEncoder:
    x: ByteEncoder = ByteEncoder()
    y: ByteEncoder = ByteEncoder()
'''


def test_patch_turns_instance_defaults_into_factories():
    fixed = lava_compat.patch_source(BROKEN)
    assert "ByteEncoder = ByteEncoder()" not in fixed
    assert fixed.count("field(default_factory=ByteEncoder)") == 2
    assert "from dataclasses import dataclass, InitVar, field" in fixed


def test_patch_is_idempotent():
    once = lava_compat.patch_source(BROKEN)
    assert lava_compat.patch_source(once) == once


def test_unknown_source_is_refused():
    with pytest.raises(lava_compat.CompatError):
        lava_compat.patch_source("something else entirely")


def test_wrong_lava_version_is_refused(monkeypatch):
    monkeypatch.setattr(lava_compat.metadata, "version", lambda dist: "0.9.0")
    with pytest.raises(lava_compat.CompatError, match="knows only lava-nc 0.10.0"):
        lava_compat.var_model_path()


def test_installed_lava_is_patched_and_imports():
    assert lava_compat.is_patched()
    import lava.magma.core.run_configs  # noqa: F401


def test_cli_module_exits_non_zero_on_refusal(monkeypatch, capsys):
    monkeypatch.setattr(lava_compat.metadata, "version", lambda dist: "0.9.0")
    monkeypatch.setattr(lava_compat, "needs_fix", lambda: True)
    assert lava_compat.main() == 3
    assert "0.10.0" in capsys.readouterr().err

"""The checkpoint format (``asnn-neuro-checkpoint/1``): what a trained model leaves on disk.

A checkpoint holds the model's state, the ``ModelConfig`` that rebuilds it, the ``TrainConfig``
that trained it, the temporal-eq calibration (if any), the history, and optimiser/scheduler state
for ``--resume``. Written atomically after every epoch.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from asnn_neuro import encoding as enc
from asnn_neuro.errors import InputError
from asnn_neuro.models import build_model
from asnn_neuro.models.config import ModelConfig
from asnn_neuro.training.config import TrainConfig
from asnn_neuro.util import atomic

FORMAT = "asnn-neuro-checkpoint/1"


def save_checkpoint(path: Path, model, mcfg: ModelConfig, cfg: TrainConfig, calibration, epoch: int,
                    history: list, opt=None, sched=None) -> None:
    state = {
        "format": FORMAT,
        "model_config": mcfg.to_dict(),
        "train_config": asdict(cfg),
        "model": model.state_dict(),
        "calibration": calibration.to_dict() if calibration is not None else None,
        "epoch": epoch,
        "history": history,
        "optimizer": opt.state_dict() if opt is not None else None,
        "scheduler": sched.state_dict() if sched is not None else None,
    }
    atomic.write_with(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such checkpoint (train it first with asnn train)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's input problem
        raise InputError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise InputError(f"{path}: not an asnn-neuro checkpoint")
    return state


def load_model(path: Path, device: str = "cpu"):
    """(model in eval mode, ModelConfig, calibration or None) from a checkpoint."""
    state = load_checkpoint(path)
    try:
        mcfg = ModelConfig.from_dict(state["model_config"])
        model = build_model(mcfg)
        calibration = None
        if state.get("calibration"):
            calibration = enc.TemporalEqCalibration.from_dict(state["calibration"])
        with torch.no_grad():
            model.eval()
            model(torch.zeros(1, *mcfg.in_shape, mcfg.timesteps))
        model.load_state_dict(state["model"])
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # a damaged or foreign state
        raise InputError(f"{path}: cannot rebuild the model ({type(exc).__name__}: "
                         f"{str(exc)[:200]})") from None
    model.eval()
    return model.to(device), mcfg, calibration

"""Train stage: SLAYER-block models on a data set (``loop``), with the options of a run
(``config``), the checkpoint format (``checkpoint``) and data-parallel helpers (``distributed``)."""

from asnn_neuro.training.checkpoint import load_checkpoint, load_model, save_checkpoint
from asnn_neuro.training.config import TrainConfig
from asnn_neuro.training.loop import train

__all__ = ["TrainConfig", "load_checkpoint", "load_model", "save_checkpoint", "train"]

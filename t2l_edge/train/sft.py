"""T2L SFT: the hypernetwork trained end to end through the frozen base (the shared loop in
loop.py), keeping the best hypernetwork by held-out validation loss."""

from __future__ import annotations

from pathlib import Path

from .distributed import Dist
from .loop import lr_lambda, run_training, validate  # noqa: F401  (re-exported for callers and tests)
from .batches import TaskData


def save_best_hypernet(net, folder: Path, info: dict) -> None:
    from ..hypernet.checkpoint import save_hypernet

    save_hypernet(net, folder, provenance=info)


def run_sft(cfg, net, model, wrapped, formatter, train_tasks: list[TaskData], val_tasks: list[TaskData], pad_id: int,
            resume: bool = False, progress=None, provenance: dict | None = None, stop_at: int | None = None,
            dist: Dist = Dist(), extra=None) -> dict:
    return run_training(cfg, net, model, wrapped, formatter, train_tasks, val_tasks, pad_id, save_best_hypernet,
                        resume=resume, progress=progress, provenance=provenance, stop_at=stop_at, dist=dist, extra=extra)

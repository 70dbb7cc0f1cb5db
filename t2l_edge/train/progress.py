"""A rich progress bar with ETA for the trainers (rank 0 only under torchrun)."""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def progress_bar(name: str, total: int, enabled: bool = True):
    """Yields progress(step, record) for the training loop, or None when disabled."""
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(f"[bold]{name}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TextColumn("{task.fields[info]}"), TimeRemainingColumn(), transient=False) as bar:
        job = bar.add_task(name, total=total, info="")

        def progress(step, rec):
            info = f"loss {rec['loss']:.3f} lr {rec['lr']:.1e}" + (f" val {rec['val_loss']:.3f}" if "val_loss" in rec else "")
            bar.update(job, completed=step, info=info)

        yield progress

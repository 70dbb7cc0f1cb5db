"""Atomic, non-clobbering file output.

Data goes to a hidden temp file in the target directory, is fsynced, then moved into place.
Without `force`, the final step is os.link, which fails if the path exists, so two processes
racing for one path cannot both win and an existing file is never replaced silently.
A crash or a full disk leaves at most the temp file, which is removed on the way out.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Iterator

from .errors import T2LError


def _already_exists(p: Path) -> T2LError:
    return T2LError(f"{p} already exists", "pass --force to overwrite it")


def refuse_existing(path: str | os.PathLike, force: bool) -> Path:
    """The one overwrite refusal, for output files and folders alike: without `force` an
    existing path is never replaced."""
    p = Path(path)
    if p.exists() and not force:
        raise _already_exists(p)
    return p


def check_output_path(path: str | os.PathLike, force: bool) -> Path:
    """Refuse unusable output files before any expensive work is done."""
    p = Path(path)
    if p.is_dir():
        raise T2LError(f"output path {p} is a directory", "give a file name, e.g. -o out.gguf")
    refuse_existing(p, force)
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise T2LError(f"directory {parent} does not exist", "create it first")
    if not os.access(parent, os.W_OK):
        raise T2LError(f"directory {parent} is not writable", "choose another output path")
    return p


def _new_temp(final: Path) -> Path:
    """An empty hidden file beside `final`. Created with mode 0666 so the kernel applies the
    umask, as for any normal output (tempfile.mkstemp would fix it at 0600, unreadable to e.g.
    a llama.cpp server running as another user); O_EXCL makes the name ours alone."""
    for _ in range(100):
        tmp = final.parent / f".{final.name}.{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue
    raise T2LError(f"cannot create a temporary file beside {final}", "remove stale .*.tmp files there")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a temp path to write; on success it becomes `path` in one step."""
    final = check_output_path(path, force)
    tmp = _new_temp(final)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if force:
            os.replace(tmp, final)
        else:
            try:
                os.link(tmp, final)
            except FileExistsError:
                raise _already_exists(final) from None
            except OSError:
                # Filesystems without hard links: fall back to an exclusive-create check.
                if final.exists():
                    raise _already_exists(final) from None
                os.replace(tmp, final)
    except OSError as exc:
        if exc.errno == 28:  # ENOSPC
            raise T2LError(f"disk full while writing {final}", "free some space and retry") from None
        raise
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield an empty temp folder beside `path`; on success it replaces `path` in one rename.
    Callers decide beforehand whether replacing an existing folder is allowed."""
    import shutil

    final = Path(path)
    tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

"""Bundle checksums, hashed once per file version.

Hashing the 30 MB bundle cost ~56 ms of every cold `make-adapter`. A file's digest is kept in
the cache with its (size, mtime, ctime, inode); a later load trusts it only while all four are
unchanged. Any write, rename over or `touch -r` changes the ctime, which a user cannot set back,
so a changed file is always hashed again and still refused. `verify="full"` ignores the cache.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .paths import cache_root, sha256_file

CACHE_FILE = "verified-digests.json"
# This process's own copy of the entries it has used: an engine validates every new adapter
# against the same base, and re-reading the JSON file each time cost ~1 ms of a 4 ms validation.
_SEEN: dict[str, list] = {}


def _stamp(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}  # no cache yet, or a damaged one: hash everything


def _write(path: Path, data: dict) -> None:
    from .atomic import atomic_output
    from .errors import T2LError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path, force=True) as tmp:
            tmp.write_text(json.dumps(data), encoding="utf-8")
    except (OSError, T2LError):
        pass  # a read-only cache only costs the next load its hashing


def file_digests(files: list[Path], trust_cache: bool = True) -> dict[Path, str]:
    """sha256 of each file, from the cache where its stamp is unchanged."""
    keyed = [(f, str(Path(f).resolve()), _stamp(os.stat(f))) for f in files]
    if trust_cache and all(_SEEN.get(key, [None])[:4] == stamp for _, key, stamp in keyed):
        return {f: _SEEN[key][4] for f, key, _ in keyed}
    store = cache_root() / CACHE_FILE
    cache = _read(store) if trust_cache else {}
    out, changed = {}, False
    for f, key, stamp in keyed:
        hit = cache.get(key)
        if isinstance(hit, list) and len(hit) == 5 and hit[:4] == stamp:
            out[f] = hit[4]
        else:
            out[f] = sha256_file(f)
            cache[key] = stamp + [out[f]]
            changed = True
        _SEEN[key] = cache[key]  # verified now: this process's next call needs no file read
    if changed:
        if not trust_cache:  # a full check refreshes the entries it hashed, keeps the rest
            cache = {**_read(store), **cache}
        # entries of deleted files (old bundles, test folders) would only grow the file
        _write(store, {k: v for k, v in cache.items() if os.path.exists(k)})
    return out

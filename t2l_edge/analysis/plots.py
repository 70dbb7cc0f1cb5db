"""The figures: results bar chart, t-SNE of generated adapters, FLOPs comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # files only, no screen
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, out: Path) -> Path:
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def results_bars(results: list[dict], out: Path) -> Path:
    """Grouped bars: acc_norm per benchmark (and the average) for each result row."""
    plt = _plt()
    benches = sorted({b for r in results for b in r["benchmarks"]})
    labels = benches + ["AVG"]
    width = 0.8 / max(1, len(results))
    fig, ax = plt.subplots(figsize=(max(8, 1.2 * len(labels)), 4.5))
    for i, r in enumerate(results):
        vals = [100 * r["benchmarks"][b]["acc_norm"] if b in r["benchmarks"] else np.nan for b in benches]
        vals.append(np.nanmean(vals))
        ax.bar(np.arange(len(labels)) + i * width - 0.4 + width / 2, vals, width, label=r.get("label", r["row"]))
    ax.set_xticks(np.arange(len(labels)), labels, rotation=20)
    ax.set_ylabel("acc_norm (%)")
    ax.legend(fontsize=8)
    styles = sorted({r.get("style", "?") for r in results})  # numbers from different styles do not compare
    ax.set_title(f"Held-out benchmarks, SmolLM2-135M-Instruct in llama.cpp ({' + '.join(styles)} style)")
    return _save(plt, fig, out)


def adapter_tsne(features: np.ndarray, groups: list[str], out: Path, seed: int = 0) -> Path:
    """t-SNE (after PCA to 50 dimensions) of flattened generated A/B, coloured by group."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    plt = _plt()
    x = features - features.mean(0)
    x = PCA(n_components=min(50, len(x) - 1), random_state=seed).fit_transform(x)
    xy = TSNE(n_components=2, perplexity=min(30, len(x) // 4), random_state=seed, init="pca").fit_transform(x)
    fig, ax = plt.subplots(figsize=(7, 6))
    for g in sorted(set(groups)):
        idx = [i for i, v in enumerate(groups) if v == g]
        bench = g.startswith("benchmark")
        ax.scatter(xy[idx, 0], xy[idx, 1], s=40 if bench else 12, marker="*" if bench else "o", label=g, alpha=0.8)
    ax.legend(fontsize=7, markerscale=1.2, loc="best")
    ax.set_title("t-SNE of generated adapters (one point per description)")
    ax.set_xticks([])
    ax.set_yticks([])
    return _save(plt, fig, out)


def flops_bars(report: dict, out: Path) -> Path:
    plt = _plt()
    per = report["icl_3shot_extra_flops_per_query"]
    names = ["one adapter\n(once per task)"] + [f"3-shot {b}\n(every query)" for b in per]
    vals = [report["adapter_flops"]["total"]] + list(per.values())
    fig, ax = plt.subplots(figsize=(10, 4))
    ax.bar(names, np.array(vals) / 1e9, color=["C2"] + ["C0"] * len(per))
    ax.set_ylabel("GFLOPs")
    ax.set_title("Making an adapter vs the extra prompt cost of 3-shot ICL (SmolLM2-135M)")
    plt.setp(ax.get_xticklabels(), fontsize=7)
    return _save(plt, fig, out)


def scaling_curve(points: list[tuple[int, float, str]], baselines: dict[str, float], out: Path) -> Path:
    """Held-out average (acc_norm) of T2L vs the number of training tasks it was trained on,
    with reference rows (e.g. the base) as horizontal lines."""
    plt = _plt()
    points = sorted(points)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([p[0] for p in points], [100 * p[1] for p in points], "o-", label="T2L")
    for n, acc, label in points:
        ax.annotate(label, (n, 100 * acc), fontsize=7, textcoords="offset points", xytext=(4, 4))
    for i, (name, acc) in enumerate(sorted(baselines.items())):
        ax.axhline(100 * acc, ls="--", color=f"C{i + 1}", label=name)
    ax.set_xscale("log")
    ax.set_xlabel("training tasks")
    ax.set_ylabel("held-out average acc_norm (%)")
    ax.legend(fontsize=8)
    ax.set_title("T2L vs number of training tasks")
    return _save(plt, fig, out)

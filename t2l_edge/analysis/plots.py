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


def swap_heatmap(result: dict, out: Path) -> Path:
    """The swap matrix of `t2l-edge specificity`: rows are scored tasks, columns the text each
    adapter was made from (then the description-in-prompt rows). Colour is the cell minus its
    row's mean, so acc_norm rows and log-likelihood rows share one scale of "better or worse than
    this task's average"; each cell is annotated with its own value, the diagonal outlined."""
    from ..evaluation.swap_report import short

    plt = _plt()
    tasks, cols = list(result["matrix"]), list(result["columns"])
    extra = [r for r in ("prompt-base", "prompt-own") if all(r in result["per_task"][t] for t in tasks)]
    vals = np.array([[result["matrix"][t][c] for c in cols] + [result["per_task"][t][r] for r in extra] for t in tasks])
    acc = np.array([result["per_task"][t]["metric"] == "acc_norm" for t in tasks])
    shown = np.where(acc[:, None], 100 * vals, vals)
    centred = shown - shown[:, : len(cols)].mean(1, keepdims=True)
    scale = np.where(acc[:, None], 1.0, 10.0)  # 0.1 nat/token reads like 1 accuracy point
    c = centred * scale
    lim = max(1.0, float(np.abs(c).max()))  # at least one point: an all-equal matrix stays white
    labels = [short(x[5:]) if x.startswith("task:") else x for x in cols] + extra
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(labels) + 2), max(3, 0.45 * len(tasks) + 1.8)))
    im = ax.imshow(c, cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
    for i in range(len(tasks)):
        for j in range(len(labels)):
            ax.text(j, i, f"{shown[i, j]:.0f}" if acc[i] else f"{shown[i, j]:.2f}", ha="center", va="center", fontsize=6)
        if f"task:{tasks[i]}" in cols:
            j = cols.index(f"task:{tasks[i]}")
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=1.8, ec="black"))
    if extra:
        ax.axvline(len(cols) - 0.5, color="black", lw=0.8)
    ax.set_xticks(np.arange(len(labels)), labels, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(np.arange(len(tasks)), [f"{short(t)} ({'acc' if a else 'll'})" for t, a in zip(tasks, acc)], fontsize=7)
    ax.set_xlabel("adapter made from")
    fig.colorbar(im, ax=ax, label="cell - row mean (acc points; ll x10)")
    s = result["summary"]
    adv = [f"{m} {100 * d:+.1f}" if m == "acc_norm" else f"{m} {d:+.3f}"
           for m in ("acc_norm", "loglik") if "diagonal_advantage" in s.get(m, {}) for d in [s[m]["diagonal_advantage"]["diff"]]]
    ax.set_title(f"Swap controls, set {result['set']}: diagonal advantage {', '.join(adv) or 'n/a'}; "
                 f"top-1 {100 * s['top1_task']['share']:.0f}% (chance {100 * s['top1_task']['chance']:.0f}%)", fontsize=8)
    return _save(plt, fig, out)

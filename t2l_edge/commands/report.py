"""`t2l-edge report`: render `t2l-edge eval` result files as markdown tables, one per prompt style."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(add_completion=False)


def _delta(r: dict, ref: dict) -> str:
    from ..evaluation.paired import paired_difference

    if r is ref:
        return "(reference)"
    d = paired_difference(r, ref)
    if d is None:
        return "n/a"  # written before per-item records, or scored on other items
    lo, hi = d["ci95"]
    return f"{100 * d['diff']:+.1f} ({100 * lo:+.1f} to {100 * hi:+.1f})"


def _table(results: list[dict], names: list[str], ref: dict | None = None) -> list[str]:
    order = sorted({b for r in results for b in r["benchmarks"]}, key=lambda b: names.index(b) if b in names else 99)
    extra = [f"AVG - {ref.get('label') or ref['row']} (paired 95% CI)"] if ref else []
    lines = ["| row | style | " + " | ".join(order + ["AVG"] + extra) + " |", "|" + "---|" * (len(order) + 3 + len(extra))]
    for r in results:
        cells = []
        for b in order:
            v = r["benchmarks"].get(b)
            if v is None:
                cells.append("-")
                continue
            lo, hi = v["acc_norm_spread"]
            cells.append(f"{100 * v['acc_norm']:.1f}" + (f" ({100 * lo:.1f}-{100 * hi:.1f})" if hi - lo > 1e-9 else ""))
        avg = 100 * sum(r["benchmarks"][b]["acc_norm"] for b in order if b in r["benchmarks"]) / max(1, len(r["benchmarks"]))
        label = r.get("label") or r["row"]
        lines.append(f"| {label} | {r['style']} | " + " | ".join(cells) + f" | {avg:.1f} |"
                     + (f" {_delta(r, ref)} |" if ref else ""))
    return lines


def render(results: list[dict], names: list[str], refs: list[dict] = ()) -> str:
    """One table per prompt style, in order of first appearance: numbers from different styles
    are not comparable (the bare base moves by 20 points between them on one benchmark). A
    reference of the same style adds a column: each row's paired difference from it."""
    styles = list(dict.fromkeys(r["style"] for r in results))
    lines = []
    for style in styles:
        ref = next((f for f in refs if f["style"] == style), None)
        lines += _table([r for r in results if r["style"] == style], names, ref) + [""]
    n = {r.get("limit") for r in results}
    lines.append(f"acc_norm (per-character normalised log-likelihood), in %; items per benchmark: {', '.join(map(str, n))}; "
                 "a range in brackets is the spread across descriptions."
                 + (" Letter style: log-likelihood of the option's letter (acc_norm = acc)." if "letter" in styles else "")
                 + (" Generate: greedy decoding in the chat template; GSM8K exact match of the final number, HumanEval and"
                    " MBPP pass@1." if "generate" in styles else ""))
    return "\n".join(lines)


@app.command(help="Render result JSON files from `t2l-edge eval` as markdown tables, one per prompt style; files from "
                  "`t2l-edge specificity` render as their swap matrix and contrasts.\n\nExamples:\n\n"
                  "  t2l-edge report results/*-letter.json --vs results/base-letter.json --out docs/results.md\n\n"
                  "  t2l-edge report results/swap-bench.json")
def report(files: list[Path] = typer.Argument(..., help="Result JSON files."),
           out: Path | None = typer.Option(None, "--out", help="Also write the table here."),
           vs: list[Path] = typer.Option([], "--vs", help="Reference result file (repeat: one per style). Adds each row's "
                                         "paired average difference from it, with a bootstrap 95% CI over items."),
           force: bool = typer.Option(False, "--force")) -> None:
    from ..core.atomic import atomic_output
    from ..data.benchmarks import BENCHMARKS
    from ..core.errors import T2LError

    from ..evaluation.results import is_swap, load_result as load
    from ..evaluation.swap_report import render_swap

    loaded = [load(f) for f in files]
    results = [r for r in loaded if not is_swap(r)]
    by_path = {f.resolve(): r for f, r in zip(files, loaded)}
    refs = [by_path.get(f.resolve()) or load(f) for f in vs]  # a listed file is its own reference row
    if any(is_swap(r) for r in refs):
        raise T2LError("--vs takes a `t2l-edge eval` result file, not a swap file", "a swap file carries its own contrasts")
    # swap files (`t2l-edge specificity`) are matrices, not rows: each renders as its own section
    parts = ([render(results, list(BENCHMARKS), refs)] if results else []) + [render_swap(r) for r in loaded if is_swap(r)]
    text = "\n\n".join(parts)
    if out:
        with atomic_output(out, force=force) as tmp:
            tmp.write_text(text + "\n")
    typer.echo(text)

"""Regenerate t2l_edge/data/label_words.txt: common English words for the label-words vocab family.

A word qualifies when the base (SmolLM2) spells it as one token with a leading space and the
description encoder (MiniLM) knows it as one whole word, so the generator reads it and the
adapter has a single token to raise. Words of 4-10 lowercase letters, no function words, none
used by the steering check (its descriptions, labels and answers) or by the older label-word
families. Kept in the base tokenizer's merge order, which puts frequent words first.

    .venv/bin/python scripts/make_label_wordlist.py [--count 1500] [--out t2l_edge/data/label_words.txt]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

# Words that read as instructions or glue, not as labels.
FUNCTION_WORDS = set("""
about above after again against also among another answer anything around because been before being below
between both could does doing down during each either else enough ever every from further have having here
into itself just least less many more most much must neither never none nothing often once only other others
ought over same shall should since some something such than that their them then there these they this those
though through under until upon very were what whatever when where whether which while whom whose will with
within without would your yours yourself always sometimes perhaps maybe quite rather really still thus
however therefore although unless whereas already almost true false correct wrong right left
""".split())


def space_words(reader) -> dict[str, int]:
    """{word: token id} for the lowercase words the base spells as one token with a leading
    space (byte-level BPE writes the space as U+0120), in token-id (merge) order."""
    field = reader.fields["tokenizer.ggml.tokens"]
    tokens = [bytes(field.parts[i]).decode("utf-8", "replace") for i in field.data]
    return {t[1:]: i for i, t in enumerate(tokens) if t.startswith("\u0120") and re.fullmatch(r"[a-z]+", t[1:])}


def base_words(gguf_path: Path) -> list[str]:
    """Words of 4-10 letters the base spells as one token, frequent first."""
    from gguf import GGUFReader

    return [w for w in space_words(GGUFReader(str(gguf_path))) if 4 <= len(w) <= 10]


def encoder_words(tokenizer_json: Path) -> set[str]:
    vocab = json.loads(tokenizer_json.read_text())["model"]["vocab"]
    return {w for w in vocab if re.fullmatch(r"[a-z]+", w)}


def excluded_words() -> set[str]:
    from t2l_edge.data import label_vocab, synthetic
    from t2l_edge.evaluation import steer

    out = {w.lower() for p in synthetic.LABEL_WORD_PAIRS for w in p} | {w.lower() for w in label_vocab.WORDS}
    for task in steer.tasks():
        out |= {lab.lower() for lab in task.labels} | set(re.findall(r"[a-z]+", task.description.lower()))
        for _, gold in task.items:
            out |= set(re.findall(r"[a-z]+", gold.lower()))
    return out | FUNCTION_WORDS


def main() -> None:
    from t2l_edge.core.basemodel import default_base_path
    from t2l_edge.hypernet.encoder import minilm_path

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", type=int, default=1500, help="how many words to keep (the most frequent first)")
    p.add_argument("--out", type=Path, default=Path("t2l_edge/data/label_words.txt"))
    args = p.parse_args()
    known, skip = encoder_words(minilm_path() / "tokenizer.json"), excluded_words()
    words = [w for w in dict.fromkeys(base_words(default_base_path())) if w in known and w not in skip]
    if len(words) < args.count:
        raise SystemExit(f"only {len(words)} words qualify; ask for --count {len(words)} or fewer")
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text("\n".join(sorted(words[: args.count])) + "\n")
    tmp.replace(args.out)
    print(f"{args.out}: {args.count} words of {len(words)} that qualify")


if __name__ == "__main__":
    main()

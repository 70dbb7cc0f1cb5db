"""Fast, offline: every relative markdown link in README.md and docs/*.md points to a file or
folder that exists, so moving or renaming a doc cannot leave a dead link behind."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# [text](target) and ![alt](target); the target stops at whitespace or ")" (a title may follow)
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
CODE = re.compile(r"`[^`\n]*`")


def _pages() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def _relative_links(text: str) -> list[str]:
    text = CODE.sub("", FENCE.sub("", text))  # links inside code are examples, not links
    out = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            continue  # http:, mailto:, ... and same-page anchors
        out.append(target)
    return out


def test_link_pattern_finds_relative_links():
    text = "a [x](docs/a.md#sec) ![i](p.png \"t\") [w](https://e.org) [s](#top) `[c](no.md)`"
    assert _relative_links(text) == ["docs/a.md#sec", "p.png"]


def test_every_relative_link_resolves():
    broken = []
    for page in _pages():
        for target in _relative_links(page.read_text("utf-8")):
            path = target.split("#", 1)[0].split("?", 1)[0]
            if path and not (page.parent / path).exists():
                broken.append(f"{page.relative_to(REPO)}: {target}")
    assert not broken, "dead relative links:\n" + "\n".join(broken)

"""Description normalisation, shared by training and the runtime so both see the same text."""

from __future__ import annotations

import re
import unicodedata

from .errors import T2LError

# The encoder reads at most 256 word pieces; ~4 characters a piece on English text, with margin.
MAX_CHARS = 2000
_SPACE = re.compile(r"\s+")


def normalize_description(text: str, max_chars: int = MAX_CHARS) -> tuple[str, str | None]:
    """Return (clean text, warning or None).

    Whitespace is collapsed, and a full stop is appended when the text does not end in
    punctuation, as the T2L paper does before embedding. Control characters are refused rather
    than dropped silently; very long text is cut with a warning that says how much was used.
    """
    if not isinstance(text, str):
        raise T2LError("the description must be text", "pass a string")
    bad = [c for c in text if unicodedata.category(c) in ("Cc", "Cs") and c not in "\t\n\r"]
    if bad:
        raise T2LError(
            f"the description contains control character U+{ord(bad[0]):04X}",
            "remove control characters (tabs and newlines are fine)",
        )
    clean = _SPACE.sub(" ", text).strip()
    if not clean:
        raise T2LError("the description is empty", "describe the task in a sentence, e.g. \"Answer yes or no.\"")
    warning = None
    if len(clean) > max_chars:
        warning = f"description is {len(clean):,} characters; only the first {max_chars:,} were used"
        clean = clean[:max_chars].rstrip()
    if unicodedata.category(clean[-1])[0] != "P":
        clean += "."
    return clean, warning

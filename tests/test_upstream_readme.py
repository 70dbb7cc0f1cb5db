"""Fast: the README's "Use it with" commands are, character for character, the ones the slow
upstream tests run (tests/helpers/upstream_tools.py README_COMMANDS, with the README's placeholder
values), so the README cannot drift from what was tested."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import upstream_tools as up

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_shows_the_tested_commands():
    text = README.read_text("utf-8")
    missing = [name for name in up.README_COMMANDS if up.readme_command(name) not in text]
    assert not missing, f"README.md lacks the tested command(s) {missing}: {[up.readme_command(n) for n in missing]}"


def test_argv_resolves_programs_and_values(tmp_path):
    args = up.argv("export", tmp_path, base="b.gguf", adapter="a b.gguf", merged="m.gguf")
    assert args == [str(tmp_path / "llama-export-lora"), "-m", "b.gguf", "--lora", "a b.gguf", "-o", "m.gguf"]
    assert up.argv("list", tmp_path, port=9)[0] == "curl"

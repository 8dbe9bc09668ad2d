"""The documentation as a property: every command the README shows still parses, the README stays short, every
relative link (and its #anchor) points at something that exists, and every doc is reachable from docs/README.md.

Commands are checked against the real parser (``nstyle.cli.build_parser``) without running them, so a renamed or
removed flag breaks this test rather than a newcomer's first try."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from nstyle.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
#: The README is a door, not a manual: past this many lines it is becoming a notebook again.
README_MAX_LINES = 260

FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
SUBSTITUTION = re.compile(r"\$\(([^()]*)\)")
NUMBER = re.compile(r"^-\d")


def code_blocks(markdown: str) -> list[str]:
    return FENCE.findall(markdown)


def command_lines(markdown: str) -> list[str]:
    """Every ``nstyle ...`` command in the fenced code blocks: continuation lines joined, a ``$ `` prompt dropped,
    commands inside ``$(...)`` included. A line counts when its first word is ``nstyle`` or a path ending in it
    (``.venv/bin/nstyle``); output lines (``nstyle: error: ...``) do not."""
    found = []
    for block in code_blocks(markdown):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line.startswith("$ "):
                line = line[2:]
            candidates = [line] + SUBSTITUTION.findall(line)
            for candidate in candidates:
                words = candidate.split()
                if words and words[0].split("/")[-1] == "nstyle":
                    found.append(candidate)
    return found


def _subparsers(parser: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    return next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)


def command_problems(line: str, parser: argparse.ArgumentParser | None = None) -> list[str]:
    """What is wrong with one command line: an unknown subcommand, a flag its parser lacks (spelt out in full, not
    an abbreviation argparse would guess), or arguments the parser refuses. Empty when it would parse."""
    parser = parser or build_parser()
    words = shlex.split(line, comments=True)[1:]
    problems = []
    current, position = parser, 0
    while (sub := _subparsers(current)) is not None:
        if position >= len(words) or words[position] not in sub.choices:
            got = words[position] if position < len(words) else "nothing"
            return [f"{line!r}: {got!r} is not a command of {current.prog!r} ({', '.join(sub.choices)})"]
        current = sub.choices[words[position]]
        position += 1
    for word in words[position:]:
        if word.startswith("-") and word != "-" and not NUMBER.match(word):
            flag = word.split("=", 1)[0]
            if flag not in current._option_string_actions:
                problems.append(f"{line!r}: {current.prog!r} has no flag {flag}")
    if not problems:
        stderr = io.StringIO()
        try:
            with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
                parser.parse_args(words)
        except SystemExit as refused:
            if refused.code:
                problems.append(f"{line!r}: {stderr.getvalue().strip()}")
    return problems


def heading_anchors(markdown: str) -> set[str]:
    """The anchors GitHub makes of a page's headings: lower case, punctuation but '-' and '_' dropped, spaces to
    '-', a repeated one numbered."""
    anchors: set[str] = set()
    text = FENCE.sub("", markdown)
    for heading in re.findall(r"^#{1,6}\s+(.*?)\s*#*\s*$", text, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        anchor, n = slug, 0
        while anchor in anchors:
            n += 1
            anchor = f"{slug}-{n}"
        anchors.add(anchor)
    return anchors


def link_problems(page: Path, root: Path = ROOT) -> list[str]:
    """Relative links of a Markdown page whose file, or whose #anchor in a Markdown file, does not exist."""
    text = page.read_text()
    problems = []
    for target in LINK.findall(FENCE.sub("", text)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            problems.append(f"{page.relative_to(root)}: {target} -> no such file")
        elif anchor and file.suffix == ".md" and anchor not in heading_anchors(file.read_text()):
            problems.append(f"{page.relative_to(root)}: {target} -> no heading #{anchor} in {path or page.name}")
    return problems


def pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


# The checks themselves.

def test_every_readme_command_parses_with_the_flags_it_shows():
    commands = command_lines(README.read_text())
    assert len(commands) >= 5, commands  # the extractor found the README's commands
    parser = build_parser()
    problems = [p for c in commands for p in command_problems(c, parser)]
    assert not problems, "\n".join(problems)


def test_every_command_in_the_docs_parses_with_the_flags_it_shows():
    parser = build_parser()
    problems = [p for page in sorted(DOCS.glob("*.md")) for c in command_lines(page.read_text())
                for p in command_problems(c, parser)]
    assert not problems, "\n".join(problems)


def test_the_readme_is_short():
    lines = README.read_text().count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; details belong in docs/"


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_something_that_exists(page):
    problems = link_problems(page)
    assert not problems, "\n".join(problems)


def unlinked_docs(docs: Path) -> list[str]:
    """The pages of ``docs`` that its README.md (the index) does not link."""
    index = docs / "README.md"
    linked = {(docs / t.partition("#")[0]).resolve() for t in LINK.findall(index.read_text())}
    return [p.name for p in sorted(docs.glob("*.md")) if p != index and p.resolve() not in linked]


def test_every_doc_is_linked_from_the_docs_index():
    missing = unlinked_docs(DOCS)
    assert not missing, f"docs/README.md does not link {missing}"


def test_the_readme_links_the_docs_index():
    assert "docs/README.md" in LINK.findall(README.read_text())


# Each check can fail: the checkers on samples that are wrong.

SAMPLE = """
Text with `nstyle transfer --nonsense` outside a block (not a command).

```sh
.venv/bin/nstyle transfer a.jpg b.jpg -o out.png --size 256 \\
    --no-such-flag 3
nstyle transmogrify a.jpg
$ nstyle weights fetch vgg19 --force
nstyle video "$(nstyle samples fetch bikes --quick)" b.jpg -o out.mp4
nstyle transfer a.jpg b.jpg -o out.png --optimizer bogus
nstyle transfer a.jpg b.jpg -o out.png --siz 256
nstyle: error: --size 6000 needs about 26 GB
make demo
```
"""


def test_the_extractor_finds_commands_joins_lines_and_drops_prompts_and_output():
    commands = command_lines(SAMPLE)
    assert commands[0].endswith("--size 256      --no-such-flag 3")
    assert "nstyle weights fetch vgg19 --force" in commands
    assert "nstyle samples fetch bikes --quick" in commands
    assert not any(c.startswith("nstyle:") or c.startswith("make") for c in commands)
    assert len(commands) == 7


def test_the_checker_refuses_unknown_flags_commands_values_and_abbreviations():
    parser = build_parser()
    verdicts = {c: command_problems(c, parser) for c in command_lines(SAMPLE)}
    wrong = {c for c, p in verdicts.items() if p}
    assert wrong == {c for c in verdicts if "weights fetch" not in c and not c.startswith("nstyle video")}
    assert any("no flag --no-such-flag" in p for p in verdicts[command_lines(SAMPLE)[0]])
    assert any("transmogrify" in p for p in verdicts["nstyle transmogrify a.jpg"])
    assert any("no flag --quick" in p for p in verdicts["nstyle samples fetch bikes --quick"])
    assert any("bogus" in p for p in verdicts["nstyle transfer a.jpg b.jpg -o out.png --optimizer bogus"])
    assert any("no flag --siz" in p for p in verdicts["nstyle transfer a.jpg b.jpg -o out.png --siz 256"])
    assert verdicts["nstyle weights fetch vgg19 --force"] == []


def test_the_link_checker_sees_missing_files_and_anchors(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## A heading (`--flag`)\n")
    page = tmp_path / "page.md"
    page.write_text("[ok](other.md#a-heading---flag) [gone](missing.md) [bad anchor](other.md#nowhere) "
                    "[web](https://example.com/x) ![img](nope.png)\n\n```\n[in code](ignored.md)\n```\n")
    problems = link_problems(page, root=tmp_path)
    assert len(problems) == 3, problems
    assert any("missing.md" in p for p in problems) and any("#nowhere" in p for p in problems)
    assert any("nope.png" in p for p in problems)


def test_anchors_follow_githubs_rules():
    anchors = heading_anchors("# nstyle\n## Automatic semantic maps (`--auto-maps`)\n## Jobs\n## Jobs\n"
                              "### `POST /api/jobs` → 201\n")
    assert {"nstyle", "automatic-semantic-maps---auto-maps", "jobs", "jobs-1", "post-apijobs--201"} <= anchors


def test_the_index_check_sees_an_unlinked_page(tmp_path):
    (tmp_path / "README.md").write_text("# Index\n\n[A](A.md#part)\n")
    (tmp_path / "A.md").write_text("# A\n")
    (tmp_path / "B.md").write_text("# B\n")
    assert unlinked_docs(tmp_path) == ["B.md"]

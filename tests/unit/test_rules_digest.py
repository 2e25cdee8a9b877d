"""Every rule the code cites resolves inside the repository: `domain.md §N` (or §N.M,
item M of section N) in docs/domain.md, `S§N` (the N-th paragraph of the provincial
work plan) in docs/source-document-zh.md. Both are copies, kept current from the
project's shared documents beside the repository (../shared/docs/): when those are
there, the copies must equal them."""

from __future__ import annotations

import re

import pytest

from shared.platform import config

ROOT = config.REPO_ROOT
DIGEST = ROOT / "docs" / "domain.md"
SOURCE = ROOT / "docs" / "source-document-zh.md"
CITED = re.compile(r"domain\.md §(\d+)(?:\.(\d+))?")
CITED_SOURCE = re.compile(r"S§(\d+)")


def _code_and_docs():
    for path in [*ROOT.glob("services/**/*.py"), *ROOT.glob("shared/**/*.py"),
                 *ROOT.glob("shared/**/*.sql"), *ROOT.glob("services/**/*.sql"),
                 *ROOT.glob("docs/*.md"), ROOT / "README.md"]:
        yield path, path.read_text()


def _sections(text: str) -> dict[str, str]:
    """Section number → its text (from its `## N.` heading to the next)."""
    parts = re.split(r"^## (\d+)\. ", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_every_cited_rule_is_in_the_digest():
    sections = _sections(DIGEST.read_text())
    unresolved = []
    for path, text in _code_and_docs():
        for section, item in CITED.findall(text):
            body = sections.get(section)
            if body is None or (item and not re.search(rf"^{item}\. ", body, flags=re.M)):
                unresolved.append(f"{path.relative_to(ROOT)}: domain.md §{section}"
                                  + (f".{item}" if item else ""))
    assert unresolved == []


def test_every_cited_paragraph_is_in_the_source_document():
    paragraphs = set(re.findall(r"^\*\*§(\d+)\*\*", SOURCE.read_text(), flags=re.M))
    unresolved = sorted({f"{path.relative_to(ROOT)}: S§{n}" for path, text in _code_and_docs()
                         for n in CITED_SOURCE.findall(text) if n not in paragraphs})
    assert unresolved == []


@pytest.mark.parametrize("name", ["domain.md", "source-document-zh.md"])
def test_the_copies_are_current(name):
    original = ROOT.parent / "shared" / "docs" / name
    if not original.exists():
        pytest.skip(f"{original} is not beside this checkout (a clone elsewhere)")
    assert (ROOT / "docs" / name).read_text() == original.read_text(), (
        f"docs/{name} differs from {original}: copy it again")

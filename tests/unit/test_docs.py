"""The docs a new user reads stay inside the repository and agree with the code."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from mercato import settings
from mercato.settings import ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve_inside_the_repository(doc):
    for target in LINK.findall(doc.read_text()):
        if re.match(r"[a-z]+:", target):  # http(s), mailto: not a file
            continue
        path = (doc.parent / target).resolve()
        assert path.is_relative_to(ROOT), f"{doc.name} links outside the repository: {target}"
        assert path.exists(), f"{doc.name} links to a missing file: {target}"


def test_the_readme_points_to_the_spec_in_the_repository():
    readme = (ROOT / "README.md").read_text()
    assert "../shared" not in readme
    assert "(docs/spec/README.md)" in readme
    assert (ROOT / "docs" / "spec" / "api-conventions.md").exists()


def test_the_readme_lists_every_setting_as_the_help_does():
    readme = (ROOT / "README.md").read_text()
    for name, meaning, default in ENVIRONMENT:
        assert f"| `{name}` | {meaning} | {default} |" in readme


def test_every_setting_read_is_documented():
    read = set(re.findall(r"environ\.get\(\s*\"([A-Z_]+)\"", inspect.getsource(settings)))
    assert read and read <= {name for name, _, _ in ENVIRONMENT}

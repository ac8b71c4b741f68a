"""The repo stands alone: nothing in it points outside the clone, and the README's links resolve inside it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", "build", "dist"}
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".toml", ".txt", ".sh", ".json", ".html", ".js", ".css", ".mako", ""}
# Spelt in pieces so this file does not find itself.
OUTSIDE = ("../" + "shared", "FACTS" + ".md")


def project_files() -> list[Path]:
    found = []
    for path in ROOT.rglob("*"):
        parts = path.relative_to(ROOT).parts
        if any(part in SKIP_DIRS or part.endswith(".egg-info") for part in parts) or parts[:2] == (
            "benchmarks",
            "results",
        ):
            continue  # not part of a clone: built or generated locally
        if path.is_file() and path.suffix in TEXT_SUFFIXES and path.stat().st_size < 2_000_000:
            found.append(path)
    return found


def test_no_file_points_outside_the_repo() -> None:
    offenders = []
    for path in project_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{path.relative_to(ROOT)}: {needle}" for needle in OUTSIDE if needle in text]
    assert offenders == []


def test_readme_and_design_links_resolve_inside_the_repo() -> None:
    for document in (ROOT / "README.md", ROOT / "docs" / "DESIGN.md"):
        text = document.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)\)", text):
            if re.match(r"^[a-z]+:", target):
                continue  # a web address
            resolved = (document.parent / target).resolve()
            assert resolved.is_relative_to(ROOT), (document.name, target)
            assert resolved.exists(), (document.name, target)

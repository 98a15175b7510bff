"""The shared vocabulary and the parser's independence from the ledger's storage."""

from __future__ import annotations

import ast
from pathlib import Path

import vocab

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = ("db", "services", "handlers", "cli", "bot", "settings", "nlp")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _top(name: str) -> str:
    return name.split(".", 1)[0]


def test_the_parser_reads_nothing_of_the_database_or_the_services():
    offending = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "nlp").rglob("*.py"))
        for name in _imported_modules(path)
        if _top(name) in ("db", "services", "handlers", "cli")
    }
    assert not offending


def test_the_vocabulary_imports_nothing_of_the_project():
    imported = {_top(name) for name in _imported_modules(ROOT / "vocab.py")}
    assert not imported & set(PROJECT_PACKAGES)


def test_categories_are_distinct_ledger_words():
    assert len(set(vocab.CATEGORIES)) == len(vocab.CATEGORIES) == 10
    assert "饮水" in vocab.CATEGORIES and "兜底保障" in vocab.CATEGORIES


def test_every_role_has_a_chinese_label():
    assert set(vocab.ROLE_LABELS) == set(vocab.Role)
    assert vocab.ROLE_LABELS[vocab.Role.SUPERVISOR] == "督巡办"

"""The domain says nothing to a patient: every sentence they read or hear is in the catalogue.

`portal_core` raises typed errors with a message id and data, and returns views of data; the
wording floor (`wording/catalogue.py`) puts them into each channel's words. A sentence written in
the domain instead can't be translated, is worded once for every channel, and drifts from the
catalogue's facts, and nothing else would notice: the domain's own tests pass either way. So
every module of the domain is parsed and every string constant that reads like a sentence is
found, except where a sentence is not for a patient:
- docstrings, and the text of errors that are bugs, never shown (`ValueError`, `TypeError`, ...);
- log lines and warnings (for operators);
- the modules that talk to operators, not patients (below, each with its reason).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from portal_core.config import PROJECT_ROOT

DOMAIN = PROJECT_ROOT / "portal_core"

# Modules whose sentences are for operators or developers, never a patient.
OPERATOR_MODULES = {
    "cli.py": "the operators' command line",
    "db_roles.py": "the database roles report of `portal_core.cli db-roles`",
    "config.py": "start-up refusals of a bad configuration",
    "seed.py": "demo data (names, notes and results a clinician wrote, not the assistant)",
    "security_alerts.py": "alerts to the security team",
}
# Calls whose string arguments are for operators or developers.
NOT_FOR_PATIENTS = re.compile(
    r"^(log|logger|logging|warnings)\.|"
    r"^(ValueError|TypeError|KeyError|RuntimeError|AssertionError|LookupError|"
    r"NotImplementedError|Unavailable|SystemExit)$"
)
# Reads like a sentence: starts with a capital, has three or more words, ends like one.
SENTENCE = re.compile(r"^[A-Z][^\n]*\s\S+\s\S+.*[.?!:]\s*$", re.S)


def _called(node: ast.Call) -> str:
    return ast.unparse(node.func)


def _docstrings(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            first = body[0] if body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def _exempt(tree: ast.AST) -> set[int]:
    """The string constants inside calls for operators or developers."""
    exempt: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and NOT_FOR_PATIENTS.search(_called(node)):
            exempt |= {id(inner) for inner in ast.walk(node)}
    return exempt


def _text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
        )
    return None


def sentences(path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = _docstrings(tree) | _exempt(tree)
    inside_fstring = {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values
    }
    # Implicitly concatenated strings are one Constant already; a sentence built with + is
    # caught by its parts.
    for node in ast.walk(tree):
        if id(node) in skip or id(node) in inside_fstring:
            continue
        text = _text(node)
        if text is not None and SENTENCE.match(text.strip()):
            yield node.lineno, text.strip()


def domain_modules() -> list[Path]:
    return sorted(
        path
        for path in DOMAIN.rglob("*.py")
        if path.name not in OPERATOR_MODULES and "migrations" not in path.parts
    )


def test_the_domain_writes_no_sentence_for_a_patient() -> None:
    found = [
        f"{path.relative_to(PROJECT_ROOT)}:{line}: {text[:70]!r}"
        for path in domain_modules()
        for line, text in sentences(path)
    ]
    assert not found, (
        "patient-facing sentences in the domain; raise with key=/data= and word them in "
        "wording/catalogue.py:\n" + "\n".join(found)
    )


def test_the_scan_finds_a_sentence_where_one_is_written(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""A docstring is not a sentence for a patient."""\n'
        "def f(n):\n"
        '    log.info("This is for the operators only.")\n'
        '    raise ValueError("A bug, never shown to anyone.")\n'
        '    raise NotFound(f"Sorry, I couldn\'t find {n} of those.")\n'
        'LABELS = {"ok": "Your refill is on its way."}\n'
    )
    assert sorted(line for line, _ in sentences(sample)) == [5, 6]


def test_every_operator_module_still_exists() -> None:
    assert all((DOMAIN / name).exists() for name in OPERATOR_MODULES)

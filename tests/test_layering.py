"""The floors of the house, checked over the import graph: a lower floor never imports a higher one.

`portal_core` (the domain) must run without Rasa, the web server, Twilio or the channels, so the
bot, the channels, the operations scripts and the tests all ask it the same questions;
`channel_state` (what the Twilio channels remember, in the portal database) and `wording` (the
per-channel renderers) sit on top of the domain and below the bot. A forbidden import is easy to
add by accident (one line in a function body) and is invisible in review, so every .py file of
each guarded package is parsed with `ast` and every import in it, at module level or inside a
function, relative or absolute, or a constant `importlib.import_module("...")`, is checked.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from portal_core.config import PROJECT_ROOT

# What the rest of the project is built from: the assistant, its channels and servers.
_ABOVE_THE_CHANNELS = frozenset({"bot", "web", "ops", "eval", "tests", "rasa", "rasa_sdk"})
_SERVERS = frozenset({"sanic", "twilio"})

# Guarded package -> the top-level packages none of its modules may import.
FORBIDDEN: Mapping[str, frozenset[str]] = {
    "portal_core": _ABOVE_THE_CHANNELS | _SERVERS | {"channel_state", "wording"},
    # Channel state may use the domain (the database, the patient a phone belongs to) and parse a
    # reply with the SMS renderer's choice numbers; it never words or sends anything itself.
    "channel_state": _ABOVE_THE_CHANNELS | _SERVERS,
    # Renderers turn words into words for a channel: no state, no servers.
    "wording": _ABOVE_THE_CHANNELS | _SERVERS | {"channel_state"},
    # Words to ids and values: it reads the domain's views and constants, never the channels.
    # (portal_core's word-taking services, e.g. prescriptions.find_medication, still call it.)
    "understanding": _ABOVE_THE_CHANNELS | _SERVERS | {"channel_state", "wording"},
}

# (importing module, imported module) -> why it is allowed. Keep it short; every entry must still
# be needed (test_every_allowed_import_is_still_needed), so a fixed one can't linger here.
ALLOWED: Mapping[tuple[str, str], str] = {
    ("portal_core.cli", "channel_state.retention"): (
        "the command line is the process entry point (`python -m portal_core.cli`, used by the "
        "deployment and cron); it wires the channel floor's retention into `prune-deliveries` so "
        "that command keeps its name. Nothing in the domain imports portal_core.cli."
    ),
}


@dataclass(frozen=True)
class Violation:
    module: str  # the module that imports
    imported: str  # what it imports
    line: int

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported}"


def module_name(root: Path, path: Path) -> str:
    """`portal_core/models/base.py` -> `portal_core.models.base`; a package's `__init__` -> it."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolved(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a (possibly relative) `from ... import` names."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(root: Path, path: Path) -> Iterator[tuple[str, int]]:
    """Every module `path` imports, with the line; `from a import b` yields `a.b` (b may be a
    module or a name in `a`; either way its top-level package is `a`'s)."""
    module = module_name(root, path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            source = _resolved(module, is_package, node)
            for alias in node.names:
                yield (source if alias.name == "*" else f"{source}.{alias.name}"), node.lineno
        elif (
            isinstance(node, ast.Call)
            and _called_name(node.func) in {"import_module", "__import__"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            yield node.args[0].value, node.lineno


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _is_within(imported: str, target: str) -> bool:
    return imported == target or imported.startswith(target + ".")


def _allowed(module: str, imported: str, allowed: Mapping[tuple[str, str], str]) -> bool:
    return any(module == importer and _is_within(imported, target) for importer, target in allowed)


def violations(
    root: Path,
    forbidden: Mapping[str, frozenset[str]] = FORBIDDEN,
    allowed: Mapping[tuple[str, str], str] = ALLOWED,
) -> list[Violation]:
    """Every import under `root` that breaks `forbidden` and is not in `allowed`."""
    found = []
    for package, banned in forbidden.items():
        for path in sorted((root / package).rglob("*.py")):
            module = module_name(root, path)
            for imported, line in imports_of(root, path):
                if imported.split(".")[0] in banned and not _allowed(module, imported, allowed):
                    found.append(Violation(module, imported, line))
    return sorted(set(found), key=lambda v: (v.module, v.line, v.imported))


def unused_allowances(
    root: Path, allowed: Mapping[tuple[str, str], str] = ALLOWED
) -> list[tuple[str, str]]:
    """Entries of `allowed` whose import no longer exists."""
    unused = []
    for importer, target in allowed:
        path = root / Path(*importer.split("."))
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        used = path.is_file() and any(
            _is_within(imported, target) for imported, _ in imports_of(root, path)
        )
        if not used:
            unused.append((importer, target))
    return unused


# ---------------------------------------------------------------------------------------------
# The project


def test_each_floor_imports_only_the_floors_below() -> None:
    found = violations(PROJECT_ROOT)
    assert not found, "layering broken:\n" + "\n".join(map(str, found))


def test_every_allowed_import_is_still_needed() -> None:
    assert unused_allowances(PROJECT_ROOT) == []


def test_every_guarded_package_exists_and_has_modules() -> None:
    """A renamed package would otherwise make the walk above pass by finding nothing."""
    for package in FORBIDDEN:
        assert (PROJECT_ROOT / package / "__init__.py").is_file(), package
        assert len(list((PROJECT_ROOT / package).rglob("*.py"))) > 1, package


# ---------------------------------------------------------------------------------------------
# The checker itself, on a fake tree: it must catch what it claims to catch.


def _tree(root: Path, files: Mapping[str, str]) -> Path:
    for package in FORBIDDEN:
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").write_text("")
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not (path.parent / "__init__.py").exists():
            (path.parent / "__init__.py").write_text("")
        path.write_text(source)
    return root


@pytest.mark.parametrize(
    ("name", "source", "expected"),
    [
        ("portal_core/a.py", "import bot.actions\n", "portal_core.a:1 imports bot.actions"),
        (
            "portal_core/a.py",
            "from rasa_sdk import Action\n",
            "portal_core.a:1 imports rasa_sdk.Action",
        ),
        ("portal_core/a.py", "import sanic\n", "portal_core.a:1 imports sanic"),
        (
            "portal_core/a.py",
            "from twilio.rest import Client\n",
            "portal_core.a:1 imports twilio.rest.Client",
        ),
        (
            "portal_core/a.py",
            "from channel_state import opt_out\n",
            "portal_core.a:1 imports channel_state.opt_out",
        ),
        ("portal_core/a.py", "import wording.speech\n", "portal_core.a:1 imports wording.speech"),
        (
            "portal_core/models/b.py",
            "def f():\n    from web import page\n",
            "portal_core.models.b:2 imports web.page",
        ),
        (
            "portal_core/a.py",
            "import importlib\nimportlib.import_module('ops.run')\n",
            "portal_core.a:2 imports ops.run",
        ),
        (
            "channel_state/a.py",
            "from bot.channels import x\n",
            "channel_state.a:1 imports bot.channels.x",
        ),
        ("channel_state/a.py", "import rasa.core\n", "channel_state.a:1 imports rasa.core"),
        (
            "wording/a.py",
            "from channel_state.models import X\n",
            "wording.a:1 imports channel_state.models.X",
        ),
        ("wording/a.py", "from ops import clients\n", "wording.a:1 imports ops.clients"),
    ],
)
def test_a_forbidden_import_is_caught(
    tmp_path: Path, name: str, source: str, expected: str
) -> None:
    root = _tree(tmp_path, {name: source})
    assert expected in [str(v) for v in violations(root, allowed={})]


def test_relative_imports_are_resolved(tmp_path: Path) -> None:
    """`from .. import x` in a fake top-level package still names the package it reaches."""
    root = _tree(tmp_path, {"portal_core/sub/a.py": "from ..b import c\nfrom . import d\n"})
    names = {imported for imported, _ in imports_of(root, root / "portal_core/sub/a.py")}
    assert names == {"portal_core.b.c", "portal_core.sub.d"}


def test_permitted_imports_pass(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "portal_core/a.py": "import sqlalchemy\nfrom portal_core import b\n",
            "portal_core/b.py": "from .a import sqlalchemy\n",
            "channel_state/a.py": (
                "from portal_core.database import Database\nfrom wording import sms\n"
            ),
            "wording/sms.py": "from portal_core.records import LabResultView\n",
            "bot/a.py": "import channel_state, wording, portal_core, rasa_sdk\n",
            "portal_core/words.py": "SAY = 'from bot import x'  # a string, not an import\n",
        },
    )
    assert violations(root, allowed={}) == []


def test_an_allowance_covers_only_its_own_module_and_target(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "portal_core/cli.py": "from channel_state import retention\n",
            "portal_core/other.py": "from channel_state import retention\n",
            "portal_core/cli2.py": "from channel_state import opt_out\n",
        },
    )
    allowed = {("portal_core.cli", "channel_state.retention"): "entry point"}
    assert [str(v) for v in violations(root, allowed=allowed)] == [
        "portal_core.cli2:1 imports channel_state.opt_out",
        "portal_core.other:1 imports channel_state.retention",
    ]
    assert unused_allowances(root, allowed) == []
    (root / "portal_core/cli.py").write_text("")
    assert unused_allowances(root, allowed) == [("portal_core.cli", "channel_state.retention")]

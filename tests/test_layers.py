"""The shape of the code: imports run one way, and the contract copy is current.

Layers, top first: the web layer (app.web, app.pages, app.exports, app.__main__) →
app.schema → app.resolvers → app.services → app.models. A module may import its own layer
or any layer below, never one above — counting imports inside functions; only
`if TYPE_CHECKING:` blocks are exempt (they never run). Within the whole of app/ no two
modules may import each other, directly or through others.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"

# Lower number = lower layer. Modules not listed (app.ids, app.errors, app.clock, app.db,
# app.config, app.auth, app.mail, …) are foundations every layer may use; they must not
# import any layer above app.models.
LAYERS = {
    "app.models": 0,
    "app.services": 1,
    "app.resolvers": 2,
    "app.schema": 3,
    "app.web": 4,
    "app.pages": 4,
    "app.scim": 4,
    "app.exports": 4,
    "app.__main__": 4,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = frozenset(module_name(p) for p in APP.rglob("*.py"))


def layer_of(module: str) -> int:
    for prefix, layer in sorted(LAYERS.items(), key=lambda item: -len(item[0])):
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return -1  # a foundation


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in (
            "TYPE_CHECKING",
            "typing.TYPE_CHECKING",
        ):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(path: Path) -> set[str]:
    """The app modules `path` imports at run time (function bodies included)."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_lines(tree)
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    found: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            # `from package import module` imports that module; `from module import name`
            # imports the module.
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in MODULES else base)
    return {name for name in found if name in MODULES}


def _graph() -> dict[str, set[str]]:
    return {
        module_name(path): imports_of(path)
        for path in APP.rglob("*.py")
        if "migrations" not in path.parts
    }


def test_no_import_goes_up_a_layer() -> None:
    upward = [
        f"{module} → {target}"
        for module, targets in _graph().items()
        for target in targets
        if layer_of(target) > max(layer_of(module), 0)
        or (layer_of(module) == -1 and layer_of(target) > 0)
    ]
    assert upward == [], "imports against the layering:\n" + "\n".join(sorted(upward))


def test_no_import_cycle() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if target == module or target not in graph:
                continue
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == [], "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


def test_the_layer_check_sees_function_local_imports() -> None:
    """The check itself: an import inside a function counts, one under TYPE_CHECKING does not."""
    probe = APP / "resolvers" / "_layer_probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from app.schema.context import Info\n"
        "def f():\n    from app.schema import errors\n"
    )
    try:
        assert imports_of(probe) == {"app.schema.errors"}
    finally:
        probe.unlink()


def test_contract_copy_is_current() -> None:
    """docs/API.md is the contract the server implements: the same text as the shared one."""
    copy = (ROOT / "docs" / "API.md").read_text()
    assert copy.startswith("# Roster GraphQL API — the contract")
    shared = ROOT.parent / "shared" / "API.md"
    if shared.exists():
        assert copy == shared.read_text(), "docs/API.md differs from ../shared/API.md: copy it"

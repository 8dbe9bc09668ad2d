"""The package's structure as a property: tiers that import only downwards, no import cycles, and a command line
that starts without torch."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "nstyle"

# Low to high: a module may import its own tier and the tiers before it, never one after it.
TIERS = [
    ("base", ("nstyle", "nstyle.errors", "nstyle.exitcodes")),
    ("io", ("nstyle.io",)),
    ("models", ("nstyle.models",)),
    ("core", ("nstyle.core",)),
    ("video", ("nstyle.video",)),
    ("eval", ("nstyle.eval",)),
    ("jobs", ("nstyle.jobs",)),
    ("web", ("nstyle.web",)),
    ("commands", ("nstyle.commands", "nstyle.cli", "nstyle.__main__")),
]
#: Same-height tiers that must not know each other.
APART = {frozenset({"video", "eval"})}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def tier_of(module: str) -> str:
    best = max(((name, prefix) for name, prefixes in TIERS for prefix in prefixes
                if module == prefix or module.startswith(prefix + ".")), key=lambda t: len(t[1]))
    return best[0]


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, child.end_lineno + 1))
    return lines


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every nstyle module ``name`` imports, at the top or inside functions (not those for type checkers only)."""
    tree = ast.parse(path.read_text())
    skip = _type_checking_lines(tree)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            if not base.startswith("nstyle"):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("nstyle"))
    return {m for m in found if m != name}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_every_module_belongs_to_a_tier():
    assert all(tier_of(m) for m in modules())


def test_tiers_import_only_downwards():
    order = [name for name, _ in TIERS]
    wrong = []
    for module, targets in graph().items():
        mine = tier_of(module)
        for target in targets:
            theirs = tier_of(target)
            if order.index(theirs) > order.index(mine) or frozenset({mine, theirs}) in APART:
                wrong.append(f"{module} ({mine}) imports {target} ({theirs})")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    edges = graph()
    # Package __init__ modules are passed through by Python on the way to a submodule; an edge to a package means
    # its __init__ only.
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)


def test_the_library_never_imports_its_interfaces():
    for module, targets in graph().items():
        if tier_of(module) not in ("web", "commands"):
            assert not [t for t in targets if tier_of(t) in ("web", "commands")], module


def test_the_checker_sees_a_forbidden_import(tmp_path):
    """The rules fail where they should: a core module that imported the command line would be reported."""
    fake = {"nstyle.core.fake": tmp_path / "fake.py", "nstyle.cli": PACKAGE / "cli.py"}
    fake["nstyle.core.fake"].write_text("from ..cli import main\n")
    found = imports("nstyle.core.fake", fake["nstyle.core.fake"], fake)
    assert found == {"nstyle.cli"} and tier_of("nstyle.cli") == "commands"


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["transfer", "--help"], ["models"],
                                  ["weights", "list"]])
def test_the_command_line_starts_without_torch(argv):
    code = ("import sys; from nstyle.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'numpy', 'cv2', 'matplotlib', 'fastapi') if m in sys.modules]\n"
            "print('HEAVY:' + ','.join(heavy))")
    env = dict(os.environ, PYTHONPATH=str(PACKAGE.parent))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    heavy = out.stdout.strip().splitlines()[-1]
    assert heavy == "HEAVY:", f"nstyle {' '.join(argv)} imported {heavy.removeprefix('HEAVY:')}"

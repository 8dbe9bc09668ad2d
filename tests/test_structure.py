"""The package's structure as a property: tiers that import only downwards, no import cycles, and a command line
that starts without torch."""

import ast
import json
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


#: Command lines that parse and run without painting, and a line of what each must print.
STARTS = [(["--version"], "nstyle "), (["--help"], "transfer"), (["transfer", "--help"], "--style-weight"),
          (["compare", "--help"], "--models"), (["models"], "vgg19"), (["weights", "list"], "vgg19")]
HEAVY = ("torch", "numpy", "cv2", "matplotlib", "fastapi")
#: Seconds of the start-up's own work (importing the command line, building every parser, parsing a line).
STARTUP_LIMIT_S = 0.5


def start(argv: list[str]) -> dict:
    """``nstyle ARGV`` in a fresh interpreter: its exit status, its output, the heavy modules it loaded, and the wall
    and CPU seconds of the import and the parse (the interpreter's own start left out)."""
    code = ("import contextlib, io, json, sys, time\n"
            "wall, cpu, out = time.perf_counter(), time.process_time(), io.StringIO()\n"
            "with contextlib.redirect_stdout(out):\n"
            "    from nstyle.cli import main\n"
            f"    status = main({argv!r})\n"
            "wall, cpu = time.perf_counter() - wall, time.process_time() - cpu\n"
            f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
            "print(json.dumps({'status': status, 'out': out.getvalue(), 'heavy': heavy, 'wall': wall, 'cpu': cpu}))")
    env = dict(os.environ, PYTHONPATH=str(PACKAGE.parent))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]) | {"err": done.stderr}


@pytest.mark.parametrize(("argv", "expected"), STARTS)
def test_the_command_line_starts_without_torch(argv, expected):
    """Each line really runs (exit 0 and its own output, not a usage error's) without loading torch or the other
    heavy modules."""
    ran = start(argv)
    assert ran["status"] == 0, ran["err"]
    assert expected in ran["out"], ran["out"][:500]
    assert ran["heavy"] == [], f"nstyle {' '.join(argv)} imported {', '.join(ran['heavy'])}"


def test_the_start_up_check_tells_a_rejected_line_from_one_that_ran():
    """A line argparse refuses exits 2 with nothing on stdout: the checks above would fail on it."""
    ran = start(["transfer", "content.jpg", "style.jpg", "-o", "out.png", "--no-such-flag"])
    assert ran["status"] == 2 and "--style-weight" not in ran["out"] and "unrecognized arguments" in ran["err"]


def test_the_command_line_starts_quickly():
    """``nstyle transfer --help``'s import and parse take under STARTUP_LIMIT_S of CPU time, the best of five runs.
    CPU time, not wall time: on a machine shared with other work the wall clock measures the neighbours.
    """
    runs = [start(["transfer", "--help"]) for _ in range(5)]
    best = min(r["cpu"] for r in runs)
    wall = min(r["wall"] for r in runs)
    assert best < STARTUP_LIMIT_S, f"start-up took {best:.3f} s of CPU (best of 5; wall {wall:.3f} s)"

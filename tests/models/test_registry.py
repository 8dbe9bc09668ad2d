"""The registry of networks: data only, so listing them imports no torch and no model; no import cycles."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import nstyle
from nstyle.errors import UsageError
from nstyle.models import registry
from nstyle.models.base import Backbone

SRC = Path(nstyle.__file__).resolve().parents[1]
MODELS = SRC / "nstyle" / "models"
NAMES = ["vgg19", "vgg16", "resnet50", "inception_v3", "squeezenet1_1", "alexnet"]


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter on this checkout's sources, so sys.modules shows what it imported."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=os.environ | {"PYTHONPATH": str(SRC)} | env)


def test_listing_the_networks_imports_no_torch_numpy_or_model():
    proc = run_python(
        "import sys\n"
        "from nstyle.models.registry import get_record, model_names, records\n"
        "rs = records(); model_names(); get_record('vgg19').cache_path(); rs['resnet50'].download_size\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('nstyle'))\n"
        "assert loaded == ['nstyle', 'nstyle.errors', 'nstyle.exitcodes', 'nstyle.io', 'nstyle.io.packages',\n"
        "                  'nstyle.models', 'nstyle.models.registry'], loaded\n"
        "assert 'torch' not in sys.modules and 'numpy' not in sys.modules\n"
        "print(' '.join(rs))\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == NAMES


def test_weights_list_imports_no_torch(tmp_path):
    import numpy as np
    from safetensors.numpy import save_file

    (tmp_path / "weights").mkdir()
    save_file({"x": np.zeros(1, np.float32)}, str(tmp_path / "weights" / "alexnet.safetensors"),
              metadata={"nstyle_network": "alexnet", "nstyle_format": "1"})
    proc = run_python(
        "import sys\n"
        "from nstyle.commands.weights import cmd_weights_list, cmd_weights_path\n"
        "from argparse import Namespace\n"
        "assert cmd_weights_list(Namespace()) == 0\n"
        "assert cmd_weights_path(Namespace(name='alexnet')) == 0\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n", NSTYLE_CACHE=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line.split()[1] for line in proc.stdout.splitlines()[1:-1]}
    assert list(rows) == NAMES + ["arbitrary_style"] and rows["alexnet"] == "yes" and rows["vgg19"] == "no"
    assert proc.stdout.splitlines()[-1] == str(tmp_path / "weights" / "alexnet.safetensors")


def test_records_in_the_order_of_nstyle_models():
    assert list(registry.records()) == NAMES == registry.model_names()
    assert all(name == record.name for name, record in registry.records().items())


def test_every_reference_resolves():
    for record in registry.records().values():
        cls = record.backbone_class()
        assert isinstance(cls, type) and issubclass(cls, Backbone) and cls.name == record.name
        assert record.build is cls and callable(record.convert)
        assert record.convert is registry.resolve(record.converter)
        assert record.builder.startswith("nstyle.models.") and record.converter.startswith("nstyle.models.")


def test_smallest_input_comes_from_the_class():
    assert registry.get_record("inception_v3").build.min_input_size == 75
    assert registry.get_record("vgg19").build.min_input_size == Backbone.min_input_size == 16


def test_unknown_network_is_a_usage_error_listing_the_names():
    with pytest.raises(UsageError) as err:
        registry.get_record("bogus")
    assert str(err.value) == f"unknown network 'bogus'; choose from: {', '.join(NAMES)}"
    assert err.value.exit_code == 2


def _import_time_imports(path: Path) -> set[str]:
    """Modules of ``nstyle.models`` (and others, fully named) that ``path`` imports when it is imported:
    module-level imports, not those under ``if TYPE_CHECKING:`` nor inside functions."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()

    def visit(nodes):
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
            elif isinstance(node, (ast.If, ast.Try, ast.With)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level == 0:
                    found.add(node.module)
                    continue
                package = "nstyle.models" if node.level == 1 else "nstyle"
                base = f"{package}.{node.module}" if node.module else package
                found.add(base)
                if not node.module:
                    found.update(f"{base}.{alias.name}" for alias in node.names)

    visit(tree.body)
    return found


def test_no_import_cycles_in_models_and_registry_imports_stdlib_only():
    modules = {f"nstyle.models.{p.stem}": p for p in MODELS.glob("*.py") if p.stem != "__init__"}
    graph = {name: {m for m in _import_time_imports(path) if m in modules} for name, path in modules.items()}
    assert graph["nstyle.models.registry"] == set()
    registry_imports = _import_time_imports(modules["nstyle.models.registry"])
    assert {m.split(".")[0] for m in registry_imports} - {"nstyle", "__future__"} <= set(sys.stdlib_module_names)
    assert {m for m in registry_imports if m.startswith("nstyle")} == {"nstyle.errors", "nstyle.io.packages"}
    packages_imports = _import_time_imports(MODELS.parent / "io" / "packages.py")  # shared with the sample clips
    assert {m.split(".")[0] for m in packages_imports} - {"nstyle", "__future__"} <= set(sys.stdlib_module_names)
    assert {m for m in packages_imports if m.startswith("nstyle")} == {"nstyle.errors"}
    assert _import_time_imports(MODELS / "__init__.py") == set()  # the package imports nothing
    assert "nstyle.models.weights" in graph["nstyle.models.vgg"]  # the cycle check below sees real edges
    done: set[str] = set()

    def walk(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join(path + (name,))}"
        if name in done:
            return
        for dep in graph[name]:
            walk(dep, path + (name,))
        done.add(name)

    for name in graph:
        walk(name, ())
    # No network module registers anything: none imports the registry. lpips.py holds the LPIPS heads' records,
    # which are no backbone and never registered, so it reads the registry's record type and alexnet's source.
    for name in modules:
        if name not in ("nstyle.models.registry", "nstyle.models.weights", "nstyle.models.lpips"):
            assert "nstyle.models.registry" not in graph[name], name

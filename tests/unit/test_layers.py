"""The layers hold: the import contracts of .importlinter are kept, and each fails when its line is crossed;
the handlers' lazily loaded services are the ones they name for readers and type checkers; the code type-checks
(mypy) and lints (ruff) clean."""
from __future__ import annotations

import ast
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HANDLERS = ROOT / "chalicelib" / "handlers"


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=tree, capture_output=True, text=True,
                          timeout=120, env={"PATH": str(BIN), "COLUMNS": "1000"})


def broken(report: str) -> list[str]:
    """The names of the contracts a lint-imports report says are broken."""
    return [line.removesuffix(" BROKEN") for line in report.splitlines() if line.endswith(" BROKEN")]


def test_the_import_contracts_are_kept():
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout + result.stderr
    assert broken(result.stdout) == []
    assert result.stdout.count(" KEPT") == 6


@pytest.fixture
def copy_of_the_code(tmp_path) -> Path:
    for package in ("chalicelib", "local", "infra"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


@pytest.mark.parametrize(("module", "line", "contract"), [
    # a model that reaches up into a service
    ("chalicelib/models/lists.py", "from chalicelib.services.audience import lists",
     "Handlers call services; services use models and adapters; nothing imports back up"),
    # an adapter that reaches up into a handler, even where only a type checker looks
    ("chalicelib/ses.py", "if TYPE_CHECKING:\n    from chalicelib.handlers.http import Call",
     "Handlers call services; services use models and adapters; nothing imports back up"),
    # a lower capability that uses a higher one
    ("chalicelib/services/audience/optin.py", "from chalicelib.services.feedback import ses_events",
     "Capabilities depend downwards only"),
    # two modules of one package that import each other
    ("chalicelib/services/campaigns/progress.py", "from chalicelib.services.campaigns import sender",
     "No import circles"),
    # a service that calls AWS itself
    ("chalicelib/services/campaigns/quota.py", "import boto3",
     "Only models and adapters talk to AWS"),
    # HTTP below the handlers
    ("chalicelib/services/audience/lists.py", "from chalice import Response",
     "Chalice (HTTP, events) stays in the handlers"),
    # deployed code that leans on the local runtime
    ("chalicelib/config.py", "import local.emulator",
     "The deployed code never imports the local runtime"),
])
def test_an_import_across_a_line_breaks_its_contract(copy_of_the_code, module, line, contract):
    path = copy_of_the_code / module
    path.write_text(path.read_text() + f"\nfrom typing import TYPE_CHECKING\n{line}\n")

    result = lint_imports(copy_of_the_code)

    assert result.returncode != 0
    assert any(name.startswith(contract) for name in broken(result.stdout)), result.stdout
    offender = module.removesuffix(".py").replace("/", ".")
    assert offender in result.stdout or offender.rsplit(".", 1)[0] in result.stdout, result.stdout


def typed_and_lazy(handler: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The modules a handler names under `if TYPE_CHECKING:` and those it loads with lazy_module(), by name."""
    typed: dict[str, str] = {}
    lazy: dict[str, str] = {}
    for node in ast.parse(handler.read_text()).body:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    for alias in stmt.names:
                        typed[alias.asname or alias.name] = f"{stmt.module}.{alias.name}"
            for stmt in node.orelse:
                assert isinstance(stmt, ast.Assign), f"{handler.name}: only lazy_module() belongs in the else branch"
                call = stmt.value
                assert isinstance(call, ast.Call) and getattr(call.func, "id", None) == "lazy_module"
                lazy[stmt.targets[0].id] = call.args[0].value
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                and getattr(node.value.func, "id", None) == "lazy_module":
            raise AssertionError(f"{handler.name}: lazy_module() outside `if TYPE_CHECKING: … else:`, where no "
                                 "reader or type checker can follow it")
    return typed, lazy


def is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:   # a name inside a module (a class, say), not a module
        return False


@pytest.mark.parametrize("handler", sorted(HANDLERS.glob("*.py")), ids=lambda path: path.name)
def test_a_handlers_lazy_modules_are_the_ones_it_names(handler):
    typed, lazy = typed_and_lazy(handler)

    typed_modules = {name: module for name, module in typed.items() if is_module(module)}
    assert lazy == typed_modules


def test_the_code_type_checks():
    # pyproject.toml [tool.mypy]: the app, chalicelib, the local runtime, infra, tools and the benches, all checked.
    result = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", "/dev/null"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_code_passes_the_linter():
    # pyproject.toml [tool.ruff]: every Python file in the repository, tests included.
    result = subprocess.run([str(BIN / "ruff"), "check", "--no-cache", "--output-format", "concise", "."], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr

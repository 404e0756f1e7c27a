"""The benchmark scripts still fit the package they measure.

They are run by hand, hours apart, so a renamed function or a new required argument breaks
them silently (``train_step.py`` called ``compile_model`` without the run's length for weeks).
Each name a script imports from ``emoji_t2i`` must exist, and each call of such a name must
bind to its signature."""

import ast
import importlib
import inspect
from pathlib import Path

import pytest

BENCHMARKS = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py"))


def package_names(tree) -> tuple[dict, list[str]]:
    names, missing = {}, []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("emoji_t2i")):
            continue
        module = importlib.import_module(node.module)
        for alias in node.names:
            if hasattr(module, alias.name):
                names[alias.asname or alias.name] = getattr(module, alias.name)
            elif not (hasattr(module, "__path__") and importlib.util.find_spec(f"{node.module}.{alias.name}")):
                missing.append(f"line {node.lineno}: {node.module} has no {alias.name}")
    return names, missing


def unbound_calls(tree, names: dict) -> list[str]:
    wrong = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names):
            continue
        if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
            continue  # *args / **kwargs: what they hold is known at run time alone
        try:
            signature = inspect.signature(names[node.func.id])
        except (TypeError, ValueError):
            continue
        try:
            signature.bind(*node.args, **{k.arg: k.value for k in node.keywords})
        except TypeError as error:
            wrong.append(f"line {node.lineno}: {node.func.id}(...): {error}")
    return wrong


@pytest.mark.parametrize("script", BENCHMARKS, ids=[p.name for p in BENCHMARKS])
def test_a_benchmark_imports_names_that_exist_and_calls_them_as_they_are_defined(script):
    tree = ast.parse(script.read_text())
    names, missing = package_names(tree)
    assert not missing + unbound_calls(tree, names)


def test_the_check_finds_a_missing_argument_and_a_missing_name():
    tree = ast.parse("from emoji_t2i.training.loop import compile_model\n"
                     "from emoji_t2i.pipelines.editing import NO_SUCH_NAME\n"
                     "compile_model(model, config)\n"
                     "compile_model(model, config, total_steps=10)\n")
    names, missing = package_names(tree)
    assert missing == ["line 2: emoji_t2i.pipelines.editing has no NO_SUCH_NAME"]
    assert unbound_calls(tree, names) == ["line 3: compile_model(...): missing a required argument: 'total_steps'"]

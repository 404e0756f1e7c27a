"""The house rules: imports point one way (data -> text -> networks/schedulers -> models ->
pipelines -> evaluation -> training -> the CLIs), inside functions too, and inference runs
without ever importing training."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "emoji_t2i"

# Lowest first; a module may import its own layer or any layer below it.
LAYERS = [
    {"emoji_t2i", "emoji_t2i.plotting", "emoji_t2i.errors", "emoji_t2i.png_parameters"},
    {"emoji_t2i.data"},
    {"emoji_t2i.datasets"},
    {"emoji_t2i.text"},
    {"emoji_t2i.networks", "emoji_t2i.schedulers"},
    {"emoji_t2i.models"},
    {"emoji_t2i.pipelines"},
    {"emoji_t2i.evaluation"},
    {"emoji_t2i.training"},
    {"emoji_t2i.train", "emoji_t2i.train_jax", "emoji_t2i.generate", "emoji_t2i.export", "emoji_t2i.evaluate",
     "emoji_t2i.directions", "emoji_t2i.blend", "emoji_t2i.project", "emoji_t2i.mashup", "emoji_t2i.emojify",
     "emoji_t2i.inpaint",
     "emoji_t2i.editing_cli", "emoji_t2i.app"},
]


def layer_of(module: str) -> int:
    parts = module.split(".")
    for depth in range(len(parts), 0, -1):
        prefix = ".".join(parts[:depth])
        for level, members in enumerate(LAYERS):
            if prefix in members:
                return level
    raise AssertionError(f"{module} is in no layer of tests/test_architecture.py; place it")


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}
MODULE_NAMES = set(MODULES)


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("emoji_t2i")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("emoji_t2i"):
            # "from pkg import module" imports the module; "from pkg import name" imports pkg
            submodules = {f"{node.module}.{a.name}" for a in node.names} & MODULE_NAMES
            found |= submodules
            if len(submodules) < len(node.names):
                found.add(node.module)
    return found


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_upward_import(module):
    own = layer_of(module)
    upward = [imp for imp in sorted(imports_of(MODULES[module]))
              if (imp in MODULES or imp.rsplit(".", 1)[0] in MODULES) and layer_of(imp) > own]
    assert not upward, f"{module} (layer {own}) imports higher layers: {upward}"


def assert_acyclic(edges):
    state = {}

    def visit(node, trail):
        if state.get(node) == "open":
            raise AssertionError("import cycle: " + " -> ".join([*trail, node]))
        if state.get(node) != "done":
            state[node] = "open"
            for nxt in sorted(edges.get(node, ())):
                visit(nxt, [*trail, node])
            state[node] = "done"

    for node in sorted(edges):
        visit(node, [])


def package_of(module):
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else parts[0]


def test_no_cycle_between_packages():
    """Sub-packages (data, text, models, ...) form a DAG, not only a layered order."""
    edges = {}
    for module, path in MODULES.items():
        for imp in imports_of(path):
            if imp in MODULES and package_of(imp) != package_of(module):
                edges.setdefault(package_of(module), set()).add(package_of(imp))
    assert_acyclic(edges)


def test_no_cycle_inside_a_package():
    """Modules of one package form a DAG too, imports inside functions included: a circle held
    together by late imports is still a circle (a package's __init__ counts as a module)."""
    edges = {}
    for module, path in MODULES.items():
        for imp in imports_of(path):
            if imp in MODULES and imp != module and package_of(imp) == package_of(module):
                edges.setdefault(module, set()).add(imp)
    assert_acyclic(edges)


def test_generation_never_imports_training(tmp_path):
    """A preset generates in a process that never imports emoji_t2i.training, and TensorFlow's
    start-up chatter stays out of the user's terminal."""
    from emoji_t2i.models import get_model_class
    from emoji_t2i.pipelines import save_preset
    from emoji_t2i.text.tokenizers import make_tokenizer
    from tests.harness import TINY

    tokenizer = make_tokenizer("word", ["crying cat", "red heart", "pizza"])
    model = get_model_class("cgan")(tokenizer.vocabulary_size(), **TINY["cgan"])
    model.build_for_sampling(16)
    save_preset(model, tokenizer, tmp_path / "preset")
    script = f"""
import sys
from emoji_t2i.generate import main
assert main(["--preset", {str(tmp_path / 'preset')!r}, "crying cat", "-n", "2", "--seed", "1",
             "-o", {str(tmp_path / 'g.png')!r}]) == 0
bad = sorted(m for m in sys.modules if m.startswith("emoji_t2i.training"))
assert not bad, bad
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.stdout.strip().endswith("ok"), result.stderr[-2000:]
    assert (tmp_path / "g.png").is_file()
    chatter = [line for line in result.stderr.splitlines()
               if any(word in line for word in ("oneDNN", "cuda", "cuInit", "absl::InitializeLog"))]
    assert not chatter, chatter


def test_the_clis_build_their_parsers_without_tensorflow():
    """--help answers at once: no command-line tool's parser imports TensorFlow, Keras or JAX
    (the defaults it shows live in modules free of them, e.g. pipelines/editing_options.py)."""
    script = f"""
import importlib, sys
built = []
for name in {sorted(LAYERS[-1])!r}:
    module = importlib.import_module(name)
    if hasattr(module, "build_parser"):
        module.build_parser()
        built.append(name)
print(len(built), sorted(m for m in ("tensorflow", "keras", "jax") if m in sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    built, heavy = result.stdout.split(" ", 1)
    assert int(built) >= 5 and heavy.strip() == "[]", result.stdout


def test_the_modules_run_first_exist():
    """tests/conftest.py's schedule names test modules by path: a renamed one would fall back
    to the end of the run, where it alone could keep one worker busy."""
    from tests.conftest import RUN_FIRST

    root = PACKAGE.parent
    assert [m for m in RUN_FIRST if not (root / m).is_file()] == []

"""The commands the docs, the model cards and the GPU scripts give still run as written.

A renamed flag breaks a documented command silently: nobody runs the model cards' commands
until they reproduce a preset, and the GPU scripts run only where a GPU is, in spans of
minutes. Every command of a zoo CLI (``python -m emoji_t2i.X``, ``emoji-t2i-X``, ``train_jax
SUB``), of a benchmark script or of ``make`` that a page, a model card, a shell script or the
Makefile names must name a CLI, a script and a target that exist, and every ``--flag`` it
passes must be one its parser takes (a literal value too, where the flag has choices, and the
key of the training CLI's ``--set``). The parsers are the CLIs' own, caught as they parse."""

from __future__ import annotations

import argparse
import ast
import functools
import importlib
import itertools
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")),
         *sorted((ROOT / "emoji_t2i" / "presets").glob("*/README.md"))]
SCRIPTS = [ROOT / "Makefile", *sorted((ROOT / "benchmarks").glob("*.sh"))]

# a command runs to the end of its code span or line, or to a pipe, ;, && or a comment
REST = r"((?:[^`|;&#\n]|&(?!&))*)"
CLI = re.compile(r"(?:-m emoji_t2i\.([\w.]+)|emoji-t2i-([\w-]+)|(?<![\w/])(train_jax)\b"
                 r"|^(generate|evaluate|export|mashup|emojify)(?= --))" + REST)
BENCHMARK = re.compile(r"benchmarks/(\w+\.(?:py|sh))" + REST)
MAKE = re.compile(r"\bmake ([a-z][\w-]*)")
FLAG = re.compile(r"--[a-z][\w-]*")
# emoji-t2i-X -> its module, as setup.cfg installs it
CONSOLE_SCRIPTS = dict(re.findall(r"^\s*emoji-t2i-([\w-]+) = ([\w.]+):main", (ROOT / "setup.cfg").read_text(), re.M))
OTHER_TOOLS = {"--no-deps"}  # pip's, in the install instructions


def code_spans(path: Path) -> list[str]:
    """A markdown page's fenced lines and inline code spans (joined across line breaks); a
    script's lines. Lines continued with a backslash are joined."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    if path.suffix != ".md":
        return text.splitlines()
    spans = []
    for k, part in enumerate(re.split(r"^```.*$", text, flags=re.M)):
        spans += part.splitlines() if k % 2 else [s.replace("\n", " ") for s in re.findall(r"`([^`]+)`", part)]
    return spans


class _Parsed(Exception):
    def __init__(self, parser):
        self.parser = parser


@functools.cache
def cli_options(module: str) -> tuple[dict, dict]:
    """(option string -> action, subcommand -> its option strings -> actions) of a CLI: its
    ``main`` is called and stopped at the moment it parses."""

    def stop(self, *args, **kwargs):
        raise _Parsed(self)

    saved = argparse.ArgumentParser.parse_args, argparse.ArgumentParser.parse_known_args
    argparse.ArgumentParser.parse_args = argparse.ArgumentParser.parse_known_args = stop
    try:
        importlib.import_module(module).main([])
    except _Parsed as parsed:
        parser = parsed.parser
    else:
        raise AssertionError(f"{module}.main([]) returned without parsing its arguments")
    finally:
        argparse.ArgumentParser.parse_args, argparse.ArgumentParser.parse_known_args = saved
    subcommands = {name: dict(sub._option_string_actions) for action in parser._actions
                   if isinstance(action, argparse._SubParsersAction) for name, sub in action.choices.items()}
    return dict(parser._option_string_actions), subcommands


@functools.cache
def benchmark_flags(script: Path) -> frozenset[str]:
    """The option strings a benchmark script adds, and those of the benchmark modules it
    imports from (sampling_sweep.py builds condition_annealing.py's parser)."""
    tree = ast.parse(script.read_text(encoding="utf-8"))
    flags = {arg.value for node in ast.walk(tree)
             if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_argument"
             for arg in node.args if isinstance(arg, ast.Constant) and str(arg.value).startswith("-")}
    for node in ast.walk(tree):
        sibling = script.parent / f"{getattr(node, 'module', None)}.py"
        if isinstance(node, ast.ImportFrom) and node.module and sibling.exists():
            flags |= benchmark_flags(sibling)
    return frozenset(flags)


def list_models() -> list[str]:
    from emoji_t2i.models import list_models

    return list_models()


def shipped_presets() -> list[str]:
    from emoji_t2i.pipelines.presets import shipped_presets

    return shipped_presets()


@functools.cache
def training_set_keys() -> frozenset[str]:
    from emoji_t2i.models import get_model_class
    from emoji_t2i.training.config import TRAINING_KEYS, model_hyperparameters

    keys = set(TRAINING_KEYS)
    for name in list_models():
        model_class = get_model_class(name)
        keys |= set(model_hyperparameters(model_class)) | set(getattr(model_class, "training_defaults", {}))
    return frozenset(keys)


def cli_problems(span: str) -> list[str]:
    problems = []
    for match in CLI.finditer(span):
        name = next(g for g in match.groups()[:4] if g)
        module = CONSOLE_SCRIPTS.get(name) or f"emoji_t2i.{name}"
        try:
            if importlib.util.find_spec(module) is None:
                raise ImportError
        except ImportError:
            problems.append(f"no CLI {module}")
            continue
        if importlib.util.find_spec(module).submodule_search_locations:  # a package: python -m runs its __main__
            module += ".__main__"
        options, subcommands = cli_options(module)
        words = match.group(5).split()
        command = words[0].rstrip(",.:)") if words else ""
        if command in subcommands:
            options = {**options, **subcommands[command]}
            module = f"{module} {command}"
        elif subcommands and re.fullmatch(r"[a-z]\w*", command):
            problems.append(f"{module} has no subcommand {command}")
            continue  # its flags are the missing subcommand's
        for word, value in itertools.zip_longest(words, words[1:], fillvalue=""):
            flag = FLAG.match(word)
            if not flag:
                continue
            action = options.get(flag.group(0))
            if action is None:
                problems.append(f"{module} has no {flag.group(0)}")
            elif action.choices and word == flag.group(0) and re.fullmatch(r"[a-z][\w-]*", value) \
                    and value not in action.choices:
                problems.append(f"{module} {flag.group(0)}: {value} is not one of {sorted(action.choices)}")
            elif flag.group(0) == "--set" and module == "emoji_t2i.train" and "=" in value \
                    and value.split("=")[0] not in training_set_keys():
                problems.append(f"{module} --set {value.split('=')[0]}: no model or the trainer knows it")
            elif flag.group(0) == "--model" and module == "emoji_t2i.train" and re.fullmatch(r"[a-z]\w*", value) \
                    and not value.startswith("my_") and value not in list_models():  # my_model: a page's example
                problems.append(f"{module} --model {value}: not a zoo model")
            elif flag.group(0) in ("--preset", "--init-from") and re.fullmatch(r"[a-z][\w-]*", value) \
                    and value not in shipped_presets():
                problems.append(f"{module} {flag.group(0)} {value}: no shipped preset has that name")
    return problems


def benchmark_problems(span: str) -> list[str]:
    problems = []
    for match in BENCHMARK.finditer(span):
        script = ROOT / "benchmarks" / match.group(1)
        if not script.exists():
            problems.append(f"no benchmarks/{match.group(1)}")
        elif script.suffix == ".py":
            flags = benchmark_flags(script)
            problems += [f"benchmarks/{match.group(1)} has no {flag}"
                         for flag in FLAG.findall(match.group(2)) if flag not in flags]
    return problems


@functools.cache
def every_flag() -> frozenset[str]:
    """What a flag named alone (`--probe-every`) may be: an option of some CLI or benchmark."""
    flags = set(OTHER_TOOLS)
    for module in [*CONSOLE_SCRIPTS.values(), "emoji_t2i.evaluation.train_judges"]:
        options, subcommands = cli_options(module)
        flags.update(options, *subcommands.values())
    for script in (ROOT / "benchmarks").glob("*.py"):
        flags |= benchmark_flags(script)
    return frozenset(flags)


@functools.cache
def make_targets() -> frozenset[str]:
    return frozenset(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), flags=re.M))


def problems_of(spans: list[str]) -> list[str]:
    found = []
    for span in spans:
        problems = cli_problems(span) + benchmark_problems(span)
        problems += [f"no make target {t}" for t in MAKE.findall(span) if t not in make_targets()]
        alone = re.match(r"\s*(--[a-z][\w-]*)", span)
        if alone and alone.group(1) not in every_flag():
            problems.append(f"no CLI or benchmark has {alone.group(1)}")
        found += [f"{problem} (in: {span.strip()[:100]})" for problem in problems]
    return found


@pytest.mark.parametrize("path", PAGES + SCRIPTS, ids=[str(p.relative_to(ROOT)) for p in PAGES + SCRIPTS])
def test_every_command_names_a_cli_script_target_and_flags_that_exist(path):
    assert problems_of(code_spans(path)) == []


def test_the_docs_name_the_commands_this_test_reads():
    """The patterns still find the docs' commands: were they to stop matching, every page
    would pass with nothing checked."""
    spans = [s for p in PAGES + SCRIPTS for s in code_spans(p)]
    flags = sum(len(FLAG.findall(m.group(5))) for s in spans for m in CLI.finditer(s))
    scripts = {m.group(1) for s in spans for m in BENCHMARK.finditer(s)}
    assert flags > 300 and len(scripts) > 20 and {"generate", "train", "test", "app"} <= set(
        t for s in spans for t in MAKE.findall(s))


def test_the_check_finds_a_wrong_flag_value_key_script_and_target():
    spans = ["python -m emoji_t2i.generate --preset diffusion-emoji72 --no-such-flag",
             "train_jax train --bundle runs/b --precision float32 --fit-schedul",
             "python -m emoji_t2i.train_jax trian --bundle runs/b",
             "emoji-t2i-train --model no_such_model --set no_such_key=1 --init-from no-such-preset",
             "python benchmarks/figures.py --no-such-option",
             "bash benchmarks/no_such_script.sh",
             "make no-such-target",
             "--probe-evry"]
    problems = problems_of(spans)
    for expected in ("--no-such-flag", "--fit-schedul", "subcommand trian", "--model no_such_model",
                     "--set no_such_key", "--init-from no-such-preset", "--no-such-option", "no_such_script.sh",
                     "no-such-target", "--probe-evry"):
        assert any(expected in p.split(" (in: ")[0] for p in problems), (expected, problems)
    assert len(problems) == 10, problems

"""``--help`` renders properly and the README's CLI reference and column names match what
the commands and outputs really have (issue 10, item 4)."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from ocularseg.cli.app import app
from ocularseg.report.tables import ERROR_COLUMNS, WARNING_COLUMNS

runner = CliRunner()


def _commands(command=None, path=()):
    """(path, click command) for every leaf command of the app."""
    command = command or typer.main.get_command(app)
    if getattr(command, "commands", None):
        for name, sub in sorted(command.commands.items()):
            yield from _commands(sub, (*path, name))
    else:
        yield path, command


COMMANDS = list(_commands())


def _reference(repo_root) -> str:
    text = (repo_root / "README.md").read_text(encoding="utf-8")
    section = text.split("## CLI reference", 1)[1]
    return section.split("```", 2)[1]


def _entries(reference: str) -> dict[tuple[str, ...], str]:
    """README reference block -> {command path: the entry's text (with continuations)}."""
    known = {path for path, _ in COMMANDS}
    entries: dict[tuple[str, ...], str] = {}
    current: tuple[str, ...] | None = None
    for line in reference.splitlines():
        if line.startswith("ocularseg "):
            words = line.split()[1:]
            current = max(
                (tuple(words[:n]) for n in range(1, 4) if tuple(words[:n]) in known),
                key=len,
                default=None,
            )
            if current is not None:
                entries[current] = line
        elif current is not None and line.startswith(" "):
            entries[current] += "\n" + line
    return entries


def _option_names(command) -> list[str]:
    names = []
    for param in command.params:
        if param.param_type_name == "option":
            names += [*param.opts, *param.secondary_opts]
    return [n for n in names if n not in ("--help",)]


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_readme_reference_lists_every_option_of(repo_root, path, command):
    entries = _entries(_reference(repo_root))
    assert path in entries, f"README's CLI reference has no line for 'ocularseg {' '.join(path)}'"
    for name in _option_names(command):
        pattern = rf"(?<![\w-]){re.escape(name)}(?![\w-])"
        assert re.search(pattern, entries[path]), f"{' '.join(path)}: README lacks {name}"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_renders_flags_and_arguments_properly(path, command):
    result = runner.invoke(app, [*path, "--help"], terminal_width=120)
    assert result.exit_code == 0, result.output
    # typer >= 0.27 printed "<bool>" after every flag and "{inputs}" for arguments; < 0.20
    # printed wrong defaults such as "[default: no-cleanup]".
    assert "<bool>" not in result.output and "<list[" not in result.output
    assert not re.search(r"\{\w+\}", result.output)
    assert "[default: no-" not in result.output
    for name in _option_names(command):
        if name.startswith("--"):
            assert name in result.output


def test_readme_names_the_error_and_warning_columns_the_files_have(repo_root):
    text = (repo_root / "README.md").read_text(encoding="utf-8")
    for columns in (ERROR_COLUMNS, WARNING_COLUMNS):
        assert ", ".join(f"`{c}`" for c in columns) in text
    assert "`message`" not in text


def test_global_options_are_in_the_reference(repo_root):
    first = _reference(repo_root).strip().splitlines()[0]
    for name in ("--version", "--help", "-v/--verbose"):
        assert name in first


def test_analyze_help_shows_the_defaults_of_options_a_config_can_set():
    """--keyframes, --batch-size and --device default to the config's values (issue 20)."""
    from ocularseg.pipeline.config import AnalyzeConfig

    result = runner.invoke(app, ["analyze", "--help"], terminal_width=200)
    text = re.sub(r"[\s│]+", " ", result.output)
    fields = AnalyzeConfig.model_fields
    for option, field in (("--keyframes", "keyframes"), ("--batch-size", "batch_size")):
        assert re.search(rf"{option} INTEGER [^│]*?\[default: {fields[field].default}\]", text)
    assert re.search(rf"--device TEXT [^│]*?\[default: {fields['device'].default}\]", text)
    assert "needs the [distributed] extra" in text  # "[...]" is not eaten as markup

"""The CLI skeleton: version, help speed, info, error rendering and exit codes."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from ocularseg import __version__
from ocularseg.cli.app import OcularsegGroup, app
from ocularseg.core.errors import ConfigError, InputError

runner = CliRunner()


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"ocularseg {__version__}"


def test_python_dash_m_runs_the_cli():
    out = subprocess.run(
        [sys.executable, "-m", "ocularseg", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"ocularseg {__version__}"


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from ocularseg.cli.app import app\n"
        "from typer.testing import CliRunner\n"
        "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in ('cv2', 'dlib', 'onnxruntime', 'torch') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_info_lists_versions_and_landmark_model():
    result = runner.invoke(app, ["info"])
    assert result.exit_code == 0, result.output
    for needle in ("ocularseg", "onnxruntime", "dlib", "landmark model", "non-commercial"):
        assert needle in result.output


def test_info_prints_paths_and_hashes_in_full_and_only_usable_providers(monkeypatch):
    """Nothing is cut with "…" on a narrow terminal; providers ocularseg never uses are not
    listed (issue 20)."""
    ort = pytest.importorskip("onnxruntime")
    from ocularseg.io.landmark_model import landmark_model_path
    from ocularseg.io.model_store import bundled_models

    shipped = ["AzureExecutionProvider", "CPUExecutionProvider"]
    monkeypatch.setattr(ort, "get_available_providers", lambda: shipped)
    result = runner.invoke(app, ["info"], terminal_width=40)
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    assert str(landmark_model_path()) in result.output
    for _, sha256, _ in bundled_models():
        assert f"sha256 {sha256}" in result.output
    (providers,) = [line for line in result.output.splitlines() if "providers" in line]
    assert providers.split() == ["providers", "CPUExecutionProvider"]


def _app_raising(exc: Exception) -> typer.Typer:
    test_app = typer.Typer(cls=OcularsegGroup)

    @test_app.command()
    def boom() -> None:
        raise exc

    @test_app.command()
    def other() -> None:
        pass

    return test_app


def test_config_error_is_one_line_and_exit_2():
    result = runner.invoke(_app_raising(ConfigError("--fps must be > 0, got -1")), ["boom"])
    assert result.exit_code == 2
    assert result.output.strip() == "error: --fps must be > 0, got -1"
    assert "Traceback" not in result.output


def test_input_error_exit_1():
    result = runner.invoke(_app_raising(InputError("clip.mp4: file is empty (0 bytes)")), ["boom"])
    assert result.exit_code == 1
    assert "clip.mp4: file is empty" in result.output


def test_unknown_command_is_usage_error():
    result = runner.invoke(app, ["no-such-command"])
    assert result.exit_code == 2

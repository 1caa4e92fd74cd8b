"""The typer apps mount under the srlforge CLI exactly as the README says, and stay light."""

from __future__ import annotations

import subprocess
import sys

import typer
from typer.testing import CliRunner


def _mounted() -> typer.Typer:
    from trainer_service.cli import bench_learning_app, pipeline_app, train_app

    app = typer.Typer()
    app.add_typer(pipeline_app, name="pipeline")
    app.add_typer(train_app, name="train")
    bench_app = typer.Typer(no_args_is_help=True)
    bench_app.add_typer(bench_learning_app, name="learning")
    app.add_typer(bench_app, name="bench")
    return app


def test_every_command_has_help():
    runner = CliRunner()
    app = _mounted()
    for args in (
        ["pipeline"],
        ["train"],
        ["train", "base"],
        ["train", "stage"],
        ["train", "evaluate"],
        ["bench", "learning"],
    ):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, (args, result.output)
    assert "--species" in runner.invoke(app, ["pipeline", "--help"]).output


def test_bad_input_exits_2_with_a_fix():
    runner = CliRunner()
    result = runner.invoke(_mounted(), ["pipeline", "--max-steps", "srl=x"])
    assert result.exit_code == 2 and "srl=30,rlvr=20" in result.output
    result = runner.invoke(_mounted(), ["bench", "learning", "--methods", "ppo"])
    assert result.exit_code == 2 and "unknown methods" in result.output


def test_importing_the_cli_does_not_import_torch():
    code = "import sys, trainer_service.cli; print('torch' in sys.modules, 'trl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"

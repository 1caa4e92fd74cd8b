"""Helpers for checking deployment files against the code: does a command name a module, app,
subcommand, option and queue that exist; is an environment variable a settings field.

Parts of the system still being written (the trainer's Celery tasks and settings, issue 6) are
listed in PENDING: a check that needs one is skipped while its module is absent and runs in
full as soon as it lands.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
# module a deployment names ahead of time -> why it is not there yet
PENDING = {
    "trainer_service.tasks": "the trainer's Celery tasks land with issue 6",
    "trainer_service.settings": "the trainer's settings land with issue 6",
}
PENDING_PREFIXES = {"SRLFORGE_TRAINER_": "trainer_service.settings"}


class CommandError(AssertionError):
    pass


@dataclass(frozen=True)
class Entry:
    """What a command runs, independent of hosts, ports and worker names."""

    launcher: str
    target: str
    path: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()


def module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def skip_if_pending(module: str) -> None:
    if module in PENDING and not module_exists(module):
        pytest.skip(f"{module} is not in the tree yet: {PENDING[module]}")


def _walk(app: typer.Typer, args: list[str], where: str) -> tuple[str, ...]:
    """Follow subcommands through a typer app and check every option exists."""
    # Duck-typed: typer's groups are not always click.Group subclasses (typer bundles click).
    command = typer.main.get_command(app)
    path: list[str] = []
    args = list(args)
    while hasattr(command, "commands") and args and not args[0].startswith("-"):
        name = args.pop(0)
        sub = command.commands.get(name)
        if sub is None:
            raise CommandError(f"{where}: no subcommand {name!r} after {path or 'the app'}")
        command, path = sub, [*path, name]
    if hasattr(command, "commands"):
        raise CommandError(f"{where}: {path or 'the app'} needs a subcommand")
    options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
    for token in args:
        if token.startswith("-") and token.split("=", 1)[0] not in options:
            raise CommandError(f"{where}: {' '.join(path)} has no option {token!r}")
    return tuple(path)


def _typer_app(module_name: str, where: str) -> typer.Typer:
    module = importlib.import_module(module_name)
    apps = [v for v in vars(module).values() if isinstance(v, typer.Typer)]
    app = getattr(module, "app", None)
    if isinstance(app, typer.Typer):
        return app
    if len(apps) != 1:
        raise CommandError(f"{where}: {module_name} has no single typer app")
    return apps[0]


def _celery(args: list[str], where: str) -> Entry:
    if "-A" not in args:
        raise CommandError(f"{where}: celery without -A <module>")
    module_name = args[args.index("-A") + 1]
    skip_if_pending(module_name)
    if not module_exists(module_name):
        raise CommandError(f"{where}: no module {module_name}")
    from celery import Celery

    module = importlib.import_module(module_name)
    app = getattr(module, "app", None)
    if not isinstance(app, Celery):
        raise CommandError(f"{where}: {module_name}.app is not a Celery app")
    rest = args[args.index("-A") + 2 :]
    sub = rest[0] if rest else ""
    if sub not in {"worker", "beat", "inspect"}:
        raise CommandError(f"{where}: unexpected celery subcommand {sub!r}")
    queues: tuple[str, ...] = ()
    if "-Q" in rest:
        queues = tuple(sorted(rest[rest.index("-Q") + 1].split(",")))
        # An app routes by task_routes, or per signature from a QUEUES table (gateway.jobs).
        routed = (
            {app.conf.task_default_queue}
            | {r["queue"] for r in (app.conf.task_routes or {}).values() if "queue" in r}
            | set(getattr(module, "QUEUES", {}).values())
        )
        unknown = set(queues) - routed
        if unknown:
            raise CommandError(f"{where}: {module_name} routes no task to {sorted(unknown)}")
    return Entry("celery", module_name, (sub,), queues)


def resolve(argv: list[str], where: str = "command") -> Entry:
    """The Entry a command runs; raises CommandError naming what does not exist."""
    if not argv:
        raise CommandError(f"{where}: empty command")
    head, args = argv[0], list(argv[1:])
    if head == "celery":
        return _celery(args, where)
    if head == "typer":
        if len(args) < 2 or args[1] != "run":
            raise CommandError(f"{where}: expected `typer <module> run ...`")
        skip_if_pending(args[0])
        return Entry("typer", args[0], _walk(_typer_app(args[0], where), args[2:], where))
    if head == "srlforge":
        from srlforge.cli import app

        return Entry("srlforge", "srlforge.cli", _walk(app, args, where))
    if head == "python" and args[:1] == ["-m"]:
        return _python_module(args[1], args[2:], where)
    if head == "python" and args and args[0].endswith(".py"):
        if not (ROOT / args[0]).is_file():
            raise CommandError(f"{where}: no file {args[0]} in the repository")
        return Entry("script", args[0], tuple(args[1:2]))
    raise CommandError(f"{where}: unknown launcher {head!r}")


def _python_module(name: str, args: list[str], where: str) -> Entry:
    skip_if_pending(name)
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise CommandError(f"{where}: no module {name}")
    if spec.submodule_search_locations is not None:  # a package: runs <name>/__main__.py
        main = ROOT / name.replace(".", "/") / "__main__.py"
        if not main.is_file():
            raise CommandError(f"{where}: package {name} has no __main__.py")
        cli = f"{name}.cli"
        if f"from {cli} import app" not in main.read_text(encoding="utf-8"):
            raise CommandError(f"{where}: {main} does not run {cli}.app")
        return Entry("python-m", name, _walk(_typer_app(cli, where), args, where))
    source = Path(spec.origin or "").read_text(encoding="utf-8")
    if 'if __name__ == "__main__"' not in source:
        raise CommandError(f"{where}: {name} does nothing when run with python -m")
    module = importlib.import_module(name)
    if isinstance(getattr(module, "app", None), typer.Typer):
        return Entry("python-m", name, _walk(module.app, args, where))
    if args:
        raise CommandError(f"{where}: {name} takes no arguments, got {args}")
    return Entry("python-m", name)


def settings_classes() -> dict[str, type[BaseSettings]]:
    """env prefix -> settings class, for srlforge.settings and every service's settings.py."""
    services = sorted(
        f"{d.name}.settings"
        for d in ROOT.iterdir()
        if (d / "settings.py").is_file() and (d / "__init__.py").is_file()
    )
    names = ["srlforge.settings", *services]
    found: dict[str, type[BaseSettings]] = {}
    for name in names:
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseSettings)
                and value.__module__ == name
            ):
                found[value.model_config["env_prefix"]] = value
    return found


def check_env_names(names: list[str], where: str) -> list[str]:
    """Every SRLFORGE_* name must be a field of the settings class with the longest matching
    prefix; returns the names skipped because their settings are pending."""
    classes = settings_classes()
    skipped = []
    for name in names:
        if not name.startswith("SRLFORGE_"):
            continue
        pending = next((p for p in PENDING_PREFIXES if name.startswith(p)), None)
        if pending and pending not in classes:
            if module_exists(PENDING_PREFIXES[pending]):
                raise CommandError(
                    f"{where}: {name}: {PENDING_PREFIXES[pending]} has no "
                    "settings class with that prefix"
                )
            skipped.append(name)
            continue
        prefix = max((p for p in classes if name.startswith(p)), key=len)
        cls = classes[prefix]
        field = name[len(prefix) :].lower()
        if field not in cls.model_fields:
            raise CommandError(
                f"{where}: {name} is not a setting: {cls.__module__}.{cls.__name__} "
                f"(prefix {prefix}) has no field {field!r}"
            )
    return skipped


@pytest.fixture(scope="session")
def resolve_command():
    """``resolve_command(argv, where) -> Entry``; raises CommandError, skips for PENDING."""
    return resolve


@pytest.fixture(scope="session")
def check_env():
    """``check_env(names, where) -> skipped names``; raises CommandError on an unknown one."""
    return check_env_names

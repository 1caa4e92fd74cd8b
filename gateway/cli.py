"""``srlforge serve`` and ``srlforge keys``: run the gateway, manage tenants' API keys.

Mounted in ``srlforge/cli.py`` with::

    app.command("serve")(gateway.cli.serve)
    app.add_typer(gateway.cli.keys_app, name="keys")

Standalone: ``python -m gateway serve|migrate|keys ...``. ``--json`` prints only JSON on stdout;
errors go to stderr with exit code 2 (bad input) or 1 (the database or settings refuse).
"""

from __future__ import annotations

import json
import socket
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from gateway.db import GatewayDatabase
    from gateway.settings import GatewaySettings

app = typer.Typer(
    help="The srlforge gateway: HTTP API, migrations, API keys.",
    no_args_is_help=True,
    add_completion=False,
)
keys_app = typer.Typer(
    help="Tenants' API keys: create (shown once), list, revoke.", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")

err = Console(stderr=True)
JsonFlag = Annotated[bool, typer.Option("--json", help="Print only JSON on stdout.")]


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code=code)


# The database, settings and web modules are imported inside the commands: `srlforge` mounts
# these commands, and its other commands should not pay for SQLAlchemy and Alembic at start-up.


def _settings(**overrides: Any) -> GatewaySettings:
    from pydantic import ValidationError

    from gateway.settings import GatewaySettings, SettingsError

    try:
        return GatewaySettings(**{k: v for k, v in overrides.items() if v is not None})
    except (ValidationError, SettingsError) as exc:
        _fail(f"gateway settings: {exc}", code=1)


def _database(settings: GatewaySettings) -> GatewayDatabase:
    from gateway.db import DatabaseError, GatewayDatabase

    try:
        return GatewayDatabase(settings.resolved_db_url(), auto_migrate=settings.db_url is None)
    except DatabaseError as exc:
        _fail(str(exc), code=1)


def _secret(settings: GatewaySettings) -> bytes:
    from gateway.settings import SettingsError

    try:
        return settings.hmac_secret()
    except SettingsError as exc:
        _fail(str(exc), code=1)


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings).")] = None,
    port: Annotated[
        int | None, typer.Option(min=0, max=65535, help="Port; 0 picks a free one.")
    ] = None,
) -> None:
    """Serve the HTTP API until SIGTERM/SIGINT (embedded default: no other server needed)."""
    import uvicorn

    from gateway.app import create_app
    from gateway.db import DatabaseError
    from gateway.jobs import freeze_long_lived_objects
    from gateway.settings import SettingsError

    settings = _settings(host=host, port=port)
    try:
        application = create_app(settings)
    except (DatabaseError, SettingsError) as exc:
        _fail(str(exc), code=1)
    freeze_long_lived_objects(first=True)  # no full-collection pauses over imported modules
    # Bind here, not in uvicorn, so port 0 can be reported as the port actually bound.
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    # IPPROTO_TCP named: asyncio sets TCP_NODELAY on accepted connections only for sockets whose
    # proto says TCP; with proto 0, Nagle held every keep-alive response ~40 ms (delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        _fail(f"cannot bind {settings.host}:{settings.port}: {exc.strerror}", code=1)
    # Listen before uvicorn does: it reports "startup complete" before it starts accepting, and a
    # client that connects in between would be refused instead of waiting in the backlog.
    sock.listen(2048)
    bound = sock.getsockname()[1]
    err.print(f"gateway listening on http://{settings.host}:{bound}", highlight=False)
    server = uvicorn.Server(uvicorn.Config(application, log_level="info", proxy_headers=False))
    server.run(sockets=[sock])


@app.command("migrate")
def migrate(as_json: JsonFlag = False) -> None:
    """Create or upgrade the gateway schema (Alembic); safe to run again."""
    from gateway.db import safe_url, upgrade

    settings = _settings()
    url = settings.resolved_db_url()
    try:
        revision = upgrade(url)
    except Exception as exc:  # any driver or migration failure: report it, exit non-zero
        _fail(f"migrating {safe_url(url)} failed: {type(exc).__name__}: {exc}", code=1)
    if as_json:
        typer.echo(json.dumps({"db": safe_url(url), "revision": revision}))
    else:
        typer.echo(f"{safe_url(url)} is at revision {revision}")


@keys_app.command("create")
def keys_create(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant name (created if new).")],
    as_json: JsonFlag = False,
) -> None:
    """Create an API key for TENANT. The key is printed once and never stored."""
    from gateway.keys import TenantNameError, create_key

    settings = _settings()
    db = _database(settings)
    try:
        issued = create_key(db, _secret(settings), tenant)
    except TenantNameError as exc:
        _fail(str(exc))
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps({"tenant": issued.tenant, "key": issued.key}))
        return
    err.print(
        f"API key {issued.key_id} for tenant {issued.tenant}; store it now, it is not shown "
        "again. Send it as the X-API-Key header.",
        highlight=False,
    )
    typer.echo(issued.key)


@keys_app.command("list")
def keys_list(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """List key ids (never the keys) with their tenant and state."""
    from gateway.keys import list_keys

    settings = _settings()
    db = _database(settings)
    try:
        rows = list_keys(db, tenant)
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps(rows, default=str))
        return
    table = Table("key id", "tenant", "created", "revoked")
    for row in rows:
        table.add_row(row["key_id"], row["tenant"], str(row["created_at"]), str(row["revoked"]))
    Console().print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key id (see `keys list`).")],
    as_json: JsonFlag = False,
) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    from gateway.keys import UnknownKeyError, revoke_key

    settings = _settings()
    db = _database(settings)
    try:
        revoke_key(db, key_id)
    except UnknownKeyError as exc:
        _fail(str(exc))
    finally:
        db.dispose()
    if as_json:
        typer.echo(json.dumps({"key_id": key_id, "revoked": True}))
    else:
        err.print(f"revoked {key_id}", highlight=False)


if __name__ == "__main__":
    app()

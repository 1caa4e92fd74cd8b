"""``python -m gateway``: the gateway's command line without the ``srlforge`` wrapper."""

from gateway.cli import app

app(prog_name="python -m gateway")

"""`accelplan serve` (the web page and JSON API) and `accelplan report` (registered here, implemented in
accelplan.report.cli). Only typer and the stdlib at the top level, so `accelplan --help` stays fast.
"""

from __future__ import annotations

import typer

INSTALL_HINT = "pip install 'accelplan[web]'"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve(host: str = typer.Option("127.0.0.1", "--host", help="address to bind (loopback by default)"),
          port: int = typer.Option(8000, "--port", help="TCP port")) -> None:
    """Serve the comparison page and its JSON API (OpenAPI docs at /docs). Extra catalog entries: $ACCELPLAN_CATALOG."""
    import contextlib
    import sys

    from accelplan.errors import AccelplanError

    if not 0 < port < 65536:
        raise AccelplanError(f"--port must be 1..65535, got {port}")
    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError as exc:
        raise AccelplanError(f"`accelplan serve` needs {exc.name or 'the web extra'}: {INSTALL_HINT}") from None

    from accelplan.web.app import create_app
    from accelplan.web.server import server_config

    app = create_app()
    if host not in LOOPBACK:
        sys.stderr.write(f"warning: serving on {host}: anyone who can reach this address can use the page; "
                         "there is no authentication\n")
    sys.stderr.write(f"accelplan: open http://{'[' + host + ']' if ':' in host else host}:{port}/ "
                     f"(API docs at /docs); Ctrl-C stops\n")
    # uvicorn stops cleanly on Ctrl-C, then raises it again for its caller
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(server_config(app, host, port)).run()


def register(app: typer.Typer) -> None:
    from accelplan.report.cli import report

    app.command("serve")(serve)
    app.command("report")(report)

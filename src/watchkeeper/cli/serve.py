"""``wk serve --data-dir DIR --host H --port P [--tls]``: run the HTTP server until SIGTERM or Ctrl-C.

* ``--tls`` serves https on ``--port`` with a certificate signed by a local CA generated once under
  ``<data dir>/tls/`` (and reused); Azure SDK clients refuse bearer tokens over plain http
  (``clients.md``, cross-cutting rule 1), so they need it. ``loopback_http_port`` adds plain http
  on 127.0.0.1 only, for scripts on the same machine.
* One worker process: the embedded DuckDB store lets one process open a workspace file, so
  ``--workers`` above 1 is refused. Queries already run in parallel threads of that one process.
  The state database is migrated once, before the server listens.
* Syslog listeners (``--syslog-udp-port``/``--syslog-tcp-port``/``--syslog-tls-port`` with
  ``--syslog-workspace tenant/workspace``, or ``WK_SYSLOG_*``) run on the same loop, off by default
  (:mod:`watchkeeper.cli.syslog_listeners`).
* Logs go to stderr, one JSON object per line (``log_format``); what to connect to goes to stdout.
* SIGTERM or SIGINT stops accepting connections, lets requests in flight finish (up to
  ``shutdown_grace`` seconds), closes the stores and exits 0; a second Ctrl-C cuts the wait short.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from watchkeeper.cli.console import fail, load_settings, user_errors
from watchkeeper.settings import Settings

if TYPE_CHECKING:
    import uvicorn

    from watchkeeper.api.tls import TlsFiles
    from watchkeeper.runtime import Runtime

__all__ = ["serve_command"]

log = logging.getLogger("watchkeeper.server")

_EVERY_ADDRESS = {"", "0.0.0.0", "::"}  # the bind-all addresses: a URL shows 127.0.0.1 for them


class LogFormat(StrEnum):
    json = "json"
    text = "text"


@dataclass(frozen=True, slots=True)
class Listener:
    """A bound socket and how clients reach it."""

    socket: socket.socket
    url: str
    tls: TlsFiles | None


def serve_command(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: settings, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(min=0, max=65535, help="Port (default: settings, 8080; 0: any free one).")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data directory (default: settings, ./var).")
    ] = None,
    tls: Annotated[
        bool | None,
        typer.Option("--tls/--no-tls", help="Serve https with the certificate under <data dir>/tls/."),
    ] = None,
    loopback_http_port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="With --tls: also plain http on 127.0.0.1 at this port."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Worker processes (1 with the embedded DuckDB store).")
    ] = None,
    log_format: Annotated[
        LogFormat | None, typer.Option(help="Logs on stderr: json (one object per line) or text.")
    ] = None,
    syslog_udp_port: Annotated[int | None, typer.Option(min=0, max=65535, help="Syslog over UDP.")] = None,
    syslog_tcp_port: Annotated[int | None, typer.Option(min=0, max=65535, help="Syslog over TCP.")] = None,
    syslog_tls_port: Annotated[int | None, typer.Option(min=0, max=65535, help="Syslog over TLS.")] = None,
    syslog_workspace: Annotated[
        str | None, typer.Option(help="tenant/workspace that syslog messages are stored in.")
    ] = None,
    events: Annotated[
        str | None,
        typer.Option(
            help="Event store: duckdb, chdb or clickhouse://user@host:8123/ (a password: WK_EVENTS_URL)."
        ),
    ] = None,
) -> None:
    """Serve the platform's APIs over HTTP(S) until SIGTERM or Ctrl-C."""
    options = {"host": host, "port": port, "data_dir": data_dir, "tls": tls, "workers": workers,
               "loopback_http_port": loopback_http_port, "log_format": log_format and log_format.value,
               "syslog_udp_port": syslog_udp_port, "syslog_tcp_port": syslog_tcp_port,
               "syslog_tls_port": syslog_tls_port, "syslog_workspace": syslog_workspace,
               "events_url": events}  # fmt: skip
    settings = load_settings().model_copy(update={k: v for k, v in options.items() if v is not None})
    _refuse_many_workers(settings)
    _check_events(settings.events_url)
    from watchkeeper.api.logging import configure_logging
    from watchkeeper.runtime import Runtime

    listeners = _listeners(settings)  # first, so that a taken port fails before anything else
    try:
        configure_logging(settings.log_format, settings.log_level)
        # the state database is migrated here, once, before any request is served
        with user_errors(), Runtime(settings) as runtime:
            _serve(runtime, listeners)
    finally:
        for listener in listeners:
            listener.socket.close()
    log.info("stopped; stores closed")


def _refuse_many_workers(settings: Settings) -> None:
    if settings.workers > 1:
        raise fail(
            f"error: workers = {settings.workers} is not possible with the embedded DuckDB event store: "
            "DuckDB lets one process open a workspace file. Run one worker (it runs queries in parallel "
            "threads, tenant_concurrent_queries per tenant)."
        )


def _check_events(url: str) -> None:
    """Refuse an event store URL that is not one before anything starts (the store itself is
    reached when a workspace is first used)."""
    if url in ("duckdb", "chdb"):
        return
    from watchkeeper.store.clickhouse_server import ClickHouseUrl

    with user_errors():
        ClickHouseUrl.parse(url)


def _serve(runtime: Runtime, listeners: list[Listener]) -> None:
    from watchkeeper.api import create_app

    app = create_app(runtime=runtime)
    _announce(runtime, listeners)
    _freeze_startup_objects()
    servers = [_server(app, listener, runtime.settings, first=i == 0) for i, listener in enumerate(listeners)]
    with _signals_stop(servers):
        asyncio.run(_run_all(servers, listeners, runtime))


def _listeners(settings: Settings) -> list[Listener]:
    """The main socket (https with --tls), and plain http on loopback if asked for alongside TLS."""
    tls = _certificates(settings) if settings.tls else None
    main = _bind(settings.host, settings.port, tls)
    if tls is None or settings.loopback_http_port is None:
        return [main]
    try:
        return [main, _bind("127.0.0.1", settings.loopback_http_port, None)]
    except typer.Exit:
        main.socket.close()
        raise


def _certificates(settings: Settings) -> TlsFiles:
    from watchkeeper.api.tls import ensure_certificates

    try:
        return ensure_certificates(settings.data_dir, host=settings.host)
    except (OSError, ValueError) as exc:
        raise fail(
            f"error: cannot prepare the TLS certificate under {settings.data_dir / 'tls'}: {exc}"
        ) from None


def _bind(host: str, port: int, tls: TlsFiles | None) -> Listener:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say so (accepted ones inherit it);
    # with proto 0, Nagle + delayed ACK add ~40 ms to every request on a kept-alive connection
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise fail(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    bound_port = sock.getsockname()[1]
    shown = "127.0.0.1" if host in _EVERY_ADDRESS else host
    shown = f"[{shown}]" if ":" in shown else shown
    return Listener(sock, f"{'https' if tls else 'http'}://{shown}:{bound_port}", tls)


def _announce(runtime: Runtime, listeners: list[Listener]) -> None:
    """What a person needs to connect, on stdout (never in the logs: it may hold the demo secret)."""
    from watchkeeper.flows import saved_demo_access

    main, settings = listeners[0], runtime.settings
    everywhere = " (listening on every address)" if settings.host in _EVERY_ADDRESS else ""
    lines = [f"watchkeeper serving {settings.data_dir} at {main.url}/{everywhere}"]
    lines += [f"  plain http for this machine only: {extra.url}/" for extra in listeners[1:]]
    lines += _trust_lines(main.tls) if main.tls else [
        "  plain http: Azure SDK clients refuse bearer tokens over http; serve them with --tls"]  # fmt: skip
    demo = saved_demo_access(runtime)
    if demo is not None and demo.console_user:
        lines.append(f"  console: {main.url}/console/login?tenant=demo  user {demo.console_user}, "
                     f"password {demo.console_password}")  # fmt: skip
    else:
        lines.append(f"  console: {main.url}/console/ (sign in as a console user: wk users create --help)")
    if demo is not None:
        lines += [f"  demo tenant {demo.tenant_id}, workspace {demo.workspace_id}",
                  f"  demo app: client id {demo.client_id}, client secret {demo.client_secret}",
                  f"  token: POST {main.url}/{demo.tenant_id}/oauth2/v2.0/token (client_credentials)",
                  f'  query: POST {main.url}/v1/workspaces/{demo.workspace_id}/query  {{"query": "..."}}']  # fmt: skip
    lines.append(
        f"Stop with Ctrl-C or SIGTERM (requests in flight get {settings.shutdown_grace} s to finish)."
    )
    typer.echo("\n".join(lines))
    for listener in listeners:
        log.info("listening on %s", listener.url, extra={"url": listener.url})


def _trust_lines(tls: TlsFiles) -> list[str]:
    ca = tls.ca_cert.resolve()  # absolute: the variables are used from other folders
    return [
        f"  TLS: the certificate is signed by a local CA, generated once: {ca}",
        f"    trust it: export REQUESTS_CA_BUNDLE={ca} SSL_CERT_FILE={ca}",
        f'    or give Azure SDK clients connection_verify="{ca}"',
    ]


@functools.cache
def _signal_free_server() -> type[uvicorn.Server]:
    """uvicorn's server, leaving signals to ``wk serve`` (imported late: other commands skip it)."""
    import uvicorn

    class SignalFreeServer(uvicorn.Server):
        """uvicorn's own signal handling re-raises the signal after a graceful shutdown (the
        process would end with -15, not 0) and stops one listener only; ``_signals_stop`` does it."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return SignalFreeServer


def _server(app: Any, listener: Listener, settings: Settings, *, first: bool) -> uvicorn.Server:
    import uvicorn

    tls = listener.tls
    config = uvicorn.Config(
        app, host=settings.host, port=listener.socket.getsockname()[1], lifespan="on" if first else "off",
        log_config=None, access_log=False, log_level=settings.log_level,
        timeout_graceful_shutdown=settings.shutdown_grace,
        ssl_certfile=str(tls.cert) if tls else None, ssl_keyfile=str(tls.key) if tls else None,
    )  # fmt: skip
    return _signal_free_server()(config)


@contextlib.contextmanager
def _signals_stop(servers: list[uvicorn.Server]) -> Iterator[None]:
    """SIGTERM/SIGINT stop every listener together (a second SIGINT stops waiting)."""

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("%s received: finishing requests in flight", signal.Signals(signum).name)
        for server in servers:
            server.handle_exit(signum, frame)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


async def _run_all(servers: list[uvicorn.Server], listeners: list[Listener], runtime: Runtime) -> None:
    from watchkeeper.cli.syslog_listeners import start_syslog

    syslog = await start_syslog(runtime)  # on this loop, beside the HTTP servers; stopped after them
    try:
        await asyncio.gather(
            *(
                server.serve(sockets=[listener.socket])
                for server, listener in zip(servers, listeners, strict=True)
            )
        )
    finally:
        if syslog is not None:
            await syslog.close()


def _freeze_startup_objects() -> None:
    """Move what startup built (the table catalog: ~100k objects) out of the garbage collector's
    view, so full collections stop walking it and query latency loses its 30-60 ms spikes."""
    import gc

    from watchkeeper.schema import Catalog

    Catalog.sentinel()
    gc.collect()
    gc.freeze()

"""``wk serve``'s guard rails (in-process: each fails before it would serve) and the log lines it
writes. The running server, its logs, TLS and shutdown are tested on a real subprocess in
``tests/api/test_server_process.py``."""

from __future__ import annotations

import io
import json
import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result

from watchkeeper.api.logging import configure_logging, current_request_id

Wk = Callable[..., Result]

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcHAifQ.c2lnbmF0dXJl"
SECRET = "Zq8~sEcReT-value_0123456789abcdefghijklmn"


@pytest.fixture(autouse=True)
def no_server_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WK_TLS", "WK_WORKERS", "WK_LOG_FORMAT", "WK_LOG_LEVEL", "WK_LOOPBACK_HTTP_PORT"):
        monkeypatch.delenv(name, raising=False)


def test_more_than_one_worker_is_refused_before_anything_is_touched(wk: Wk, scratch: Path) -> None:
    result = wk("serve", "--workers", "2")
    assert result.exit_code == 1
    assert "workers = 2" in result.stderr
    assert "DuckDB lets one process open a workspace file" in result.stderr
    assert not (scratch / "var").exists()  # no state database created, nothing migrated


def test_workers_from_the_environment_are_refused_too(
    wk: Wk, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WK_WORKERS", "4")
    result = wk("serve")
    assert result.exit_code == 1
    assert "workers = 4" in result.stderr


def test_a_port_in_use_is_a_clear_error(wk: Wk, scratch: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = wk("serve", "--port", str(port))
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.output
    assert not (scratch / "var" / "state.db").exists()


def test_a_data_dir_that_cannot_hold_the_certificate_is_a_clear_error(wk: Wk, scratch: Path) -> None:
    blocked = scratch / "not-a-folder"
    blocked.write_text("")
    result = wk("serve", "--tls", "--data-dir", str(blocked), "--port", "0")
    assert result.exit_code == 1
    assert f"cannot prepare the TLS certificate under {blocked / 'tls'}" in result.stderr
    assert "Traceback" not in result.output


def test_an_unknown_log_format_is_refused(wk: Wk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WK_LOG_FORMAT", "xml")
    result = wk("serve")
    assert result.exit_code == 1
    assert "log_format" in result.stderr
    assert wk("serve", "--log-format", "xml").exit_code == 2


@pytest.fixture
def captured_logs() -> Iterator[Callable[[str], io.StringIO]]:
    """``configure_logging`` into a buffer; the process's logging is put back afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    names = ("uvicorn", "uvicorn.error", "uvicorn.asgi", "uvicorn.access", "alembic.runtime.plugins")
    loggers = {name: (lg.handlers[:], lg.propagate, lg.disabled, lg.level)
               for name, lg in ((n, logging.getLogger(n)) for n in names)}  # fmt: skip

    def configure(fmt: str) -> io.StringIO:
        buffer = io.StringIO()
        configure_logging(fmt, "info", stream=buffer)  # type: ignore[arg-type]
        return buffer

    yield configure
    root.handlers, root.level = saved
    for name, (handlers, propagate, disabled, level) in loggers.items():
        logger = logging.getLogger(name)
        logger.handlers, logger.propagate, logger.disabled, logger.level = (
            handlers,
            propagate,
            disabled,
            level,
        )


def test_json_log_lines_carry_the_request_id_and_never_a_credential(
    captured_logs: Callable[[str], io.StringIO],
) -> None:
    buffer = captured_logs("json")
    token = current_request_id.set("req-42")
    try:
        log = logging.getLogger("watchkeeper.tests")
        log.warning("header was Authorization: Bearer %s", JWT)
        log.warning("form: grant_type=client_credentials&client_secret=%s&scope=x", SECRET)
        try:
            raise ValueError(f'{{"client_secret": "{SECRET}", "token": "{JWT}"}}')
        except ValueError:
            log.exception("failed")
    finally:
        current_request_id.reset(token)
    logging.getLogger("uvicorn.access").info('127.0.0.1 - "GET /x?query=secret HTTP/1.1" 200')
    text = buffer.getvalue()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert [line["message"].split(":")[0] for line in lines] == ["header was Authorization", "form", "failed"]
    assert all(line["request_id"] == "req-42" and line["logger"] == "watchkeeper.tests" for line in lines)
    assert "ValueError" in lines[2]["exception"]
    assert "[redacted]" in lines[0]["message"]
    assert SECRET not in text
    assert JWT not in text
    assert "query=secret" not in text  # uvicorn's access log is off; ours has no query string


def test_text_log_lines_for_people(captured_logs: Callable[[str], io.StringIO]) -> None:
    buffer = captured_logs("text")
    logging.getLogger("watchkeeper.access").info(
        "GET /healthz 200", extra={"method": "GET", "path": "/healthz", "status": 200, "duration_ms": 1.5}
    )
    line = buffer.getvalue().strip()
    assert line.endswith(
        "INFO watchkeeper.access GET /healthz 200 method=GET path=/healthz status=200 duration_ms=1.5"
    )

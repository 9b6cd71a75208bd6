"""Server logs: one JSON object per line on stderr (or plain text, ``log_format = "text"``).

Every line carries ``time``, ``level``, ``logger`` and ``message``; a line written while a request
is served also carries its ``request_id`` (the ``x-ms-request-id`` the client received). The access
log (logger ``watchkeeper.access``, one line per request, written by the request-id middleware)
adds ``method``, ``path``, ``status``, ``duration_ms``, ``client`` and, once the caller is known,
``tenant_id`` and ``client_id``; it replaces uvicorn's own access log.

Secrets stay out by construction: the access log has the path but never the query string (a
``?query=`` holds KQL), no header and no body. As a second line of defence every line is scrubbed
of anything shaped like a bearer token, a JWT, a ``client_secret`` value or a password hash.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

__all__ = [
    "ACCESS_LOGGER",
    "JsonLogFormatter",
    "TextLogFormatter",
    "configure_logging",
    "current_request_id",
    "redact",
]

ACCESS_LOGGER = "watchkeeper.access"

current_request_id: ContextVar[str | None] = ContextVar("watchkeeper_request_id", default=None)
"""The id of the request being served (set by the request-id middleware; worker threads inherit it)."""

_SECRET_SHAPES = (
    # a JWT (header.payload.signature, each base64url; headers and payloads start with '{"' -> eyJ)
    re.compile(r"eyJ[\w-]*\.eyJ[\w-]*\.[\w-]*"),
    # an Authorization header's credentials, whatever the scheme carries
    re.compile(r"(?i)(\b(?:bearer|basic)\s+)[^\s\"',;]+"),
    # client_secret=..., "client_secret": "...", password: ...
    re.compile(
        r"(?i)((?:client_secret|password|access_token|refresh_token)[\"']?\s*[=:]\s*[\"']?)[^\s&\"',;}\\]+"
    ),
    # an argon2 hash of a secret
    re.compile(r"\$argon2\w*\$[^\s\"',;]+"),
)

# attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's coloured twin of the message
    "taskName",
}


def redact(text: str) -> str:
    """``text`` with anything shaped like a credential replaced by ``[redacted]``."""
    for shape in _SECRET_SHAPES:
        text = shape.sub(lambda match: f"{match.group(1) if match.groups() else ''}[redacted]", text)
    return text


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = {key: value for key, value in vars(record).items() if key not in _RECORD_ATTRIBUTES}
    request_id = fields.get("request_id") or current_request_id.get()
    if request_id:
        fields["request_id"] = request_id
    return {key: value for key, value in fields.items() if value is not None}


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, then the record's
    fields (request_id, method, path, status, ...) and ``exception`` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(_extra_fields(record))
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        # scrubbed before encoding, where a secret's surroundings still look as they were written
        clean = {key: redact(value) if isinstance(value, str) else value for key, value in data.items()}
        return json.dumps(clean, default=str, ensure_ascii=False)


class TextLogFormatter(logging.Formatter):
    """``time LEVEL logger message key=value ...``, for a person reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{key}={value}" for key, value in _extra_fields(record).items())
        line = f"{_timestamp(record)} {record.levelname} {record.name} {record.getMessage()}"
        line = f"{line} {fields}" if fields else line
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return redact(line)


def _not_a_cut_request(record: logging.LogRecord) -> bool:
    """Drops uvicorn's traceback for a request task it cancelled when the shutdown grace ran out:
    uvicorn says so in the line before, and the access log has the request's 503."""
    cancelled = record.exc_info is not None and isinstance(record.exc_info[1], asyncio.CancelledError)
    return not (cancelled and record.name == "uvicorn.error")


# what alembic says on every start whether or not it migrates anything ("Running upgrade" stays)
_MIGRATION_CHATTER = ("Context impl ", "Will assume ")


def _not_migration_chatter(record: logging.LogRecord) -> bool:
    return not (
        record.name == "alembic.runtime.migration" and record.getMessage().startswith(_MIGRATION_CHATTER)
    )


def configure_logging(
    fmt: Literal["json", "text"], level: str = "info", *, stream: TextIO | None = None
) -> logging.Handler:
    """Send every log line (ours, uvicorn's, libraries') through one handler on ``stream``
    (stderr), in ``fmt``. uvicorn's access log is switched off: the middleware writes ours."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLogFormatter() if fmt == "json" else TextLogFormatter())
    handler.addFilter(_not_a_cut_request)
    handler.addFilter(_not_migration_chatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.asgi"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    access = logging.getLogger("uvicorn.access")
    access.handlers, access.propagate, access.disabled = [], False, True
    # alembic announces each of its plugins at info on every start; its migrations stay visible
    logging.getLogger("alembic.runtime.plugins").setLevel(max(root.level, logging.WARNING))
    return handler

"""The event store on a ClickHouse server or cluster, over HTTP(S) with clickhouse-connect.

One database per workspace (``<prefix>_<workspace>``), the tables and SQL of
:mod:`watchkeeper.store.clickhouse` (which chdb runs in the tests). Inserts are asynchronous
inserts that wait for the flush (``async_insert=1, wait_for_async_insert=1``): many small
batches from many ingest nodes become few parts, and an insert is acknowledged only once its rows
are written. Queries run under ``max_execution_time`` and ``max_result_rows`` (see
:func:`~watchkeeper.store.clickhouse.query_settings`).

The deployment is named by a URL, ``clickhouse://user:password@host:8123/prefix?secure=true``;
its password is kept out of ``repr``, logs and error messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pyarrow as pa

from watchkeeper.errors import ConfigurationError, QueryTimeout, StoreError, WatchkeeperError
from watchkeeper.store.base import QueryLimits
from watchkeeper.store.clickhouse import INSERT_SETTINGS, ClickHouseTables, first_line
from watchkeeper.store.clickhouse_ddl import Retention, quoted

__all__ = ["ClickHouseEventStore", "ClickHouseUrl", "workspace_database"]

# Engine errors that say nothing about the rows: the same write may succeed later
# (159 timeout, 202/203 too many queries/connections, 209/210 network, 241 memory, 252 too many
# parts, 242 read-only replica, 319/999 Keeper, 425 system error).
_TRANSIENT_CODES = frozenset({159, 202, 203, 209, 210, 241, 242, 252, 319, 425, 999})
_AUTH_CODES = frozenset({192, 193, 194, 195, 516})  # unknown user, wrong password, ...
_CODE = re.compile(r"Code: (\d+)\.")
_NAME = re.compile(r"[^A-Za-z0-9_]")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class ClickHouseUrl:
    """A parsed ``clickhouse://user:password@host:port/prefix?secure=...&verify=...`` URL.

    ``prefix`` starts every workspace's database name (default ``wk``); ``secure`` is https
    (default: on for port 8443); ``verify`` checks the server's certificate (default on).
    """

    host: str
    port: int
    username: str = "default"
    password: str = field(default="", repr=False)
    secure: bool = False
    verify: bool = True
    prefix: str = "wk"

    @classmethod
    def parse(cls, url: str) -> ClickHouseUrl:
        """Parse ``url``; :class:`ConfigurationError` (without the password) when it is not one."""
        parts = urlsplit(url)
        shown = _redact(url)
        if parts.scheme != "clickhouse" or not parts.hostname:
            raise ConfigurationError(f"not a ClickHouse URL (clickhouse://user:password@host:8123/): {shown}")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = sorted(set(query) - {"secure", "verify"})
        if unknown:
            raise ConfigurationError(f"unknown ClickHouse URL options {', '.join(unknown)}: {shown}")
        try:
            port = parts.port
        except ValueError:
            raise ConfigurationError(f"the ClickHouse URL has an invalid port: {shown}") from None
        secure = _flag(query.get("secure"), port == 8443, shown)
        prefix = parts.path.strip("/") or "wk"
        if _NAME.search(prefix):
            raise ConfigurationError(f"the database prefix may hold only letters, digits and _: {shown}")
        return cls(
            host=parts.hostname,
            port=port or (8443 if secure else 8123),
            username=unquote(parts.username) if parts.username else "default",
            password=unquote(parts.password) if parts.password else "",
            secure=secure,
            verify=_flag(query.get("verify"), True, shown),
            prefix=prefix,
        )

    def __str__(self) -> str:
        """The URL with its password masked: safe to log."""
        user = quote(self.username, safe="")
        secret = ":***" if self.password else ""
        return f"clickhouse://{user}{secret}@{self.host}:{self.port}/{self.prefix}?secure={str(self.secure).lower()}"

    def scrub(self, text: str) -> str:
        """``text`` (an error from the client library) without the password in it."""
        return text.replace(self.password, "***") if self.password else text


def _flag(value: str | None, default: bool, shown: str) -> bool:
    if value is None:
        return default
    if value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise ConfigurationError(f"a ClickHouse URL option must be true or false, not {value!r}: {shown}")


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def workspace_database(prefix: str, workspace: str) -> str:
    """The database holding a workspace's tables: ``<prefix>_<workspace id>`` (as a name)."""
    return f"{prefix}_{_NAME.sub('_', workspace)}"


def error_code(exc: BaseException) -> int | None:
    """The ClickHouse error code in an engine error's text (``Code: 159.``), if any."""
    found = _CODE.search(str(exc))
    return int(found.group(1)) if found else None


class ClickHouseEventStore(ClickHouseTables):
    """:class:`~watchkeeper.store.base.EventStore` on a ClickHouse server: workspace ``database``
    at ``url``. Tables other nodes create are seen within :attr:`stored_refresh` seconds."""

    stored_refresh: float | None = 2.0

    def __init__(
        self,
        url: ClickHouseUrl | str,
        database: str,
        *,
        retention: Retention | None = None,
        receive_timeout: float = 660.0,
    ) -> None:
        super().__init__(retention)
        self.url = url if isinstance(url, ClickHouseUrl) else ClickHouseUrl.parse(url)
        self.database = database
        self._client = self._connect(receive_timeout)
        self._command(f"CREATE DATABASE IF NOT EXISTS {quoted(database)}")
        self._client.database = database
        self._start()

    def _connect(self, receive_timeout: float) -> Any:
        try:
            import clickhouse_connect
        except ImportError as exc:  # an optional dependency (extra "clickhouse")
            raise ConfigurationError(
                "the ClickHouse server store needs clickhouse-connect: pip install 'watchkeeper[clickhouse]'"
            ) from exc
        url = self.url
        try:
            return clickhouse_connect.get_client(
                host=url.host, port=url.port, username=url.username, password=url.password,
                secure=url.secure, verify=url.verify, send_receive_timeout=receive_timeout,
                connect_timeout=10, autogenerate_session_id=False,  # stateless: one client, many threads
            )  # fmt: skip
        except Exception as exc:
            raise self.connection_error(exc) from None

    def connection_error(self, exc: BaseException) -> WatchkeeperError:
        """The error for a server that cannot be used: refused credentials are a configuration
        error; a server that cannot be reached may come back (transient)."""
        text = self.url.scrub(first_line(str(exc)))
        if error_code(exc) in _AUTH_CODES:
            return ConfigurationError(
                f"the ClickHouse server at {self.url} refused user {self.url.username}: {text}"
            )
        return StoreError(f"cannot use the ClickHouse server at {self.url}: {text}", transient=True)

    def _command(self, sql: str) -> None:
        try:
            self._client.command(sql)
        except Exception as exc:
            raise self.write_error("the store's tables", exc) from None

    def _select(self, sql: str, settings: Mapping[str, Any], parameters: Mapping[str, str]) -> pa.Table:
        # given as text, clickhouse-connect sends each value as the HTTP parameter param_<name>
        # for the server to bind ({name:Type} placeholders), the SQL itself untouched
        table: pa.Table = self._client.query_arrow(
            sql, parameters=dict(parameters) or None, settings=dict(settings), use_strings=True
        )
        return table

    def _insert(self, table: str, rows: pa.Table) -> None:
        try:
            self._client.insert_arrow(table, rows, settings=dict(INSERT_SETTINGS))
        except Exception as exc:
            raise self.write_error(table, exc) from None

    def write_error(self, table: str, exc: BaseException) -> WatchkeeperError:
        """A write the server refused; transient unless the error is about the rows themselves."""
        code = error_code(exc)
        if code in _AUTH_CODES:
            return self.connection_error(exc)
        transient = code is None or code in _TRANSIENT_CODES  # no code: the server was not reached
        return StoreError(
            f"could not append to {table}: {self.url.scrub(first_line(str(exc)))}", transient=transient
        )

    def _failure(self, exc: Exception, limits: QueryLimits) -> Exception:
        if error_code(exc) is None and "timed out" in str(exc).lower():
            return QueryTimeout(limits.timeout)  # the HTTP read gave up before the server did
        failure = super()._failure(exc, limits)
        if error_code(exc) is None and not isinstance(failure, QueryTimeout):
            return self.connection_error(exc)
        return failure

    def close(self) -> None:
        self._client.close()

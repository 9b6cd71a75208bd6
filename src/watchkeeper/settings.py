"""Configuration: one :class:`Settings`, read from ``watchkeeper.toml`` and ``WK_*`` variables.

This module is the only place that reads the environment. Defaults give a working embedded
install under ``./var/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["Settings"]


class Settings(BaseSettings):
    """watchkeeper's settings. Every field can be set as ``WK_<NAME>`` (e.g. ``WK_DATA_DIR``)."""

    model_config = SettingsConfigDict(env_prefix="WK_", toml_file="watchkeeper.toml", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="where workspaces and state live")
    workspace: str = Field(default="default", description="the workspace commands use by default")
    host: str = Field(default="127.0.0.1", description="address the server listens on")
    port: int = Field(default=8080, ge=0, le=65535)
    query_row_limit: int = Field(
        default=30_000, ge=1, description="rows a query may return (Log Analytics' default); more are cut"
    )
    query_timeout: float = Field(default=180.0, gt=0, description="seconds before a query is cancelled")
    query_timeout_max: float = Field(
        default=600.0,
        gt=0,
        description="the longest timeout a request may ask for (Prefer: wait=, servertimeout)",
    )
    tenant_concurrent_queries: int = Field(
        default=4, ge=1, description="queries one tenant may run at once; more wait, then get 429"
    )
    query_queue_wait: float = Field(
        default=10.0, ge=0, description="seconds a query waits for a free slot before it is refused with 429"
    )
    ingest_queue: int = Field(
        default=16, ge=1, description="received batches one workspace may hold at once (storing or waiting)"
    )
    ingest_queue_wait: float = Field(
        default=5.0, ge=0, description="seconds a batch waits for room in a full queue before a 429"
    )
    ingest_journal_limit: int = Field(
        default=1 << 30, ge=1 << 20,
        description="bytes of received data one workspace's journal may hold before it is stored; past it, 429",
    )  # fmt: skip
    detection_tick: float = Field(
        default=60.0,
        ge=0,
        description="seconds between detection scheduler ticks in `wk serve` (0: no scheduler)",
    )
    detection_catch_up: float = Field(
        default=86400.0, ge=0,
        description="seconds back a scheduled rule catches up after downtime; older windows are recorded as skipped",
    )  # fmt: skip
    detection_disable_after: int = Field(
        default=5, ge=0, description="consecutive failures that disable a rule (0: never)"
    )
    notification_tick: float = Field(
        default=1.0, ge=0,
        description="seconds between change-notification delivery passes in `wk serve` (0: nothing is sent)",
    )  # fmt: skip
    notification_timeout: float = Field(
        default=3.0, gt=0, le=60, description="seconds a webhook receiver has to answer a delivery (Graph: 3)"
    )
    notification_retry_hours: float = Field(
        default=4.0, gt=0, description="hours a failed change notification is retried before it is dropped"
    )
    notification_retry_base: float = Field(
        default=10.0, gt=0,
        description="seconds before the first retry of a failed notification; doubled each time, at most 30 min",
    )  # fmt: skip
    notification_http_loopback: bool = Field(
        default=False,
        description="accept plain-http notification URLs on this machine (127.0.0.1, localhost); else https only",
    )
    provider_tick: float = Field(
        default=60.0, ge=0,
        description="seconds between runs of the enabled alert providers in `wk serve` (0: they run only on demand)",
    )  # fmt: skip
    database_url: str | None = Field(
        default=None,
        description="state database (SQLAlchemy URL); default: SQLite in WAL mode at <data dir>/state.db",
    )
    state_busy_timeout: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="seconds a SQLite state database writer waits for the one before it; past it the request "
        "is answered 503 with Retry-After",
    )
    events_url: str = Field(
        default="duckdb",
        repr=False,  # a server URL may carry a password
        description="event store: duckdb (a file per workspace), chdb (ClickHouse in process, under <data dir>/"
        "events.chdb) or clickhouse://user:password@host:8123/prefix?secure=true (a database per workspace)",
    )
    event_retention_days: int = Field(
        default=0, ge=0, description="days a ClickHouse event store keeps rows (TTL; 0: until deleted)"
    )
    event_retention: dict[str, int] = Field(
        default_factory=dict, description="days a ClickHouse event store keeps each named table's rows (TTL)"
    )
    tls: bool = Field(
        default=False, description="serve https with a self-signed certificate (generated once)"
    )
    workers: int = Field(
        default=1, ge=1, description="server worker processes (1 with the embedded DuckDB store)"
    )
    loopback_http_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="with tls: also serve plain http on 127.0.0.1 at this port, for this machine only",
    )
    log_format: Literal["json", "text"] = Field(
        default="json", description="server logs on stderr: one JSON object per line, or plain text"
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="the least severe server log lines written"
    )
    shutdown_grace: int = Field(
        default=30,
        ge=0,
        description="seconds in-flight requests get to finish after SIGTERM/SIGINT before they are cut",
    )
    token_lifetime: int = Field(
        default=3599, ge=60, le=86_400, description="seconds an access token is valid"
    )
    syslog_udp_port: int | None = Field(
        default=None, ge=0, le=65535, description="syslog over UDP (RFC 5426) on this port; off when unset"
    )
    syslog_tcp_port: int | None = Field(
        default=None, ge=0, le=65535, description="syslog over TCP (RFC 6587) on this port; off when unset"
    )
    syslog_tls_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="syslog over TLS (RFC 5425) on this port, certificate under <data dir>/tls/; off when unset",
    )
    syslog_host: str | None = Field(
        default=None, description="address the syslog listeners bind (default: host)"
    )
    syslog_workspace: str | None = Field(
        default=None, description="tenant/workspace (names or ids) that syslog messages are stored in"
    )
    external_data_allow: list[str] = Field(
        default_factory=list,
        description="prefixes of files/URLs externaldata may read (empty: externaldata is refused)",
    )

    @field_validator("events_url")
    @classmethod
    def _known_event_store(cls, value: str) -> str:
        if value in ("duckdb", "chdb") or value.startswith("clickhouse://"):
            return value
        raise ValueError("events_url must be duckdb, chdb or a clickhouse:// URL")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)

    def workspace_path(self, name: str | None = None) -> Path:
        """The folder of a workspace under the data directory."""
        return self.data_dir / "workspaces" / (name or self.workspace)

    def state_database_url(self) -> str:
        """The state database's SQLAlchemy URL (``database_url``, or the embedded SQLite file)."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'state.db').as_posix()}"

    def public(self) -> dict[str, Any]:
        """Settings safe to print: a password in ``database_url`` or ``events_url`` is masked."""
        data = self.model_dump(mode="json")
        if self.database_url:
            from sqlalchemy.engine import make_url

            data["database_url"] = make_url(self.database_url).render_as_string(hide_password=True)
        password = urlsplit(self.events_url).password
        if password:
            data["events_url"] = self.events_url.replace(f":{password}@", ":***@", 1)
        return data

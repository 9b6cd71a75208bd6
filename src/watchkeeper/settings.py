"""Configuration: one :class:`Settings`, read from ``watchkeeper.toml`` and ``WK_*`` variables.

This module is the only place that reads the environment. Defaults give a working embedded
install under ``./var/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field
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
    query_row_limit: int = Field(default=500_000, ge=1, description="rows a query may return")
    query_timeout: float = Field(default=60.0, gt=0, description="seconds before a query is cancelled")
    external_data_allow: list[str] = Field(
        default_factory=list,
        description="prefixes of files/URLs externaldata may read (empty: externaldata is refused)",
    )

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

    def public(self) -> dict[str, Any]:
        """Settings safe to print (no secrets are held here yet; later ones are masked)."""
        return self.model_dump(mode="json")

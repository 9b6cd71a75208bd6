"""Layer 6: the HTTP API (FastAPI). Routes translate HTTP to workspaces and services, nothing more."""

from watchkeeper.api.app import create_app

__all__ = ["create_app"]

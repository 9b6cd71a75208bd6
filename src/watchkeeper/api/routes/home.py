"""``GET /``: a page saying what this server is and how to query it."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from watchkeeper import __version__
from watchkeeper.api.deps import RegistryDep

__all__ = ["router"]

router = APIRouter(tags=["home"])

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>watchkeeper</title>
<style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;line-height:1.5}}
pre{{background:#f3f3f3;padding:1rem;overflow-x:auto}}</style></head>
<body><h1>watchkeeper {version}</h1>
<p>A self-hosted security operations platform. This server answers KQL queries over HTTP in the
shape of the Log Analytics query API.</p>
<p>Default workspace: <code>{workspace}</code></p>
<pre>curl -s -X POST {origin}v1/workspaces/{workspace}/query \\
  -H 'Content-Type: application/json' \\
  -d '{{"query": "SecurityEvent | summarize count() by EventID"}}'</pre>
<p><a href="docs">API documentation</a> &middot; <a href="healthz">health</a></p>
</body></html>
"""


@router.get("/", operation_id="home-get", response_class=HTMLResponse, include_in_schema=False)
def get_home(request: Request, registry: RegistryDep) -> HTMLResponse:
    """The landing page."""
    origin = escape(str(request.base_url))
    page = _PAGE.format(version=escape(__version__), workspace=escape(registry.default_name), origin=origin)
    return HTMLResponse(page)

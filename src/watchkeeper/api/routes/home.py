"""``GET /``: a page saying what this server is and how to talk to it."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from watchkeeper import __version__
from watchkeeper.api.deps import request_origin

__all__ = ["router"]

router = APIRouter(tags=["home"])

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>watchkeeper</title>
<style>body{{font-family:system-ui,sans-serif;max-width:50rem;margin:3rem auto;line-height:1.5}}
pre{{background:#f3f3f3;padding:1rem;overflow-x:auto}}</style></head>
<body><h1>watchkeeper {version}</h1>
<p>A self-hosted security operations platform. Apps sign in with OAuth2 client credentials and run
KQL through the Log Analytics, Kusto and advanced hunting query APIs.</p>
<pre>TOKEN=$(curl -s {origin}/$TENANT/oauth2/v2.0/token \\
  -d grant_type=client_credentials -d client_id=$CLIENT_ID --data-urlencode client_secret=$CLIENT_SECRET \\
  -d scope=https://api.loganalytics.io/.default | python -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -s {origin}/v1/workspaces/$WORKSPACE/query -H "Authorization: Bearer $TOKEN" \\
  -H 'Content-Type: application/json' -d '{{"query": "SecurityEvent | summarize count() by EventID"}}'</pre>
<p><a href="docs">API documentation</a> &middot; <a href="healthz">health</a></p>
</body></html>
"""


@router.get("/", operation_id="home-get", response_class=HTMLResponse, include_in_schema=False)
def get_home(request: Request) -> HTMLResponse:
    """The landing page (no tenant data: public)."""
    return HTMLResponse(_PAGE.format(version=escape(__version__), origin=escape(request_origin(request))))

"""The console's HTML shells and static files, shipped as package data.

Pages carry no tenant data: each shell names its ES module, and the module fetches what it shows
from the public API with the session. Values placed into a shell are HTML-escaped here.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from importlib.resources import files
from string import Template

__all__ = ["ASSETS", "asset", "render_page"]

# the media types served; a static file is any file of ``static/`` with one of these suffixes
_MEDIA_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".svg": "image/svg+xml"}  # fmt: skip
# the static files a page may load: name -> media type (no other name is served)
ASSETS: dict[str, str] = {
    entry.name: _MEDIA_TYPES[suffix]
    for entry in files("watchkeeper.console").joinpath("static").iterdir()
    if (suffix := entry.name[entry.name.rfind(".") :]) in _MEDIA_TYPES and entry.is_file()
}


def _text(folder: str, name: str) -> str:
    return files("watchkeeper.console").joinpath(folder, name).read_text(encoding="utf-8")


def asset(name: str) -> bytes | None:
    """A static file's bytes, or None when ``name`` is not one of :data:`ASSETS`."""
    if name not in ASSETS:
        return None
    return files("watchkeeper.console").joinpath("static", name).read_bytes()


def _tenant_switch(tenants: Sequence[tuple[str, str]], active: str, csrf: str) -> str:
    """The nav's tenant switcher (a form posting to ``/console/tenant``) for a user who may work in
    more than one tenant; nothing for the others."""
    if not tenants:
        return ""
    options = "".join(
        f'<option value="{escape(tid)}"{" selected" if tid == active else ""}>{escape(name)}</option>'
        for tid, name in tenants
    )
    return Template(_text("templates", "tenant-switch.html")).substitute(options=options, csrf=escape(csrf))


def render_page(template: str, *, title: str, user: str | None = None, csrf: str = "",
                script: str = "", tenant_choices: Sequence[tuple[str, str]] = (), active_tenant: str = "",
                **values: str) -> str:  # fmt: skip
    """The page ``template`` (a file under ``templates/``) inside the layout; every value escaped.
    ``tenant_choices`` (id, name) are the tenants a signed-in user may switch between,
    ``active_tenant`` the one the user works in."""
    body = Template(_text("templates", template)).substitute({k: escape(v) for k, v in values.items()})
    switch = _tenant_switch(tenant_choices, active_tenant, csrf)
    nav = (
        Template(_text("templates", "nav.html")).substitute(
            user=escape(user), csrf=escape(csrf), switch=switch
        )
        if user
        else ""
    )
    module = f'<script type="module" src="/console/static/{escape(script)}"></script>' if script else ""
    return Template(_text("templates", "layout.html")).substitute(
        title=escape(title), csrf=escape(csrf), nav=nav, body=body, script=module
    )

"""OData on the wire for the Graph routes (``../shared/specs/graph-security-api.md`` section 1): the
``$``-options of a request, and the collection envelope ``{"@odata.context", "value", "@odata.count",
"@odata.nextLink"}`` whose ``nextLink`` is the absolute request URL with an opaque ``$skiptoken``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from fastapi import Request

from watchkeeper.errors import InvalidRequestError
from watchkeeper.state.odata import Page, encode_skiptoken

__all__ = ["collection_body", "context_url", "next_link", "project", "query_params"]

KEEP = ("id", "@odata.type")  # $select never drops these (Graph returns them with any $select)


def query_params(request: Request) -> dict[str, str]:
    """The request's system query options (names lower-cased: ``$Top`` is ``$top``, as OData 4.01 allows);
    an option given twice is refused, as Graph does."""
    options: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if not name.startswith("$"):
            continue
        name = name.lower()
        if name in options:
            raise InvalidRequestError(f"query option {name} is given more than once")
        options[name] = value
    return options


def context_url(request: Request, context: str, select: Iterable[str] | None = None) -> str:
    """``<base>/$metadata#<context>`` where base is the server and API version of the request
    (``http://host/v1.0``); with ``$select`` the selected names follow in parentheses, as Graph writes."""
    if "$metadata#" in context:
        return context
    version = request.url.path.lstrip("/").split("/", 1)[0]
    base = str(request.base_url).rstrip("/")
    suffix = f"({','.join(select)})" if select else ""
    return f"{base}/{version}/$metadata#{context}{suffix}"


def project(item: dict[str, Any], select: Iterable[str] | None) -> dict[str, Any]:
    """``item`` cut to the ``$select``ed properties plus ``id`` and ``@odata.type`` (a path such as
    ``vendorInformation/provider`` keeps its top-level property)."""
    if select is None:
        return item
    wanted = {name.split("/", 1)[0] for name in select} | set(KEEP)
    return {key: value for key, value in item.items() if key in wanted}


def collection_body(
    request: Request,
    items: list[dict[str, Any]],
    page: Page,
    *,
    context: str,
    select: Iterable[str] | None,
) -> dict[str, Any]:
    """The collection envelope of one page: ``@odata.count`` only when counted, ``@odata.nextLink`` only
    when another page follows (the request URL with ``$skip`` replaced by ``$skiptoken``)."""
    chosen = tuple(select) if select is not None else None
    body: dict[str, Any] = {"@odata.context": context_url(request, context, chosen)}
    if page.total is not None:
        body["@odata.count"] = page.total
    body["value"] = [project(item, chosen) for item in items]
    if page.next_skip is not None:
        body["@odata.nextLink"] = next_link(request, page.next_skip)
    return body


def next_link(request: Request, next_skip: int) -> str:
    """The absolute URL of the next page: every option of this request but the offset, kept as given."""
    kept = [
        (name, value)
        for name, value in request.query_params.multi_items()
        if name.lower() not in ("$skip", "$skiptoken")
    ]
    kept.append(("$skiptoken", encode_skiptoken(next_skip)))
    return str(request.url.replace(query=_encode(kept)))


def _encode(pairs: list[tuple[str, str]]) -> str:
    # "$" stays readable in the link (Graph's own links keep it); everything else is percent-encoded.
    return "&".join(f"{quote(name, safe='$')}={quote(value, safe='')}" for name, value in pairs)

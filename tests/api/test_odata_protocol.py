"""The OData envelope on the wire: which query options a request carries, the ``@odata.context`` URL,
``$select`` projection, and an absolute ``@odata.nextLink`` that keeps the request's other options and
continues exactly where the page ended (the Graph routes' own tests follow it with msgraph-sdk)."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from sqlalchemy import column
from starlette.requests import Request

from watchkeeper.api.protocols.odata import collection_body, context_url, project, query_params
from watchkeeper.errors import InvalidRequestError
from watchkeeper.state.odata import Field, Page, parse_options

FIELDS = {"id": Field(column("id"), "string"), "title": Field(column("title"), "string")}
ITEMS = [
    {"@odata.type": "#microsoft.graph.security.alert", "id": "1", "title": "one", "severity": "high"},
    {"@odata.type": "#microsoft.graph.security.alert", "id": "2", "title": "two", "severity": "low"},
]


def _request(path: str, query: str = "") -> Request:
    """A request as uvicorn hands it to the application."""
    scope = {
        "type": "http",
        "method": "GET",
        "scheme": "http",
        "server": ("127.0.0.1", 8123),
        "path": path,
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1:8123")],
    }
    return Request(scope)


def test_only_system_query_options_are_returned_with_lower_case_names() -> None:
    request = _request("/v1.0/security/alerts_v2", "%24filter=title%20eq%20%27a%27&$Top=5&api-version=1")
    assert query_params(request) == {"$filter": "title eq 'a'", "$top": "5"}


def test_an_option_given_twice_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match=r"query option \$top is given more than once"):
        query_params(_request("/v1.0/security/alerts_v2", "$top=5&$TOP=6"))


def test_the_context_names_the_server_version_and_selection() -> None:
    request = _request("/beta/security/tiIndicators")
    assert (
        context_url(request, "security/tiIndicators")
        == "http://127.0.0.1:8123/beta/$metadata#security/tiIndicators"
    )
    assert context_url(request, "security/alerts_v2", ["id", "title"]).endswith(
        "$metadata#security/alerts_v2(id,title)"
    )
    assert context_url(request, "http://x/v1.0/$metadata#y") == "http://x/v1.0/$metadata#y"


def test_select_keeps_the_id_and_type_of_each_item() -> None:
    assert project(ITEMS[0], ["title"]) == {
        "@odata.type": "#microsoft.graph.security.alert",
        "id": "1",
        "title": "one",
    }
    assert project(
        {"id": "1", "vendorInformation": {"provider": "ASC"}, "x": 1}, ["vendorInformation/provider"]
    ) == {
        "id": "1",
        "vendorInformation": {"provider": "ASC"},
    }
    assert project(ITEMS[0], None) == ITEMS[0]


def test_the_last_page_has_no_next_link_and_count_only_when_asked() -> None:
    request = _request("/v1.0/security/alerts_v2", "$top=5")
    body = collection_body(request, ITEMS, Page(rows=[], total=None, next_skip=None), context="security/alerts_v2",
                           select=None)  # fmt: skip
    assert body == {
        "@odata.context": "http://127.0.0.1:8123/v1.0/$metadata#security/alerts_v2",
        "value": ITEMS,
    }
    counted = collection_body(
        request, ITEMS, Page(rows=[], total=7, next_skip=None), context="c", select=None
    )
    assert counted["@odata.count"] == 7


def test_the_next_link_keeps_the_other_options_and_continues_after_the_page() -> None:
    text = "title eq 'o''k & 100%' or startswith(title, '#')"
    query = f"%24filter={quote(text)}&%24top=2&%24skip=4&%24select=title&%24count=true&api-version=x"
    request = _request("/v1.0/security/alerts_v2", query)
    body = collection_body(request, ITEMS, Page(rows=[], total=9, next_skip=6), context="security/alerts_v2",
                           select=["title"])  # fmt: skip
    assert [set(item) for item in body["value"]] == [{"@odata.type", "id", "title"}] * 2
    link = urlsplit(body["@odata.nextLink"])
    assert (link.scheme, link.netloc, link.path) == ("http", "127.0.0.1:8123", "/v1.0/security/alerts_v2")
    options = dict(parse_qsl(link.query))
    assert options["$filter"] == text
    assert {name: options[name] for name in ("$top", "$select", "$count", "api-version")} == {
        "$top": "2", "$select": "title", "$count": "true", "api-version": "x",
    }  # fmt: skip
    assert "$skip" not in options
    following = parse_options(query_params(_request(link.path, link.query)), fields=FIELDS)
    assert (following.skip, following.top, following.select) == (6, 2, ("title",))
    assert following.filter == parse_options({"$filter": text}, fields=FIELDS).filter

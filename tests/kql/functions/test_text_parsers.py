"""Text parsers on DuckDB and chdb: parse_url, parse_urlquery, parse_path, parse_csv, parse_xml,
parse_user_agent; the SQL checked against the Python references on generated input."""

from __future__ import annotations

import csv
import io
import itertools
import urllib.parse
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper import Workspace
from watchkeeper.errors import KqlError
from watchkeeper.kql.functions.text_parsers import (
    fold_command_line,
    fold_parse_path,
    fold_parse_url,
    fold_query,
)
from watchkeeper.kql.functions.xml_values import parse_xml_value

_TABLES = itertools.count()
PROPERTY = settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def rows_of(ws: Workspace, rows: list[dict[str, Any]], *exprs: str) -> list[tuple[Any, ...]]:
    table = f"P{next(_TABLES)}_CL"
    ws.ingest(table, [{"i": i, **row} for i, row in enumerate(rows)])
    names = ", ".join(f"r{k} = {e}" for k, e in enumerate(exprs))
    return ws.query(f"{table} | order by i asc | project {names}").rows


# ---------------------------------------------------------------------------- URLs


def test_parse_url_returns_the_parts_kusto_names(engine_ws: Workspace) -> None:
    url = "scheme://username:password@host:1234/this/is/a/path?k1=v1&k2=v2#fragment"
    assert rows_of(engine_ws, [{"u": url}], "parse_url(u)") == [({
        "Scheme": "scheme", "Host": "host", "Port": "1234", "Path": "/this/is/a/path", "Username": "username",
        "Password": "password", "Query Parameters": {"k1": "v1", "k2": "v2"}, "Fragment": "fragment"},)]  # fmt: skip


def test_parse_url_of_text_that_is_not_an_absolute_url_is_all_empty(engine_ws: Workspace) -> None:
    empty = {"Scheme": "", "Host": "", "Port": "", "Path": "", "Username": "", "Password": "",
             "Query Parameters": {}, "Fragment": ""}  # fmt: skip
    assert rows_of(engine_ws, [{"u": "bing.com"}, {"u": None}], "parse_url(u)") == [(empty,), (empty,)]


def test_parse_url_parts_are_usable_as_in_sentinel_rules(engine_ws: Workspace) -> None:
    url = "https://nam02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fevil.example%2Fx&data=1"
    rows = rows_of(engine_ws, [{"u": url}], "tostring(parse_url(u).Host)", "tostring(parse_url(u)['Query Parameters']['url'])",
                   "tostring(split(tostring(parse_url(u)['Path']), '/')[-1])")  # fmt: skip
    assert rows == [("nam02.safelinks.protection.outlook.com", "https://evil.example/x", "")]


def test_parse_urlquery(engine_ws: Workspace) -> None:
    rows = rows_of(engine_ws, [{"q": "k1=v1&k2=v2&k3=v3"}, {"q": "view=vs-2019&preserve-view=true&a=1&a=2&flag"},
                               {"q": "https://x.com/p?a%20b=c+d#frag"}],
                   "parse_urlquery(q)", "tostring(parse_urlquery(q)['Query Parameters']['preserve-view'])")  # fmt: skip
    assert rows == [({"Query Parameters": {"k1": "v1", "k2": "v2", "k3": "v3"}}, ""),
                    ({"Query Parameters": {"view": "vs-2019", "preserve-view": "true", "a": "2", "flag": ""}}, "true"),
                    ({"Query Parameters": {"a b": "c d"}}, "")]  # fmt: skip


URL_PART = st.text(alphabet="abcXYZ019-._~", min_size=1, max_size=6)
QUERY_PART = st.text(alphabet="abc XYZ019-._~&=%/é", max_size=6)


@st.composite
def urls(draw: st.DrawFn) -> str:
    """Absolute URLs built from optional parts, and some text that is not one."""
    if draw(st.booleans()) and draw(st.booleans()):
        return draw(st.text(max_size=15))
    user = draw(st.one_of(st.just(""), URL_PART.map(lambda u: u + "@"), st.tuples(URL_PART, URL_PART).map(
        lambda p: f"{p[0]}:{p[1]}@")))  # fmt: skip
    port = draw(st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}")))
    path = draw(st.lists(URL_PART, max_size=3).map(lambda ps: "".join("/" + p for p in ps)))
    pairs = draw(st.lists(st.tuples(QUERY_PART, QUERY_PART), max_size=3))
    query = (
        "?" + "&".join(f"{urllib.parse.quote(k)}={urllib.parse.quote_plus(v)}" for k, v in pairs)
        if pairs
        else ""
    )
    fragment = draw(st.one_of(st.just(""), URL_PART.map(lambda f: "#" + f)))
    return f"{draw(st.sampled_from(['http', 'https', 'ftp']))}://{user}{draw(URL_PART)}{port}{path}{query}{fragment}"


@PROPERTY
@given(data=st.lists(urls(), min_size=1, max_size=10))
def test_parse_url_matches_its_reference(engine_ws: Workspace, data: list[str]) -> None:
    got = rows_of(engine_ws, [{"u": u} for u in data], "parse_url(u)", "parse_urlquery(u)")
    want = [(fold_parse_url(u), {"Query Parameters": fold_query(u.split("?", 1)[1].split("#")[0] if "?" in u else u.split("#")[0])})
            for u in data]  # fmt: skip
    assert got == want


# ---------------------------------------------------------------------------- paths and CSV


def test_parse_path_documented_examples(engine_ws: Workspace) -> None:
    paths = [r"C:\temp\file.txt", r"temp\file.txt", "file://C:/temp/file.txt:some.exe", r"\\shared\users\temp\file.txt.gz",
             "/usr/lib/temp/file.txt"]  # fmt: skip
    rows = rows_of(engine_ws, [{"p": p} for p in paths], "parse_path(p)")
    assert rows[2] == ({"Scheme": "file", "RootPath": "C:", "DirectoryPath": "C:/temp", "DirectoryName": "temp",
                        "Filename": "file.txt", "Extension": "txt", "AlternateDataStreamName": "some.exe"},)  # fmt: skip
    assert [r[0]["DirectoryPath"] for r in rows] == [
        "C:\\temp",
        "temp",
        "C:/temp",
        r"\\shared\users\temp",
        "/usr/lib/temp",
    ]
    assert rows == [(fold_parse_path(p),) for p in paths]


@PROPERTY
@given(data=st.lists(st.text(alphabet="ab.:/\\C", max_size=12), min_size=1, max_size=10))
def test_parse_path_matches_its_reference(engine_ws: Workspace, data: list[str]) -> None:
    assert rows_of(engine_ws, [{"p": p} for p in data], "parse_path(p)") == [
        (fold_parse_path(p),) for p in data
    ]


def test_parse_csv_reads_the_first_record(engine_ws: Workspace) -> None:
    texts = ["record1,a,b,c\nrecord2,x,y,z", 'a,"b,c","d""e",,f', "", ","]
    rows = rows_of(engine_ws, [{"c": c} for c in texts], "parse_csv(c)")
    assert rows == [(["record1", "a", "b", "c"],), (["a", "b,c", 'd"e', "", "f"],), ([""],), (["", ""],)]


@PROPERTY
@given(
    data=st.lists(
        st.lists(st.text(alphabet='ab ,"\né', max_size=5), min_size=1, max_size=4), min_size=1, max_size=8
    )
)
def test_parse_csv_reads_what_a_csv_writer_wrote(engine_ws: Workspace, data: list[list[str]]) -> None:
    records = []
    for fields in data:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(fields)
        records.append(out.getvalue() + "next,record")
    got = rows_of(engine_ws, [{"c": c} for c in records], "parse_csv(c)")
    assert got == [(fields,) for fields in data]


# ---------------------------------------------------------------------------- XML, user agents

SYSMON = ('<DataItem type="System.XML.XmlDocument"><EventData xmlns="http://schemas.microsoft.com/win/2004/08/events/event">'
          '<Data Name="RuleName">-</Data><Data Name="Image">C:\\Windows\\x.exe</Data><Data Name="Hashes">SHA256=AB</Data>'
          "</EventData></DataItem>")  # fmt: skip


@pytest.mark.parametrize(
    ("xml", "value"),
    [
        ("<e/>", {"e": None}),
        ("<e>text</e>", {"e": "text"}),
        ('<e name="value" />', {"e": {"@name": "value"}}),
        ('<e name="value">text</e>', {"e": {"@name": "value", "#text": "text"}}),
        ("<e> <a>text</a> <b>text</b> </e>", {"e": {"a": "text", "b": "text"}}),
        ("<e> <a>text</a> <a>text</a> </e>", {"e": {"a": ["text", "text"]}}),
        ("<e> text <a>text</a> </e>", {"e": {"#text": "text", "a": "text"}}),
        (
            '<?xml version="1.0"?><!-- c --><x:e xmlns:x="urn:x"><x:a>1</x:a></x:e>',
            {"x:e": {"@xmlns:x": "urn:x", "x:a": "1"}},
        ),
        ("<e>", None),
        ("not xml", None),
    ],
)
def test_xml_values_follow_kustos_conversion_table(xml: str, value: Any) -> None:
    assert parse_xml_value(xml) == value


def test_parse_xml_reads_windows_event_data(ws: Workspace) -> None:
    rows = rows_of(ws, [{"x": SYSMON}, {"x": "<broken"}],
                   "tostring(parse_xml(x).DataItem.EventData.Data[1]['#text'])",
                   "tostring(parse_xml(x).DataItem.EventData.Data[0]['@Name'])", "isnull(parse_xml(x))")  # fmt: skip
    assert rows == [("C:\\Windows\\x.exe", "RuleName", False), ("", "", True)]


def test_parse_xml_is_refused_on_clickhouse(engine_ws: Workspace) -> None:
    if engine_ws.store.dialect != "clickhouse":
        pytest.skip("DuckDB runs parse_xml through a Python function")
    with pytest.raises(KqlError, match="parse_xml\\(\\) on ClickHouse: ClickHouse has no XML parser"):
        engine_ws.query("print parse_xml('<a/>')")


def test_parse_user_agent_says_why_it_is_unsupported(engine_ws: Workspace) -> None:
    with pytest.raises(KqlError, match="uap-core"):
        engine_ws.query("print parse_user_agent('Mozilla/5.0', 'browser')")


# ---------------------------------------------------------------------------- command lines


def test_parse_command_line_splits_like_windows(engine_ws: Workspace) -> None:
    commands = ['echo "hello world!" print$?', 'a\\\\"b c" d', 'a\\"b c', '"a""b" c', "  x \t y  ", "",
                '"C:\\Program Files\\x.exe" -enc JAB\\']  # fmt: skip
    rows = rows_of(engine_ws, [{"c": c} for c in commands], "parse_command_line(c, 'windows')")
    assert rows == [(["echo", "hello world!", "print$?"],), (["a\\b c", "d"],), (['a"b', "c"],), (['a"b', "c"],),
                    (["x", "y"],), ([],), (["C:\\Program Files\\x.exe", "-enc", "JAB\\"],)]  # fmt: skip


def test_parse_command_line_knows_only_windows(engine_ws: Workspace) -> None:
    with pytest.raises(KqlError, match='the only parser is "windows"'):
        engine_ws.query("print parse_command_line('a b', 'linux')")


@PROPERTY
@given(data=st.lists(st.text(alphabet='ab "\\\t', max_size=14), min_size=1, max_size=10))
def test_parse_command_line_matches_its_reference(engine_ws: Workspace, data: list[str]) -> None:
    got = rows_of(engine_ws, [{"c": c} for c in data], "parse_command_line(c, 'Windows')")
    assert got == [(fold_command_line(c),) for c in data]

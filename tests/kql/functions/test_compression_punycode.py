"""gzip/zlib base64 compression and Punycode over column values (Python host functions, DuckDB):
what we write opens with the standard tools, what the standard tools write opens with us, and
ClickHouse refuses by name instead of answering wrongly."""

from __future__ import annotations

import base64
import gzip
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.kql.functions.datatables import column_values, values
from watchkeeper import UnsupportedError, Workspace, kql

PROPERTY = settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
TEXTS = st.lists(
    st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs", "Cc"]), min_size=1, max_size=200),
    min_size=1,
    max_size=6,
)


@PROPERTY
@given(texts=TEXTS)
def test_compressed_text_opens_with_the_standard_tools(ws: Workspace, texts: list[str]) -> None:
    rows = values(ws, {"x": "string"}, [(t,) for t in texts],
                  "gzip_compress_to_base64_string(x)", "zlib_compress_to_base64_string(x)")  # fmt: skip
    for text, (gz, zl) in zip(texts, rows, strict=True):
        assert gzip.decompress(base64.b64decode(gz)).decode("utf-8") == text
        assert zlib.decompress(base64.b64decode(zl)).decode("utf-8") == text


@PROPERTY
@given(texts=TEXTS)
def test_text_the_standard_tools_compress_opens_here(ws: Workspace, texts: list[str]) -> None:
    # Python's gzip writes a zero FLG byte with mtime 0, which is what Kusto accepts
    gz = [base64.b64encode(gzip.compress(t.encode("utf-8"), mtime=0)).decode() for t in texts]
    zl = [base64.b64encode(zlib.compress(t.encode("utf-8"), 9)).decode() for t in texts]
    assert column_values(ws, "string", gz, "gzip_decompress_from_base64_string(x)") == texts
    assert column_values(ws, "string", zl, "zlib_decompress_from_base64_string(x)") == texts


def test_invalid_streams_give_empty_text(ws: Workspace) -> None:
    named = base64.b64encode(
        gzip.compress(b"x", mtime=0)[:3] + b"\x08" + gzip.compress(b"x", mtime=0)[4:]
    ).decode()
    not_utf8 = base64.b64encode(zlib.compress(b"\xff\xfe")).decode()
    truncated = base64.b64encode(zlib.compress(b"hello world")[:-3]).decode()
    items = ["x0x0x0", "", named, not_utf8, truncated, base64.b64encode(b"plain").decode()]
    assert column_values(ws, "string", items, "zlib_decompress_from_base64_string(x)") == [""] * len(items)
    assert column_values(ws, "string", items, "gzip_decompress_from_base64_string(x)") == [""] * len(items)


DOMAIN_LABELS = st.lists(st.text(st.characters(min_codepoint=0x61, max_codepoint=0x2FFF, exclude_categories=["Cs"],
                                               exclude_characters=".\u3002\uff0e\uff61"),
                                 min_size=1, max_size=12), min_size=1, max_size=4)  # fmt: skip


@PROPERTY
@given(domains=st.lists(DOMAIN_LABELS, min_size=1, max_size=5))
def test_domains_survive_a_round_trip(ws: Workspace, domains: list[list[str]]) -> None:
    texts = [".".join(labels) for labels in domains]
    rows = values(ws, {"x": "string"}, [(t,) for t in texts],
                  "punycode_domain_from_string(punycode_domain_to_string(x))", "punycode_domain_to_string(x)",
                  "punycode_to_string(punycode_from_string(x))")  # fmt: skip
    for text, (back, encoded, whole) in zip(texts, rows, strict=True):
        assert back == text
        assert whole == text
        assert encoded.isascii()


def test_constants_fold_on_clickhouse_and_columns_are_refused_by_name() -> None:
    # a constant is computed while compiling, so ClickHouse can answer it; a column needs Python
    assert "UuJ" not in kql.compile(
        "print punycode_to_string('acadmie-franaise-npb1a')", dialect="clickhouse"
    )
    with pytest.raises(UnsupportedError) as raised:
        kql.compile(
            'datatable(x:string)["a"] | extend y = zlib_compress_to_base64_string(x)', dialect="clickhouse"
        )
    assert "zlib_compress_to_base64_string() on ClickHouse" in raised.value.message

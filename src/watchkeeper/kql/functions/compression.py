"""gzip and zlib compression of text to and from base64: ``gzip_compress_to_base64_string``,
``gzip_decompress_from_base64_string``, ``zlib_compress_to_base64_string``,
``zlib_decompress_from_base64_string``.

Neither engine compresses in SQL, so these are host functions (Python, registered with DuckDB; the
ClickHouse dialect refuses them with that reason). Kusto's documented behaviour:

* compression gives base64 text; the gzip header has no file name, no time and OS byte 255, the
  zlib stream uses a 32 KB window (the only size Kusto supports). Kusto's encoder keeps data that
  does not shrink in a stored (uncompressed) deflate block, which is what its documented outputs
  show for short text; otherwise the data is deflated;
* decompression returns the UTF-8 text, and ``""`` when the input is not base64, not a valid
  stream, or not UTF-8. For gzip Kusto checks ID1, ID2 and CM and expects FLG to be zero (no
  optional header fields).

A limit of ours: a decompressed value larger than :data:`MAX_DECOMPRESSED_BYTES` gives ``""`` as
well (a guard against compression bombs; Kusto's own string values stop at a few megabytes).
"""

from __future__ import annotations

import base64
import binascii
import struct
import zlib
from typing import Any

from sqlglot import exp

from watchkeeper.kql.functions.host import host_function
from watchkeeper.kql.functions.registry import LowerContext, scalar
from watchkeeper.kql.functions.sqlparts import or_empty
from watchkeeper.kql.plan import BCall
from watchkeeper.schema.types import KqlType

__all__ = ["MAX_DECOMPRESSED_BYTES", "gzip_compress", "gzip_decompress", "zlib_compress", "zlib_decompress"]

_S = KqlType.STRING
MAX_DECOMPRESSED_BYTES = 16 * 1024 * 1024
_GZIP_HEADER = bytes([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF])  # deflate, no flags, no mtime, OS unknown


def _deflate(data: bytes, wbits: int) -> bytes:
    """Deflated ``data`` (wbits -15: raw, 15: zlib), stored uncompressed when deflating does not shrink it."""
    packer = zlib.compressobj(1, zlib.DEFLATED, wbits)
    packed = packer.compress(data) + packer.flush()
    framing = 0 if wbits < 0 else 6  # the zlib header and Adler-32 trailer
    if len(packed) - framing < len(data):
        return packed
    storer = zlib.compressobj(0, zlib.DEFLATED, wbits)
    return storer.compress(data) + storer.flush()


def gzip_compress(text: str | None) -> str:
    """``text`` as UTF-8, gzip-compressed, as base64 (``""`` for empty text)."""
    if not text:
        return ""
    data = text.encode("utf-8")
    trailer = struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)
    return base64.b64encode(_GZIP_HEADER + _deflate(data, -15) + trailer).decode("ascii")


def zlib_compress(text: str | None) -> str:
    """``text`` as UTF-8, zlib-compressed (32 KB window), as base64 (``""`` for empty text)."""
    if not text:
        return ""
    return base64.b64encode(_deflate(text.encode("utf-8"), 15)).decode("ascii")


def _inflate(data: bytes, wbits: int) -> bytes | None:
    unpacker = zlib.decompressobj(wbits)
    try:
        out = unpacker.decompress(data, MAX_DECOMPRESSED_BYTES)
    except zlib.error:
        return None
    if unpacker.unconsumed_tail or not unpacker.eof:  # over the limit, or a truncated stream
        return None
    return out


def _text(data: bytes | None) -> str:
    if data is None:
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return ""


def _unbase64(text: str | None) -> bytes | None:
    try:
        return base64.b64decode(text or "", validate=True)
    except (binascii.Error, ValueError):
        return None


def gzip_decompress(text: str | None) -> str:
    """The UTF-8 text of base64 gzip data; ``""`` when it is not valid (see the module notes)."""
    data = _unbase64(text)
    if data is None or len(data) < 18 or data[:4] != bytes([0x1F, 0x8B, 8, 0]):
        return ""
    return _text(_inflate(data, 31))


def zlib_decompress(text: str | None) -> str:
    """The UTF-8 text of base64 zlib data; ``""`` when it is not valid."""
    data = _unbase64(text)
    if data is None or not data:
        return ""
    return _text(_inflate(data, 15))


def _register(name: str, host: str, call: Any) -> None:
    host_function(host, [_S], _S, handles_nulls=True)(call)

    def lower(ctx: LowerContext, bcall: BCall, args: list[exp.Expression]) -> exp.Expression:
        return or_empty(ctx.dialect.call(host, args[0]))

    scalar(name, args=1, returns=_S, params=[_S], fold=call)(lower)


for _name, _call in (
    ("gzip_compress_to_base64_string", gzip_compress),
    ("gzip_decompress_from_base64_string", gzip_decompress),
    ("zlib_compress_to_base64_string", zlib_compress),
    ("zlib_decompress_from_base64_string", zlib_decompress),
):
    _register(_name, "wk_" + _name, _call)

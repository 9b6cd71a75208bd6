"""XML text to Kusto's ``dynamic`` shape, in Python: the engines have no XML parser.

Kusto's rules (parse_xml): an element becomes ``{"name": value}``; an empty element is null, an
element with only text is that text, otherwise an object of ``@attribute`` values, ``#text`` and
child elements, where repeated children make an array. Only elements, attributes and text count
(comments, processing instructions and the declaration are skipped); names are kept as written,
prefixes and ``xmlns`` attributes included. Input over 1 MB, or not well-formed, gives null.
"""

from __future__ import annotations

import json
from typing import Any
from xml.parsers import expat

__all__ = ["MAX_XML_BYTES", "parse_xml_value", "xml_to_json"]

MAX_XML_BYTES = 1_048_576


class _Element:
    __slots__ = ("attributes", "children", "name", "texts")

    def __init__(self, name: str, attributes: dict[str, str]) -> None:
        self.name = name
        self.attributes = attributes
        self.children: list[_Element] = []
        self.texts: list[str] = []

    def value(self) -> Any:
        text = "".join(self.texts).strip()
        if not self.attributes and not self.children:
            return text or None
        out: dict[str, Any] = {f"@{k}": v for k, v in self.attributes.items()}
        if text:
            out["#text"] = text
        grouped: dict[str, list[Any]] = {}
        for child in self.children:  # a repeated child name makes an array, in document order
            grouped.setdefault(child.name, []).append(child.value())
        for name, values in grouped.items():
            out[name] = values[0] if len(values) == 1 else values
        return out


def parse_xml_value(text: str) -> Any:
    """The dynamic value of an XML document (None when it is not well-formed or too long)."""
    if len(text.encode("utf-8")) > MAX_XML_BYTES:
        return None
    root = _Element("", {})
    stack = [root]
    parser = expat.ParserCreate()  # no namespace processing: names stay as written

    def start(name: str, attributes: dict[str, str]) -> None:
        element = _Element(name, attributes)
        stack[-1].children.append(element)
        stack.append(element)

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda name: stack.pop()
    parser.CharacterDataHandler = lambda data: stack[-1].texts.append(data)
    try:
        parser.Parse(text, True)
    except expat.ExpatError:
        return None
    try:
        return {child.name: child.value() for child in root.children}
    except RecursionError:  # absurdly deep nesting
        return None


def xml_to_json(text: str | None) -> str | None:
    """:func:`parse_xml_value` as JSON text, for a SQL engine's user-defined function."""
    if text is None:
        return None
    value = parse_xml_value(text)
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))

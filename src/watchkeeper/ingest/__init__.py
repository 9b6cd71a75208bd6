"""Ingestion: receivers take data in, parsers turn each log format into rows of Sentinel-shaped
tables, and what cannot be read is kept with its reason (``IngestionErrors``), never dropped.

Parsers plug in through the ``watchkeeper.parsers`` entry point group
(:mod:`watchkeeper.ingest.parsers`)."""

from watchkeeper.ingest.parsers.base import Parsed, Parser, Rejected
from watchkeeper.ingest.parsers.registry import detect_parser, parser_named, registered_parsers

__all__ = ["Parsed", "Parser", "Rejected", "detect_parser", "parser_named", "registered_parsers"]

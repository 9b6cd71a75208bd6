"""One module per log format; each registers a :class:`~watchkeeper.ingest.parsers.base.Parser`
under the ``watchkeeper.parsers`` entry point group and documents the tables it fills."""

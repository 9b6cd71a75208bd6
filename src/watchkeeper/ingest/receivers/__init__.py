"""Receivers: the wire protocols shippers send logs with (HTTP Data Collector API, Logs Ingestion
API, syslog), turned into :class:`~watchkeeper.ingest.Parsed` batches."""

"""Deterministic synthetic Sentinel data for the KQL-vs-SQL benchmark.

Shape (the header of ``../shared/kql/perf_queries.yaml``): 30 days ending 2026-01-01T00:00:00Z;
``SecurityEvent`` with 23 populated columns (logons, process creation, Kerberos, account
management, audit-log clears), ~2k computers, ~20k Zipf-skewed accounts, injected attacks; and
``SigninLogs`` with 19 populated columns and a tenth as many rows.

Modules: :mod:`vocabulary` (names, hosts, addresses, processes, command lines), :mod:`attacks`
(the injected scenarios), :mod:`security_events` and :mod:`signin_logs` (one Arrow table per day),
:mod:`dataset` (writes them through the real event store and caches the database).
"""

GENERATOR_VERSION = 1

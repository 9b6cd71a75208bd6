"""The syslog listeners with real senders: util-linux ``logger`` over UDP and TCP (both framings),
Python's ssl client over TLS, syslog-ng forwarding (when installed), the WRCCDC 2018 recording
replayed over UDP; rows queried back with KQL. Also broken frames, and a flood: UDP drops are
counted and reported (stored + dropped == sent), TCP is held back instead and loses nothing."""

from __future__ import annotations

import asyncio
import gzip
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.conftest import SHARED
from watchkeeper import Workspace
from watchkeeper.api.tls import ensure_certificates
from watchkeeper.ingest.normalize.syslog import SEVERITIES, local_zone
from watchkeeper.ingest.parsers.base import Parsed
from watchkeeper.ingest.receivers.syslog import SyslogReceiver, tls_context

T = TypeVar("T")
HOST = socket.gethostname()  # what logger puts in HOSTNAME
RECORDING = SHARED / "datasets" / "network" / "zeek-wrccdc2018" / "zeek-json" / "syslog.json.gz"

pytestmark = pytest.mark.skipif(shutil.which("logger") is None, reason="util-linux logger is not installed")


class Listening:
    """A receiver on its own event loop thread, storing into an in-memory workspace."""

    def __init__(self, tls_files: Path | None = None, *, store_delay: float = 0.0, **options: Any) -> None:
        self.workspace = Workspace.open(None)
        self.store_delay = store_delay
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.receiver = SyslogReceiver(self.deliver, collector="collector-1", flush_interval=0.05, **options)
        self.call(self.receiver.start())
        self.udp = self.call(self.receiver.listen_udp("127.0.0.1", 0))
        self.tcp = self.call(self.receiver.listen_tcp("127.0.0.1", 0))
        if tls_files is not None:
            files = ensure_certificates(tls_files)
            self.ca = files.ca_cert
            self.tls = self.call(
                self.receiver.listen_tcp("127.0.0.1", 0, tls=tls_context(files.cert, files.key))
            )

    def deliver(self, batch: Parsed, source: str) -> None:
        time.sleep(self.store_delay)  # a slow store, for the flow control tests
        self.workspace.ingest_parsed(batch, source=source, input_format="syslog")

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def close(self) -> None:
        self.call(self.receiver.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    def rows(self, kql: str, count: int, timeout: float = 10.0) -> list[tuple[Any, ...]]:
        """The query's rows once there are ``count`` of them (the receiver stores asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.workspace.query(kql).rows
            if len(rows) >= count or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)


@pytest.fixture(scope="module")
def listening(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Listening]:
    running = Listening(tmp_path_factory.mktemp("tls"))
    yield running
    running.close()


def logger(*args: str, message: str | None = None, stdin: str | None = None) -> None:
    command = ["logger", "-n", "127.0.0.1", *args] + ([message] if message is not None else [])
    subprocess.run(command, input=stdin, text=True, check=True, timeout=10)


SYSLOG_COLUMNS = ("Facility, SeverityLevel, ProcessName, ProcessID, HostName, Computer, HostIP, "
                  "CollectorHostName, SourceSystem, EventTime, TimeGenerated")  # fmt: skip


@pytest.mark.parametrize(
    ("name", "flags"),
    [
        ("udp-5424", ["--rfc5424", "-d"]),
        ("udp-3164", ["--rfc3164", "-d"]),
        ("tcp-5424", ["--rfc5424", "-T"]),
        ("tcp-5424-octets", ["--rfc5424", "-T", "--octet-count"]),
        ("tcp-3164", ["--rfc3164", "-T"]),
        ("tcp-3164-octets", ["--rfc3164", "-T", "--octet-count"]),
    ],
)
def test_logger_messages_arrive_field_by_field(listening: Listening, name: str, flags: list[str]) -> None:
    port = listening.udp if "-d" in flags else listening.tcp
    before = datetime.now(UTC).replace(microsecond=0)
    text = f"Failed password for root from 10.0.0.5 port 22 ssh2 via {name}"
    logger(*flags, "-P", str(port), "-t", "sshd", "--id=4242", "-p", "authpriv.warning", message=text)
    [row] = listening.rows(f'Syslog | where SyslogMessage == "{text}" | project {SYSLOG_COLUMNS}', 1)
    assert row[:9] == ("authpriv", "warning", "sshd", 4242, HOST, HOST, "127.0.0.1", "collector-1", "Linux")
    event_time, time_generated = row[9], row[10]
    assert before <= event_time <= time_generated <= datetime.now(UTC)
    if "--rfc3164" in flags:  # BSD timestamps: whole seconds, in the receiver's zone
        assert event_time.microsecond == 0


def test_many_messages_on_one_connection_in_both_framings(listening: Listening) -> None:
    lines = "".join(f"batch line {i}\n" for i in range(50))
    logger("--rfc5424", "-T", "--octet-count", "-P", str(listening.tcp), "-t", "batcher", stdin=lines)
    logger("--rfc3164", "-T", "-P", str(listening.tcp), "-t", "batcher", stdin=lines)
    rows = listening.rows('Syslog | where ProcessName == "batcher" | summarize count() by SyslogMessage', 50)
    assert sorted(rows) == sorted((f"batch line {i}", 2) for i in range(50))


def test_cef_and_leef_sent_with_logger_land_in_commonsecuritylog(listening: Listening) -> None:
    cef = ("CEF:0|Acme|Firewall|3.2|deny-42|Connection denied|8|src=192.0.2.10 spt=51515 dst=198.51.100.7 "
           "dpt=3389 proto=TCP act=deny suser=eve msg=RDP from outside\\=blocked cs1Label=Rule cs1=no rdp")  # fmt: skip
    logger("--rfc3164", "-T", "-P", str(listening.tcp), "-t", "fw", message=cef)
    leef = (
        "LEEF:2.0|Acme|Proxy|1.0|url-block|^|src=192.0.2.11^dst=203.0.113.5^dstPort=443^usrName=mallory^sev=6"
    )
    logger("--rfc5424", "-d", "-P", str(listening.udp), "-t", "proxy", message=leef)
    rows = listening.rows(
        "CommonSecurityLog | where DeviceVendor == 'Acme' | order by DeviceProduct asc | project DeviceProduct, "
        "DeviceEventClassID, Activity, LogSeverity, SourceIP, SourcePort, DestinationIP, DestinationPort, "
        "Protocol, DeviceAction, SourceUserName, Message, DeviceCustomString1, Computer, CollectorHostName",
        2,
    )
    assert rows == [
        ("Firewall", "deny-42", "Connection denied", "8", "192.0.2.10", 51515, "198.51.100.7", 3389, "TCP",
         "deny", "eve", "RDP from outside=blocked", "no rdp", HOST, "collector-1"),
        ("Proxy", "url-block", "", "6", "192.0.2.11", None, "203.0.113.5", 443, "", "", "mallory", "", "", HOST,
         "collector-1"),
    ]  # fmt: skip


def tls_send(listening: Listening, payload: bytes) -> None:
    context = ssl.create_default_context(cafile=str(listening.ca))
    with (
        socket.create_connection(("127.0.0.1", listening.tls), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(payload)


def test_tls_with_octet_counting_and_line_framing(listening: Listening) -> None:
    frames = [f"<86>1 2026-11-30T10:00:0{i}Z web01 sudo 9{i} - - tls message {i}".encode() for i in range(3)]
    tls_send(listening, b"".join(b"%d %s" % (len(f), f) for f in frames))
    tls_send(listening, b"<86>Nov 30 10:00:05 web02 sudo[95]: tls line\n")
    rows = listening.rows(
        'Syslog | where SyslogMessage startswith "tls " | order by SyslogMessage desc '
        "| project SyslogMessage, HostName, ProcessID, Facility, SeverityLevel, EventTime",
        4,
    )
    assert rows[:3] == [
        (
            f"tls message {i}",
            "web01",
            90 + i,
            "authpriv",
            "info",
            datetime(2026, 11, 30, 10, 0, i, tzinfo=UTC),
        )
        for i in reversed(range(3))
    ]
    year = datetime.now(local_zone()).year
    assert rows[3][:5] == ("tls line", "web02", 95, "authpriv", "info")
    assert rows[3][5] in {datetime(y, 11, 30, 10, 0, 5, tzinfo=local_zone()) for y in (year, year - 1)}


def drain(conn: socket.socket) -> None:
    """Read until the peer closes the connection (or resets it)."""
    try:
        while conn.recv(4096):
            pass
    except ConnectionResetError:
        pass


def test_plain_text_to_the_tls_port_is_refused_and_the_listener_stays_up(listening: Listening) -> None:
    with socket.create_connection(("127.0.0.1", listening.tls), timeout=5) as raw:
        raw.sendall(b"<13>Nov 30 10:00:00 h app: not encrypted\n")
        raw.settimeout(5)
        drain(raw)  # the listener ends the connection (a TimeoutError here would say it did not)
    tls_send(listening, b"<13>Nov 30 10:00:00 h app: after the plain text\n")
    assert listening.rows('Syslog | where SyslogMessage == "after the plain text" | project HostName', 1) == [
        ("h",)
    ]
    assert listening.workspace.query('Syslog | where SyslogMessage has "not encrypted" | count').rows == [
        (0,)
    ]


def send_tcp(port: int, payload: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(payload)


def test_broken_frames_and_bad_messages_are_rejected_with_reasons(listening: Listening) -> None:
    long_line = b"<13>Nov 30 10:00:00 h app: " + b"x" * (70 * 1024)
    send_tcp(
        listening.tcp, b"<999>bad priority\n" + long_line + b"\n<13>Nov 30 10:00:00 h app: caf\xe9 after\n"
    )
    send_tcp(listening.tcp, b"12x <13>Nov 30 h app: bad length")
    send_tcp(listening.tcp, b"100 <13>Nov 30 10:00:00 h app: cut short")
    reasons = listening.rows(
        "IngestionErrors | where Source startswith 'tcp://' | project Reason, RawRecord", 4
    )
    assert sorted(reason for reason, _ in reasons) == [
        "PRI <999> is not a priority (0-191, no leading zeros)",
        "connection closed after 36 of the frame's 100 bytes",
        "message longer than 65536 bytes",
        "octet counting: frame length b'12x' is not a length up to 65536; connection closed",
    ]
    assert ("PRI <999> is not a priority (0-191, no leading zeros)", "<999>bad priority") in reasons
    kept = listening.rows('Syslog | where SyslogMessage endswith " after" | project SyslogMessage', 1)
    assert kept == [("caf\ufffd after",)]  # invalid UTF-8: replaced and kept


def test_the_wrccdc_recording_replayed_over_udp_arrives_whole(listening: Listening) -> None:
    if not RECORDING.is_file():
        pytest.skip(f"the WRCCDC syslog recording is not at {RECORDING}")
    with gzip.open(RECORDING, "rt", encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for i, record in enumerate(records):  # facility LOCAL0 (16) and the recorded severity, as sent
            pri = 16 * 8 + SEVERITIES.index(record["severity"].lower())
            sender.sendto(f"<{pri}>{record['message']}".encode(), ("127.0.0.1", listening.udp))
            if i % 20 == 19:  # paced: a default-sized socket buffer (net.core.rmem_max) holds a burst of 20
                time.sleep(0.001)
    rows = listening.rows('Syslog | where ProcessName == "EvntSLog" | project HostName', len(records))
    assert Counter(host for (host,) in rows) == Counter(record["message"].split(" ")[2] for record in records)
    assert listening.receiver.counts.drops == 0


@pytest.fixture(scope="module")
def slow_store() -> Iterator[Listening]:
    """A receiver whose store takes 20 ms per batch of at most 100 messages, with a 200-message queue."""
    running = Listening(store_delay=0.02, queue_size=200, batch_messages=100)
    yield running
    running.close()


def test_a_udp_flood_is_counted_stored_plus_dropped_equals_sent(slow_store: Listening) -> None:
    sent = 20_000
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for i in range(sent):
            sender.sendto(b"<13>Nov 30 10:00:00 flood app: flood %d" % i, ("127.0.0.1", slow_store.udp))
        time.sleep(0.5)
        # the kernel reports its drops with the next datagram read; this one also shows the listener is up
        sender.sendto(b"<13>Nov 30 10:00:00 flood app: still up", ("127.0.0.1", slow_store.udp))
    assert slow_store.rows(
        'Syslog | where SyslogMessage == "still up" | project HostName', 1, timeout=20
    ) == [("flood",)]
    stored = slow_store.workspace.query('Syslog | where SyslogMessage startswith "flood " | count').rows[0][0]
    counts = slow_store.receiver.counts
    assert counts.drops > 0
    assert stored + counts.drops == sent
    reports = slow_store.rows("IngestionErrors | where Source == 'udp' | project Reason", 1)
    assert sum(int(reason.split(" ", 1)[0]) for (reason,) in reports) == counts.drops


def test_a_tcp_flood_is_held_back_not_dropped(slow_store: Listening) -> None:
    dropped_before = slow_store.receiver.counts.drops
    sent = 3_000
    send_tcp(slow_store.tcp, b"".join(b"<13>Nov 30 10:00:00 h app: held %d\n" % i for i in range(sent)))
    rows = slow_store.rows(
        'Syslog | where SyslogMessage startswith "held " | project SyslogMessage', sent, 30
    )
    assert sorted(rows) == sorted((f"held {i}",) for i in range(sent))
    assert slow_store.receiver.counts.drops == dropped_before


SYSLOG_NG_CONFIG = """\
@version: {version}
options {{ keep-hostname(no); use-dns(no); {stats}; }};
source s_local {{ file("{input}" flags(no-parse) follow-freq(0.1)); }};
destination d_octets {{ syslog("127.0.0.1" port({port}) transport("tcp")); }};
log {{ source(s_local); destination(d_octets); }};
"""


def test_syslog_ng_forwards_a_local_source_to_the_tcp_listener(listening: Listening, tmp_path: Path) -> None:
    binary = shutil.which("syslog-ng")
    if binary is None:
        pytest.skip("syslog-ng is not installed (.ci/run installs syslog-ng-core)")
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    short = next(line.split()[-1] for line in version.splitlines() if line.startswith("Config version"))
    source = tmp_path / "input.log"
    source.write_text("".join(f"forwarded by syslog-ng {i}\n" for i in range(5)))
    config = tmp_path / "syslog-ng.conf"
    # syslog-ng 4 spells the statistics interval stats(freq()); 3.x (Debian 12 ships 3.38) stats_freq()
    stats = "stats(freq(0))" if int(short.split(".")[0]) >= 4 else "stats_freq(0)"
    config.write_text(SYSLOG_NG_CONFIG.format(version=short, input=source, port=listening.tcp, stats=stats))
    command = [binary, "-F", "-f", str(config), "-R", str(tmp_path / "persist"), "-p", str(tmp_path / "pid"),
               "-c", str(tmp_path / "ctl")]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        rows = listening.rows(
            'Syslog | where SyslogMessage startswith "forwarded by syslog-ng" | project SyslogMessage, HostIP',
            5,
        )
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode(errors="replace")
    assert sorted(rows) == [(f"forwarded by syslog-ng {i}", "127.0.0.1") for i in range(5)], output

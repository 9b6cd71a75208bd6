"""Syslog listeners: UDP (RFC 5426), TCP (RFC 6587) and TLS (RFC 5425), on one asyncio loop.

Framing (log-ingestion spec D): a UDP datagram is one message; on TCP and TLS each connection's
first byte decides its framing, octet counting (``LEN SP MSG``) when it is a digit, otherwise one
message per LF-terminated line (a last line without LF, at close, is a message too). Messages are
decoded as UTF-8 with invalid bytes replaced (U+FFFD) and kept: RFC 3164 devices send other
charsets, and the event is worth more than the bytes.

Each message is stamped with the sender's address and the receipt time, queued, and parsed by
:func:`watchkeeper.ingest.parsers.syslog.read_message` into batches handed to ``deliver(batch,
source)`` (the caller stores them: ``flows.ingest_batch`` into the listener's workspace) every
``batch_messages`` messages or ``flush_interval`` seconds, whichever comes first, on one delivery
thread (so the loop keeps receiving while a batch is stored).

Flow control: the queue is bounded. When it is full, TCP and TLS connections stop being read
(backpressure reaches the sender through TCP's window) and UDP datagrams are dropped and counted;
so are datagrams the kernel dropped because the socket buffer was full (Linux ``SO_RXQ_OVFL``).
Drops are logged and reported as a rejection in the next batch (``IngestionErrors``) and in
:attr:`SyslogReceiver.counts`. A message longer than ``max_message`` bytes, a broken octet count and
a connection closed mid-message are rejected with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import struct
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from watchkeeper.ingest.normalize.syslog import Arrival
from watchkeeper.ingest.parsers.base import Parsed
from watchkeeper.ingest.parsers.syslog import read_message

__all__ = ["Deliver", "ReceiverCounts", "SyslogReceiver", "tls_context"]

log = logging.getLogger("watchkeeper.ingest.syslog")

Deliver = Callable[[Parsed, str], None]

# Linux's SO_RXQ_OVFL (asm-generic/socket.h): recvmsg then reports the socket's cumulative drops
_SO_RXQ_OVFL = 40 if sys.platform.startswith("linux") else None
_UDP_BUFFER = 4 * 1024 * 1024  # asked for; the kernel caps it at net.core.rmem_max
_DATAGRAMS_PER_WAKEUP = 256
_FRAME_DIGITS = 7


@dataclass(slots=True)
class ReceiverCounts:
    """What a receiver has seen since it started."""

    received: int = 0  # messages queued for parsing
    dropped: int = 0  # UDP datagrams dropped: our queue was full
    dropped_by_kernel: int = 0  # UDP datagrams the kernel dropped: the socket buffer was full
    rejected: int = 0  # messages that could not be read (parse, framing, size)
    rows: int = 0  # rows handed to deliver
    failed: int = 0  # rows and rejections in batches whose delivery raised

    @property
    def drops(self) -> int:
        return self.dropped + self.dropped_by_kernel


@dataclass(frozen=True, slots=True)
class _Message:
    data: bytes
    sender: str
    received: datetime
    where: str
    problem: str | None = None  # a framing or size problem: rejected with this reason


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context for RFC 5425 syslog over TLS with ``cert`` and ``key`` (TLS 1.2 or later)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


class SyslogReceiver:
    """Syslog listeners sharing one bounded queue and one delivery thread; call :meth:`start`
    on the loop that runs them, then ``listen_*``, and :meth:`close` to flush and stop."""

    def __init__(
        self,
        deliver: Deliver,
        *,
        batch_messages: int = 5_000,
        flush_interval: float = 0.5,
        queue_size: int = 50_000,
        max_message: int = 64 * 1024,
        collector: str | None = None,
    ) -> None:
        self._deliver, self._batch_messages, self._flush_interval = deliver, batch_messages, flush_interval
        self._queue_size, self._max_message = queue_size, max_message
        self._collector = socket.gethostname() if collector is None else collector
        self.counts = ReceiverCounts()
        self._reported_drops = 0
        self._servers: list[asyncio.Server] = []
        self._udp: list[socket.socket] = []
        self._kernel_drops: dict[int, int] = {}
        self._connections: set[asyncio.Task[None]] = set()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="syslog-deliver")
        self._closing = False

    async def start(self) -> None:
        """Start the batching task on the running loop."""
        self._queue: asyncio.Queue[_Message] = asyncio.Queue(self._queue_size)
        self._loop = asyncio.get_running_loop()
        self._batcher = asyncio.create_task(self._batches(), name="syslog-batcher")

    # ------------------------------------------------------------------ UDP

    async def listen_udp(self, host: str, port: int) -> int:
        """Listen for datagrams on ``host:port``; returns the bound port."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _UDP_BUFFER)
            if _SO_RXQ_OVFL is not None:
                sock.setsockopt(socket.SOL_SOCKET, _SO_RXQ_OVFL, 1)
            sock.bind((host, port))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self._udp.append(sock)
        self._loop.add_reader(sock.fileno(), self._udp_readable, sock)
        return int(sock.getsockname()[1])

    def _udp_readable(self, sock: socket.socket) -> None:
        for _ in range(_DATAGRAMS_PER_WAKEUP):
            try:
                data, ancillary, flags, address = sock.recvmsg(self._max_message, socket.CMSG_SPACE(4))
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. ICMP errors surfacing on the socket: keep listening
                log.warning("syslog UDP receive error: %s", exc)
                return
            self._count_kernel_drops(sock, ancillary)
            problem = f"datagram longer than {self._max_message} bytes" if flags & socket.MSG_TRUNC else None
            message = _Message(
                data, address[0], datetime.now(UTC), f"udp://{address[0]}:{address[1]}", problem
            )
            try:
                self._queue.put_nowait(message)
            except asyncio.QueueFull:
                self.counts.dropped += 1
            else:
                self.counts.received += 1

    def _count_kernel_drops(self, sock: socket.socket, ancillary: list[tuple[int, int, bytes]]) -> None:
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == _SO_RXQ_OVFL and len(data) >= 4:
                total = struct.unpack("I", data[:4])[0]
                previous = self._kernel_drops.get(sock.fileno(), 0)
                self.counts.dropped_by_kernel += (total - previous) % 2**32
                self._kernel_drops[sock.fileno()] = total

    # ------------------------------------------------------------------ TCP and TLS

    async def listen_tcp(self, host: str, port: int, *, tls: ssl.SSLContext | None = None) -> int:
        """Listen for TCP (or, with ``tls``, TLS) connections on ``host:port``; returns the bound port."""
        server = await asyncio.start_server(
            self._connection, host, port, ssl=tls, limit=self._max_message + _FRAME_DIGITS + 1
        )
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peer = writer.get_extra_info("peername") or ("?", 0)
        scheme = "tls" if writer.get_extra_info("sslcontext") else "tcp"
        where = f"{scheme}://{peer[0]}:{peer[1]}"
        try:
            first = await reader.read(1)
            if first.isdigit():
                await self._octet_counted(reader, first, peer[0], where)
            elif first:
                await self._lines(reader, first, peer[0], where)
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            log.info("syslog connection %s ended: %s", where, exc)
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError, OSError):
                await writer.wait_closed()

    async def _put(self, data: bytes, sender: str, where: str, problem: str | None = None) -> None:
        await self._queue.put(
            _Message(data, sender, datetime.now(UTC), where, problem)
        )  # waits: backpressure
        self.counts.received += 1

    async def _octet_counted(
        self, reader: asyncio.StreamReader, first: bytes, sender: str, where: str
    ) -> None:
        """RFC 6587 3.4.1: ``LEN SP MSG`` frames until the connection closes."""
        prefix = first
        while True:
            try:
                length = (prefix + await reader.readuntil(b" ")).strip(b"\r\n")[:-1]
            except asyncio.IncompleteReadError as exc:
                if (prefix + exc.partial).strip():
                    await self._put(
                        prefix + exc.partial, sender, where, "connection closed inside a frame length"
                    )
                return
            except asyncio.LimitOverrunError:
                await self._put(prefix, sender, where, "octet counting: no frame length (LEN SP) found")
                return
            prefix = b""
            if not length.isdigit() or len(length) > _FRAME_DIGITS or int(length) > self._max_message:
                reason = (
                    f"octet counting: frame length {length[:20]!r} is not a length up to {self._max_message}"
                )
                await self._put(length[:80], sender, where, reason + "; connection closed")
                return
            try:
                await self._put(await reader.readexactly(int(length)), sender, where)
            except asyncio.IncompleteReadError as exc:
                reason = f"connection closed after {len(exc.partial)} of the frame's {int(length)} bytes"
                await self._put(exc.partial, sender, where, reason)
                return

    async def _lines(self, reader: asyncio.StreamReader, first: bytes, sender: str, where: str) -> None:
        """RFC 6587 3.4.2: LF-terminated messages (non-transparent framing)."""
        prefix = first
        while True:
            try:
                line = prefix + await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError as exc:
                if (prefix + exc.partial).strip():
                    await self._put(prefix + exc.partial, sender, where)  # the last message, without its LF
                return
            except asyncio.LimitOverrunError as exc:
                head = prefix + await reader.readexactly(exc.consumed)
                await self._skip_line(reader)
                await self._put(head, sender, where, f"message longer than {self._max_message} bytes")
                line = b""
            prefix = b""
            if line.strip():
                await self._put(line, sender, where)

    @staticmethod
    async def _skip_line(reader: asyncio.StreamReader) -> None:
        while True:
            try:
                await reader.readuntil(b"\n")
                return
            except asyncio.LimitOverrunError as exc:
                await reader.readexactly(exc.consumed)
            except asyncio.IncompleteReadError:
                return

    # ------------------------------------------------------------------ batching and delivery

    async def _batches(self) -> None:
        while True:
            try:
                first = await asyncio.wait_for(self._queue.get(), timeout=self._flush_interval)
            except TimeoutError:
                if self._closing:
                    await self._flush([])
                    return
                if self.counts.drops > self._reported_drops:
                    await self._flush([])
                continue
            await self._flush(await self._gather(first))

    async def _gather(self, first: _Message) -> list[_Message]:
        """Messages for one batch: up to ``batch_messages``, waiting at most ``flush_interval``."""
        messages, deadline = [first], self._loop.time() + self._flush_interval
        while len(messages) < self._batch_messages:
            try:
                messages.append(self._queue.get_nowait())
                continue
            except asyncio.QueueEmpty:
                pass
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                break
            try:
                messages.append(await asyncio.wait_for(self._queue.get(), timeout=remaining))
            except TimeoutError:
                break
        return messages

    async def _flush(self, messages: list[_Message]) -> None:
        drops = self.counts.drops - self._reported_drops
        self._reported_drops += drops
        if messages or drops:
            await self._loop.run_in_executor(self._executor, self._parse_and_deliver, messages, drops)

    def _parse_and_deliver(self, messages: list[_Message], drops: int) -> None:
        batch = Parsed()
        for message in messages:
            text = message.data.decode("utf-8", errors="replace").rstrip("\r\n\x00")
            if message.problem is not None:
                batch.reject(message.where, text, message.problem)
                continue
            read_message(
                batch, text, message.where, Arrival(message.sender, message.received, self._collector)
            )
        if drops:
            reason = f"{drops} UDP datagrams dropped: the receive queue ({self._queue_size}) or socket buffer was full"
            log.warning("syslog: %s", reason, extra={"dropped": drops})
            batch.reject("udp", "", reason)
        self.counts.rows += batch.rows
        self.counts.rejected += len(batch.rejected) - (1 if drops else 0)
        try:
            self._deliver(batch, _source(messages))
        except Exception:  # the listener must outlive a store that fails; the loss is logged and counted
            self.counts.failed += batch.rows + len(batch.rejected)
            log.exception("syslog: a batch of %d rows could not be stored", batch.rows)

    async def close(self) -> None:
        """Stop listening, deliver what is queued, and stop the delivery thread."""
        for sock in self._udp:
            self._loop.remove_reader(sock.fileno())
            sock.close()
        for server in self._servers:
            server.close()
        for task in list(self._connections):
            task.cancel()
        for server in self._servers:
            await server.wait_closed()
        self._closing = True
        await self._batcher
        self._executor.shutdown(wait=True)


def _source(messages: list[_Message]) -> str:
    """The senders of a batch, for the rows the store refuses (at most five named)."""
    senders = sorted({m.where.split("://", 1)[0] + "://" + m.sender for m in messages})
    return "syslog " + ", ".join(senders[:5]) + (f" and {len(senders) - 5} more" if len(senders) > 5 else "")

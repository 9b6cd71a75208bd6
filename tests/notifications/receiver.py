"""A webhook receiver for the tests: a real HTTP server on 127.0.0.1 that answers Graph's validation
handshake and records the change notifications it is sent. Its answers can be scripted: a list of
statuses for the next deliveries (then 202), a handshake that answers the wrong token, a delay."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = ["Receiver", "running_receiver"]


@dataclass
class Receiver:
    """What the receiver got, and how it answers next."""

    url: str = ""
    path: str = ""  # its own path: a subscription of an earlier receiver on a reused port is not its
    validations: list[str] = field(default_factory=list)  # the tokens it was sent
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # bodies of the delivery POSTs
    statuses: list[int] = field(default_factory=list)  # answers for the next deliveries (then 202)
    posts: int = 0  # delivery requests received, answered with any status
    wrong_token: bool = False
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def notifications(self) -> list[dict[str, Any]]:
        with self.lock:
            return [n for body in self.deliveries for n in body["value"]]

    def wait_for(self, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
        """The notifications once at least ``count`` have arrived (fails after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while len(self.notifications()) < count:
            assert time.monotonic() < deadline, (
                f"{len(self.notifications())} of {count} notifications arrived"
            )
            time.sleep(0.05)
        return self.notifications()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if urlsplit(self.path).path != receiver.path:  # for an earlier receiver on this port
                return self._answer(404, b"", "text/plain")
            token = parse_qs(urlsplit(self.path).query).get("validationToken")
            time.sleep(receiver.delay)
            if token is not None:
                receiver.validations.append(token[0])
                answer = "not the token" if receiver.wrong_token else token[0]
                return self._answer(200, answer.encode(), "text/plain; charset=utf-8")
            with receiver.lock:
                receiver.posts += 1
                status = receiver.statuses.pop(0) if receiver.statuses else 202
                if 200 <= status < 300:
                    receiver.deliveries.append(json.loads(body))
            return self._answer(status, b"", "text/plain")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender gave up waiting (a timeout test): nobody reads the answer

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """A receiver listening on a free port of 127.0.0.1 for the block's duration."""
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.path = f"/hooks/{uuid.uuid4().hex}"
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}{receiver.path}?source=wk"
    thread = threading.Thread(target=server.serve_forever, name="receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()

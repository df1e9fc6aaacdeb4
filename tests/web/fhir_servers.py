"""Small FHIR servers on loopback ports for the CDS fetch tests: each records every request it
gets and answers as the test tells it (a Bundle, a redirect, a huge body, or only once
released), so a test can show what Backstory did and did not ask for."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


@dataclass
class FakeFhir:
    """What the server answers; ``url`` is its base (``http://127.0.0.1:PORT/fhir``)."""

    url: str = ""
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False
    hold: bool = False
    """Answer only once :attr:`release` is set (:attr:`got` is set when a request arrives)."""
    seen: list[Seen] = field(default_factory=list)
    got: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def answer_json(self, data: Any) -> None:
        self.body = json.dumps(data).encode()
        self.headers = {"Content-Type": "application/fhir+json"}


def _handler(fake: FakeFhir) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            fake.seen.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
            fake.got.set()
            if fake.hold:
                fake.release.wait(120)
            self.send_response(fake.status)
            for k, v in fake.headers.items():
                self.send_header(k, v)
            if fake.chunked:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                step = 64 * 1024
                try:
                    for i in range(0, len(fake.body), step):
                        part = fake.body[i : i + step]
                        self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    pass  # the client gave up reading: that is what the test wants
                return
            self.send_header("Content-Length", str(len(fake.body)))
            self.end_headers()
            with suppress(OSError):
                self.wfile.write(fake.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def fake_fhir(path: str = "/fhir") -> Iterator[FakeFhir]:
    """A recording FHIR server on a free loopback port."""
    fake = FakeFhir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.release.set()
        server.shutdown()
        server.server_close()
        thread.join(10)

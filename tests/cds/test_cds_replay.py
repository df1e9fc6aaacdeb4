"""The replay tool sends every synthetic case to a real HTTP service and prints the cards."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from click.testing import CliRunner

from backstory.cds import CdsError, handle_hook
from backstory.cds.replay import calls
from backstory.cli.main import cli


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        service = self.path.rsplit("/", 1)[-1]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        try:
            status, out = 200, handle_hook(service, body).to_dict()
        except CdsError as exc:
            status, out = exc.status, {"error": exc.message}
        data = json.dumps(out).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_every_case_makes_both_calls() -> None:
    made = list(calls())
    assert len(made) == 2 * len({c.case for c in made}) >= 8


def test_replay_prints_cards(server: str) -> None:
    result = CliRunner().invoke(cli, ["cds", "replay", server])
    assert result.exit_code == 0, result.output
    assert "[critical]" in result.stdout and "Cancel the lumbar imaging order" in result.stdout


def test_replay_json_lines(server: str) -> None:
    result = CliRunner().invoke(cli, ["cds", "replay", server, "--hook", "patient-view", "--json"])
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert lines and all(x["status"] == 200 for x in lines)


def test_discovery_command() -> None:
    result = CliRunner().invoke(cli, ["cds", "discovery"])
    assert json.loads(result.stdout)["services"]

"""The replay tool sends every synthetic case to a real HTTP service and prints the cards."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from backstory.cds import CdsError, handle_hook
from backstory.cds.replay import calls
from backstory.cds.trust import Refused, ReplayCache, trusted_clients, verify
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


def test_replay_signs_a_jwt_the_service_accepts_for_every_call(tmp_path: Path) -> None:
    # an EHR's key pair; the service trusts its public half, as a trusted-clients file says
    private = ec.generate_private_key(ec.SECP384R1())
    jwk = {**ECAlgorithm.to_jwk(private.public_key(), as_dict=True), "kid": "k1", "use": "sig"}
    clients = trusted_clients(
        {
            "clients": [
                {
                    "name": "ehr",
                    "iss": "https://ehr.example.org/",
                    "clinic": "A",
                    "jwks": {"keys": [jwk]},
                }
            ]
        }
    )
    replay = ReplayCache()
    seen: list[str] = []

    class Verifying(_Handler):
        def do_POST(self) -> None:
            token = self.headers.get("Authorization", "").removeprefix("Bearer ")
            audience = f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"
            try:
                ok = verify(token, clients, audience, time.time(), replay)
            except Refused as exc:
                self.send_response(401)
                self.send_header("Content-Length", str(len(exc.reason)))
                self.end_headers()
                self.wfile.write(exc.reason.encode())
                return
            seen.append(ok.jti)
            super().do_POST()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Verifying)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    key_file = tmp_path / "ehr.pem"
    key_file.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    url = f"http://127.0.0.1:{httpd.server_address[1]}"
    try:
        args = ["cds", "replay", url, "--key", str(key_file), "--iss", "https://ehr.example.org/"]
        result = CliRunner().invoke(cli, [*args, "--kid", "k1"])
        assert result.exit_code == 0, result.output
        assert len(seen) == len(list(calls())) == len(set(seen))  # a fresh jti every call
        wrong = CliRunner().invoke(cli, [*args, "--kid", "nope"])
        assert wrong.exit_code == 1 and "kid" in wrong.output
        missing = CliRunner().invoke(cli, ["cds", "replay", url, "--key", str(key_file)])
        assert missing.exit_code == 2 and "--iss" in missing.output
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)

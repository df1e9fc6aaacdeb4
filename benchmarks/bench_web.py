"""Load test of the web app: saving an assessment against the trivial endpoint, side by side,
with one Backstory process and with two on the same database.

Run: `.venv/bin/python benchmarks/bench_web.py [--database URL] [--requests 3000]
[--seconds 10] [--concurrency 10,50] [--processes 1,2]`. Without ``--database`` it uses a
new SQLite file in a temporary folder; with ``--database postgresql+psycopg://...``
(``bash scripts/pg.sh up`` prints one) it works in a new schema of that database and drops
it afterwards.

It makes a clinic, a user, a read-write API token and some patients. For each process count
it starts that many ``backstory serve`` processes on free loopback ports, all on the one
database (as workers behind a load balancer would be), and drives the JSON API from this
process with ``httpx.AsyncClient``, the clients shared out between the processes in turn: at
each concurrency it runs ``GET /api/v1/ping`` (a constant answer through the same
middleware) and ``POST /api/v1/patients/{id}/assessments`` (validate, reason, store and
audit the facet-pattern example), one after the other in the same run, each bounded by a
request count and a duration. It prints requests per second, median (p50) and
99th-percentile (p99) latency, the ratio of the two throughputs, the issue's targets for one
process - saving at no less than a tenth of the trivial endpoint's throughput, with p99
under 250 ms at 10 concurrent clients - and, side by side, each endpoint's throughput with
two processes over one (the scale-out ratio).

Traffic goes to 127.0.0.1 only. The client shares the machine's cores with the servers, so
the figures are lower bounds, and a second process can only help as far as there are idle
cores (and, on SQLite, never for writes: one writer at a time); the ratios, measured in one
run, are the stable numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from backstory.storage import Database, Store
from backstory.storage import accounts as acc
from backstory.web.security import hash_password, token_digest

ROOT = Path(__file__).resolve().parents[1]
BODY = (ROOT / "examples" / "facet-pattern.json").read_text()
TARGET_RATIO = 0.10
TARGET_P99_MS = 250.0


@dataclass(frozen=True)
class Result:
    name: str
    processes: int
    concurrency: int
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


@contextmanager
def fresh_database(url: str | None) -> Iterator[str]:
    """A URL to an empty database: a new SQLite file, or a new PostgreSQL schema."""
    if url is None or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="bench-web-") as folder:
            yield url or f"sqlite:///{Path(folder) / 'bench.db'}"
        return
    schema = "bench_" + secrets.token_hex(6)
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield (
            make_url(url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def populate(url: str, patients: int) -> tuple[str, list[str]]:
    """A clinic with its admin, a read-write API token and ``patients`` patients."""
    db = Database(url)
    db.ensure_schema()
    now = dt.datetime.now(dt.UTC)
    later = now + dt.timedelta(hours=1)
    setup = token_digest(secrets.token_urlsafe(16))
    db.transaction(lambda conn: acc.new_setup_link(conn, setup, now, later))
    user = db.transaction(
        lambda conn: acc.complete_setup(
            conn, setup, "bench", hash_password(secrets.token_urlsafe(16)), "Bench clinic", now
        )
    )
    token = "bst_bench_" + secrets.token_urlsafe(24)
    db.transaction(
        lambda conn: acc.create_token(conn, user, "bench", "write", token_digest(token), now)
    )
    store = Store(db, "bench")
    ids = [store.add_patient(f"bench-{i:03d}").id for i in range(patients)]
    db.close()
    return token, ids


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def servers(url: str, count: int) -> Iterator[list[str]]:
    """``count`` ``backstory serve`` processes on free loopback ports, all on one database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKSTORY_")}
    # every process must sign and check links, forms and throttle digests with one secret
    env["BACKSTORY_SECRET_KEY"] = secrets.token_urlsafe(48)
    script = Path(sys.executable).with_name("backstory")
    command = (
        [str(script)]
        if script.exists()
        else [
            sys.executable,
            "-c",
            "from backstory.cli.main import main; main()",
        ]
    )
    procs: list[subprocess.Popen[bytes]] = []
    bases: list[str] = []
    with contextlib.ExitStack() as stack:
        try:
            for _ in range(count):
                port = free_port()
                log = stack.enter_context(tempfile.TemporaryFile())
                proc = subprocess.Popen(
                    [*command, "serve", "--port", str(port), "--database", url],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
                procs.append(proc)
                base = f"http://127.0.0.1:{port}"
                wait_until_up(proc, base, log)
                bases.append(base)
            yield bases
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)


def wait_until_up(proc: subprocess.Popen[bytes], base: str, log: IO[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            raise SystemExit("backstory serve did not start:\n" + log.read().decode())
        time.sleep(0.05)


async def drive(
    bases: list[str],
    token: str,
    name: str,
    concurrency: int,
    total: int,
    seconds: float,
    patients: list[str],
) -> Result:
    """``concurrency`` clients, shared out between the ``bases`` in turn, share ``total``
    requests, stopping early after ``seconds``."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    latencies: list[float] = []
    errors = 0
    issued = 0
    per = -(-concurrency // len(bases))
    limits = httpx.Limits(max_connections=per, max_keepalive_connections=per)
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=b, headers=headers, limits=limits, timeout=30)
            )
            for b in bases
        ]

        async def one(c: httpx.AsyncClient, i: int) -> None:
            nonlocal errors
            start = time.perf_counter()
            if name == "ping":
                r = await c.get("/api/v1/ping")
                ok = r.status_code == 200
            else:
                path = f"/api/v1/patients/{patients[i % len(patients)]}/assessments"
                r = await c.post(path, content=BODY)
                ok = r.status_code == 201
            latencies.append((time.perf_counter() - start) * 1000)
            errors += not ok

        for i in range(min(concurrency * 2, 40)):  # warm the connections and the servers
            await one(clients[i % len(clients)], i)
        latencies.clear()
        errors = 0
        stop = time.perf_counter() + seconds

        async def client(c: httpx.AsyncClient) -> None:
            nonlocal issued
            while issued < total and time.perf_counter() < stop:
                issued += 1
                await one(c, issued)

        began = time.perf_counter()
        await asyncio.gather(*(client(clients[k % len(clients)]) for k in range(concurrency)))
        elapsed = time.perf_counter() - began
    return Result(name, len(bases), concurrency, len(latencies), errors, elapsed, latencies)


def report(results: list[Result], backend: str) -> bool:
    print(f"\nbackend: {backend}")
    print(
        f"{'endpoint':<18}{'procs':>6}{'clients':>8}{'requests':>10}{'errors':>8}{'req/s':>10}"
        f"{'p50 ms':>9}{'p99 ms':>9}"
    )
    for r in results:
        print(
            f"{r.name:<18}{r.processes:>6}{r.concurrency:>8}{r.requests:>10}{r.errors:>8}"
            f"{r.rps:>10.0f}{r.percentile(50):>9.1f}{r.percentile(99):>9.1f}"
        )
    ok = all(r.errors == 0 for r in results)
    by = {(r.name, r.processes, r.concurrency): r for r in results}
    counts = sorted({r.processes for r in results})
    levels = sorted({r.concurrency for r in results})
    for p in counts:
        for n in levels:
            ping, save = by[("ping", p, n)], by[("save assessment", p, n)]
            ratio = save.rps / ping.rps if ping.rps else 0.0
            line = f"{p} process(es), {n:>3} clients: save/ping throughput ratio {ratio:.3f}"
            if p != counts[0]:
                print(line)
                continue
            met = ratio >= TARGET_RATIO
            line += f" (target >= {TARGET_RATIO})"
            if n == 10:
                p99 = save.percentile(99)
                line += f"; save p99 {p99:.1f} ms (target < {TARGET_P99_MS:.0f} ms)"
                met &= p99 < TARGET_P99_MS
            ok &= met
            print(line + ("  met" if met else "  MISSED"))
    if len(counts) > 1:
        low, high = counts[0], counts[-1]
        print(f"\nscale-out: throughput with {high} processes / with {low} (same run)")
        for name in ("ping", "save assessment"):
            for n in levels:
                one, many = by[(name, low, n)], by[(name, high, n)]
                ratio = many.rps / one.rps if one.rps else 0.0
                print(f"  {name:<16}{n:>4} clients: {ratio:.2f}x")
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database", help="postgresql+psycopg://... (default: a new SQLite file)")
    ap.add_argument("--requests", type=int, default=3000, help="at most this many per run")
    ap.add_argument("--seconds", type=float, default=10.0, help="at most this long per run")
    ap.add_argument("--concurrency", default="10,50", help="comma-separated client counts")
    ap.add_argument("--patients", type=int, default=50)
    ap.add_argument(
        "--processes", default="1,2", help="comma-separated process counts (first: targets)"
    )
    args = ap.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]
    counts = [int(x) for x in args.processes.split(",")]
    with fresh_database(args.database) as url:
        token, patients = populate(url, args.patients)
        backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        results: list[Result] = []
        for count in counts:
            with servers(url, count) as bases:
                for n in levels:
                    for name in ("ping", "save assessment"):
                        results.append(
                            asyncio.run(
                                drive(bases, token, name, n, args.requests, args.seconds, patients)
                            )
                        )
        ok = report(results, backend)
    print(f"\nsummary: {'all targets met' if ok else 'a target was missed'}")
    print(
        json.dumps(
            {
                "backend": backend,
                "results": [
                    {
                        "endpoint": r.name,
                        "processes": r.processes,
                        "clients": r.concurrency,
                        "requests": r.requests,
                        "errors": r.errors,
                        "rps": round(r.rps, 1),
                        "p50_ms": round(r.percentile(50), 2),
                        "p99_ms": round(r.percentile(99), 2),
                    }
                    for r in results
                ],
            }
        )
    )
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()

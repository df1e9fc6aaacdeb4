"""A writer for the kill and concurrency tests: save assessments, report each commit.

Usage: python storage_writer.py URL PATIENT_ID ACTOR COUNT ASSESSMENT_FILE [PROCESSES]

Each writer prints "ready PID", then each assessment id once its transaction has committed,
so the parent knows exactly which saves it may rely on. COUNT 0 means until killed. With
PROCESSES > 1 the script imports Backstory once and forks that many writers (each opening its
own database connection after the fork), which keeps the test fast on small machines.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from backstory.storage import Database, Store


def say(line: str) -> None:
    """One whole line in one write, so lines from several writers never interleave."""
    os.write(1, f"{line}\n".encode())


def write(url: str, patient_id: str, actor: str, limit: int, text: str) -> None:
    with Database(url) as db:
        store = Store(db, actor)
        say(f"ready {os.getpid()}")
        done = 0
        while limit == 0 or done < limit:
            saved = store.save_assessment(patient_id, text)
            say(saved.assessment.id)
            done += 1


def main() -> None:
    url, patient_id, actor, count, source = sys.argv[1:6]
    processes = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    text = Path(source).read_text()
    Store(Database("sqlite://"), actor).reason(text)  # load the knowledge before forking
    if processes == 1:
        write(url, patient_id, actor, int(count), text)
        return
    children = []
    for _ in range(processes):
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                write(url, patient_id, actor, int(count), text)
            except BaseException as exc:
                print(f"writer failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
                code = 1
            os._exit(code)
        children.append(pid)
    failed = [pid for pid in children if os.waitpid(pid, 0)[1] != 0]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

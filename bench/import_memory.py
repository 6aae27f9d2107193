"""Peak memory of seeding a large state document, against what the seed leaves stored.

Run from the repository root with the venv's python: `python bench/import_memory.py
[--counts 200000,800000] [--store memory|sqlite]`. A child process serves the app (werkzeug's
server in a thread, on 127.0.0.1); this process sends `POST /_control/state` with one agent and
COUNT log files of the smallest form (`{"agent_id": "a"}`), then reads the child's peak and
current resident memory from /proc. "peak - before" is what the import cost at its worst;
"after - before" is roughly what the seed left stored (the allocator keeps some of the rest).

Measured on the 2-core shared VM (Python 3.11), MiB; "before" is commit a409cff (the body
parsed whole with json.loads, then loaded whole again by marshmallow), "after" parses it as a
stream with ijson, validates a thousand items at a time and keeps listed log files compact:

| store | log files | document | peak - before, before | peak - before, after | after - before |
| --- | ---: | ---: | ---: | ---: | ---: |
| memory | 200,000 | 3.6 | 104 | 69 | 60 |
| memory | 800,000 | 14.5 | 394 | 275 | 221 |
| sqlite | 200,000 | 3.6 | 94 | 69 | 31 |
| sqlite | 800,000 | 14.5 | 375 | 275 | 70 |

With the memory store the peak is now about 1.25 times what the seed leaves stored; with
SQLite it is the log files built in memory before the one transaction that writes them
(about 340 bytes each), never a multiple of the parsed document.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

CHILD = """
import sys
from werkzeug.serving import make_server
from logfiles import Settings, create_app
server = make_server("127.0.0.1", 0, create_app(Settings(store_url=sys.argv[1])), threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""


def memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (the peak) of `pid`, in MiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) / 1024
    return values


def measure(count: int, store: str) -> tuple[float, float, float]:
    """(document MiB, peak - before, after - before) for one fresh server."""
    document = json.dumps(
        {"agents": [{"id": "a", "project_id": "p"}], "logfiles": [{"agent_id": "a"}] * count}
    ).encode()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, store], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert child.stdout is not None
        port = int(child.stdout.readline())
        before = memory(child.pid)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/_control/state",
            data=document,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=600) as answer:
            assert answer.status == 200, answer.status
        after = memory(child.pid)
    finally:
        child.kill()
        child.wait(10)
    return len(document) / 2**20, after["VmHWM"] - before["VmRSS"], after["VmRSS"] - before["VmRSS"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="200000,800000", help="log files per document, comma-separated")
    parser.add_argument("--store", choices=("memory", "sqlite"), default="memory")
    args = parser.parse_args()
    print("| log files | document | peak - before | after - before |")
    print("| ---: | ---: | ---: | ---: |")
    for count in (int(text) for text in args.counts.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            store = "memory" if args.store == "memory" else f"sqlite:///{tmp}/import.db"
            size, peak, kept = measure(count, store)
        print(f"| {count:,} | {size:.1f} | {peak:.0f} | {kept:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

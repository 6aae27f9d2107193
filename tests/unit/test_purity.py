"""The pure core imports no Flask or werkzeug (STYLE: layout)."""

from __future__ import annotations

import subprocess
import sys

CORE = [
    "logfiles.model",
    "logfiles.events",
    "logfiles.patch",
    "logfiles.errors",
    "logfiles.auth",
    "logfiles.identity",
    "logfiles.objects",
    "logfiles.tempurl",
    "logfiles.store.memory_objects",
    "logfiles.store.sqlite.objects",
    "logfiles.config",
    "logfiles.clock",
    "logfiles.ids",
    "logfiles.schemas",
    "logfiles.faults",
    "logfiles.journal",
    "logfiles.waiting",
    "logfiles.seeding",
    "logfiles.strictjson",
    "logfiles.store",
    "logfiles.store.memory",
    "logfiles.store.sqlite",
    "logfiles.runtime",
]


def test_core_modules_do_not_import_flask_or_werkzeug() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {name}\n" for name in CORE)
        + "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug')))"
    )
    # Importing a submodule runs logfiles/__init__.py, which must therefore import Flask lazily.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

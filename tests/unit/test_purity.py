"""The pure core imports no Flask or werkzeug (STYLE: layout)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import logfiles

# Where Flask may be imported: the HTTP layer (api/, the dashboard's views among it). Every
# other module of the package is core, found below, so a new one is checked without a list.
FLASK_PACKAGES = ("logfiles.api",)
# Modules outside those that may import Flask when imported: none today (logfiles/__init__.py
# and testing.py import it only inside the functions that build or serve the app).
FLASK_MODULES: frozenset[str] = frozenset()


def core_modules() -> list[str]:
    """Every module and package of logfiles/ outside FLASK_PACKAGES and FLASK_MODULES."""
    found = [info.name for info in pkgutil.walk_packages(logfiles.__path__, "logfiles.")]
    return sorted(
        name
        for name in found
        if name not in FLASK_MODULES
        and not any(name == package or name.startswith(package + ".") for package in FLASK_PACKAGES)
    )


def test_core_modules_are_found_outside_the_http_layer() -> None:
    core = core_modules()
    # A few that must be there whatever else is added: the discovery is not finding nothing.
    assert {"logfiles.model", "logfiles.schemas", "logfiles.store.memory", "logfiles.faults"} <= set(core)
    assert not [name for name in core if name.startswith("logfiles.api")]


def test_core_modules_do_not_import_flask_or_werkzeug() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {name}\n" for name in core_modules())
        + "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug')))"
    )
    # Importing a submodule runs logfiles/__init__.py, which must therefore import Flask lazily.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

"""The boundaries docs/platform.md draws, checked on the source: a service never imports
another service (they meet over RPC and events), and shared code never imports a
service (it serves them all; a service is found by name at run time:
shared.containers.service_class). Read from the import statements, so a boundary crossed
anywhere — in a function, behind a condition — fails here."""

from __future__ import annotations

import ast
from pathlib import Path

from shared import config

ROOT = config.REPO_ROOT
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir()
                  if p.is_dir() and (p / "__init__.py").exists())


def imported_modules(path: Path, package: str | None = None) -> set[str]:
    """Every module a file imports (absolute names; relative ones resolved against its
    package: the file's own, unless given)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    if package is None:
        package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def crossings(files, forbidden) -> list[str]:
    return sorted(f"{path.relative_to(ROOT)} imports {module}"
                  for path in files for module in imported_modules(path)
                  if forbidden(module))


def test_a_service_never_imports_another():
    for service in SERVICES:
        files = (ROOT / "services" / service).rglob("*.py")
        others = [f"services.{s}" for s in SERVICES if s != service]
        assert crossings(files, lambda m, others=others: any(
            m == o or m.startswith(o + ".") for o in others)) == [], service


def test_shared_code_never_imports_a_service():
    files = (ROOT / "shared").rglob("*.py")
    assert crossings(files, lambda m: m == "services" or m.startswith("services.")) == []


def test_the_check_sees_a_crossing(tmp_path):
    """The reader finds imports in functions and relative ones (else the tests above
    could pass by seeing nothing)."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from services.evaluation import domain\n"
                     "from . import store\n")
    assert {"services.evaluation.domain", "services.organizations.store"} <= \
        imported_modules(probe, package="services.organizations")

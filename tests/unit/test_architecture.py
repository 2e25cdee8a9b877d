"""The boundaries README.md ("Layout") draws, checked on the source: a service never
imports another service (they meet over RPC and events); shared code never imports a
service (a service is found by name at run time: shared.platform.containers.service_class);
nothing at run time imports the tooling; and a service's domain imports no
infrastructure, neither by name (read from the import statements, so an import in a
function or behind a condition counts) nor through what it imports (imported with
nameko, kombu, eventlet and psycopg2 blocked)."""

from __future__ import annotations

import ast
from pathlib import Path

from shared.platform import config

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


# -- the domain is pure -------------------------------------------------------------------
# A service's domain modules are its modules that are not an edge: not the nameko
# entrypoints (service.py, *_service.py), not the SQL (store.py, *_store.py), not its CLI.
EDGES = ("service", "store", "cli", "__init__")
INFRASTRUCTURE = ("nameko", "kombu", "amqp", "eventlet", "psycopg2", "psycogreen",
                  "prometheus_client", "yoyo", "gunicorn", "werkzeug")
# What the domain may lean on besides the standard library and its own service's domain:
# the plain errors and events, the national codes (not the place copies, which are SQL)
# and the public contract's schemas and enumerations.
PURE_SHARED = ("shared.errors", "shared.domain", "shared.national", "shared.contracts")


def domain_modules() -> list[str]:
    found = []
    for service in SERVICES:
        if service == "gateway":  # an edge through and through
            continue
        for path in sorted((ROOT / "services" / service).glob("*.py")):
            if not path.stem.endswith(EDGES):
                found.append(f"services.{service}.{path.stem}")
    return found


def _within(module: str, packages) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_every_service_has_a_domain():
    modules = domain_modules()
    for service in SERVICES:
        if service != "gateway":
            assert f"services.{service}.domain" in modules
    assert "services.organizations.rectification" in modules


def test_the_domain_imports_no_infrastructure_nor_an_edge():
    """Static: a domain module names only the standard library, the pure shared parts and
    its own service's domain modules."""
    modules = domain_modules()
    for module in modules:
        service = module.split(".")[1]
        own_domain = [m for m in modules if m.split(".")[1] == service]
        path = ROOT / (module.replace(".", "/") + ".py")
        bad = [m for m in imported_modules(path)
               if _within(m, INFRASTRUCTURE) or _within(m, ("tools",))
               or (_within(m, ("shared",)) and m != "shared"
                   and not _within(m, PURE_SHARED))
               or (_within(m, ("services",)) and m not in ("services", f"services.{service}")
                   and not _within(m, own_domain))]
        assert bad == [], f"{module} imports {bad}"


def import_with_infrastructure_blocked(modules: list[str]):
    """Import `modules` in a fresh Python where nameko, kombu, eventlet, psycopg2 (all of
    INFRASTRUCTURE) cannot be imported at all; the finished process."""
    import subprocess
    import sys

    probe = (
        "import importlib, importlib.abc, sys\n"
        f"BLOCKED = {INFRASTRUCTURE!r}\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] in BLOCKED:\n"
        "            raise ImportError(f'infrastructure imported: {name}')\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in BLOCKED)\n"
        "assert not leaked, leaked\n"
        "print('pure', len(sys.modules))\n")
    return subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_the_domain_imports_with_infrastructure_blocked():
    """Dynamic: every domain module (and all it imports, transitively) imports with the
    infrastructure blocked."""
    modules = domain_modules() + ["shared.errors", "shared.domain.events", "shared.domain.dates",
                                  "shared.domain.shares", "shared.national.regions",
                                  "shared.national.identity_number",
                                  "shared.national.credit_code", "shared.contracts.organizations"]
    done = import_with_infrastructure_blocked(modules)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("pure")


def test_the_blocker_catches_infrastructure():
    """The same probe fails on a module that does import infrastructure (else the test
    above could pass by blocking nothing)."""
    done = import_with_infrastructure_blocked(["shared.errors", "shared.platform.db"])
    assert done.returncode != 0 and "infrastructure imported: psycopg2" in done.stderr


def test_nothing_at_run_time_imports_the_tooling():
    """tools/ (the launcher, the CLI) is outside the runtime: no service and no shared
    module imports it, so an image or a pod needs none of it to serve."""
    files = [*(ROOT / "services").rglob("*.py"), *(ROOT / "shared").rglob("*.py")]
    assert crossings(files, lambda m: m == "tools" or m.startswith("tools.")) == []


def test_the_pure_shared_parts_import_no_runtime():
    """The contract's schemas, the national codes and shared.domain are what every domain
    leans on: none of them may import the platform or infrastructure. (The AsyncAPI
    generator names the deployment's vhost, from the platform's configuration.)"""
    generators = {"asyncapi.py"}  # names the real vhost (shared.platform.config)
    files = [p for p in (ROOT / "shared" / "contracts").rglob("*.py") if p.name not in generators]
    files += [*(ROOT / "shared" / "national").glob("*.py")]
    files += [*(ROOT / "shared" / "domain").glob("*.py"), ROOT / "shared" / "errors.py"]
    assert len(files) > 15
    assert crossings(files, lambda m: _within(m, INFRASTRUCTURE) or _within(
        m, ("shared.platform", "services", "tools"))) == []


def test_mypy_checks_every_domain_whole():
    """Every domain module (and the platform) is under check_untyped_defs in pyproject.toml,
    so a new domain module cannot slip out of the strict check by its name."""
    import fnmatch
    import tomllib

    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    strict = [pattern for override in settings.get("overrides", [])
              if override.get("check_untyped_defs")
              for pattern in ([override["module"]] if isinstance(override["module"], str)
                              else override["module"])]

    def covered(module: str) -> bool:
        return any(fnmatch.fnmatchcase(module, p) or (p.endswith(".*") and module == p[:-2])
                   for p in strict)

    assert [m for m in domain_modules() if not covered(m)] == []
    assert covered("shared.platform.db") and covered("shared.domain.events")

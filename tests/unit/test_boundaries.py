"""Module boundaries from DESIGN.md, checked by walking the imports of every module."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imports_of(path: Path, module: str, is_package: bool) -> set[str]:
    """Absolute names imported by ``path``, relative imports resolved against ``module``."""
    tree = ast.parse(path.read_text())
    package = module.split(".") if is_package else module.split(".")[:-1]
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names.add(mod)
            names.update(f"{mod}.{a.name}" for a in node.names)
    return names


def modules(folder: str):
    for path in sorted((ROOT / folder).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        yield path, ".".join(parts[:-1] if is_package else parts), is_package


def _hits(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path, module, is_package in modules(folder):
        for imported in imports_of(path, module, is_package):
            if any(imported == f or imported.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(ROOT)} imports {imported}")
    return bad


def test_runner_never_imports_the_host_package():
    assert _hits("sandbox_image", ("agent", "docker", "pydantic", "sklearn", "scipy")) == []


def test_only_the_sandbox_package_imports_docker():
    offenders = [h for h in _hits("agent", ("docker",)) if not h.startswith("agent/sandbox/")]
    assert offenders == []


def test_sandbox_never_imports_planner_or_scoring():
    assert _hits("agent/sandbox", ("agent.planner", "agent.scoring", "agent.registry")) == []


def test_the_walker_sees_relative_imports(tmp_path):
    # Guards the test itself: relative imports must resolve, or every check above is vacuous.
    probe = tmp_path / "probe.py"
    probe.write_text("from ..scoring import x\nfrom . import _base\nfrom .y import z\n")
    names = imports_of(probe, "agent.sandbox._docker", is_package=False)
    assert {"agent.scoring", "agent.sandbox._base", "agent.sandbox.y"} <= names
    assert "agent.sandbox.y" in imports_of(probe, "agent.sandbox", is_package=True)


def test_planner_never_imports_sandbox_or_registry():
    assert _hits("agent/planner", ("agent.sandbox", "agent.registry", "docker")) == []


def test_only_the_trial_package_imports_the_output_validation():
    # agent/trial/_outputs.py is the host's trust boundary: the one reader of what a container wrote.
    offenders = [h for h in _hits("agent", ("agent.trial._outputs",)) if not h.startswith("agent/trial/")]
    assert offenders == []
    assert _hits("agent/trial", ("agent.trial._outputs",)), "the walker must see trial's own use of it"


def test_the_trial_package_never_imports_the_loop_the_registry_or_the_cli():
    assert _hits("agent/trial", ("agent.study", "agent.registry", "agent.cli", "agent.planner", "agent.report")) == []


def test_the_vocabulary_imports_only_the_vocabulary():
    # errors, records, specs, protocol, config, results, metrics, defaults: what every package may
    # import at no cost.
    vocabulary = ("errors", "records", "specs", "protocol", "config", "results", "metrics", "defaults")
    allowed = tuple(f"agent.{m}" for m in vocabulary)
    bad = [f"{path.relative_to(ROOT)} imports {name}"
           for m in vocabulary for path, module, is_pkg in [(ROOT / f"agent/{m}.py", f"agent.{m}", False)]
           for name in imports_of(path, module, is_pkg)
           if name.startswith("agent") and not any(name == a or name.startswith(a + ".") for a in allowed)]
    assert bad == []


def test_only_the_cli_package_imports_click():
    offenders = [h for h in _hits("agent", ("click",)) if not h.startswith("agent/cli/")]
    assert offenders == []


def test_nothing_imports_the_cli_but_the_entry_points():
    offenders = [h for h in _hits("agent", ("agent.cli",))
                 if not h.startswith(("agent/cli/", "agent/__main__.py"))]
    assert offenders == []


def test_the_registry_never_imports_the_trial_pipeline_or_the_sandbox():
    assert _hits("agent/registry", ("agent.trial", "agent.sandbox", "agent.study", "docker")) == []


def test_the_dashboard_reads_the_registry_through_its_api_only():
    # DESIGN.md: the web layer never reads the registry's SQL, and never runs trials.
    private = ("agent.registry._sqlite", "agent.registry._rows", "agent.registry._schema", "agent.registry._connect")
    forbidden = ("sqlite3", *private, "agent.sandbox", "agent.trial", "agent.study", "docker")
    assert _hits("agent/dashboard", forbidden) == []
    assert _hits("agent/dashboard", ("agent.registry",)), "the walker must see the dashboard's use of the registry"

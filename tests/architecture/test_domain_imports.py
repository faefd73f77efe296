"""The domain packages under services/ import each other one way (docs/architecture.md).

Read from the source with `ast`, so an import inside a function counts as much as one at the
top of a module: a lazy import hides a cycle from Python, not from the design.
"""
import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "services"
DOMAINS = sorted(p.name for p in SERVICES.iterdir() if (p / "__init__.py").is_file())
# Who may import whom; every other arrow between domains is a mistake.
ALLOWED = {
    "payments": {"coupons", "learning", "courses", "people", "referrals", "memberships"},
    "bundles": {"payments", "coupons", "courses"},
    "learning": {"coupons", "courses", "paths", "memberships"},
    "memberships": set(),
    "coupons": set(),
    "courses": set(),
    "paths": {"courses"},
    "people": set(),
    "referrals": {"coupons"},
}


def _imported_domains(source: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if len(parts) > 1 and parts[0] == "services" and parts[1] in DOMAINS:
                found.add(parts[1])
    return found


def domain_graph() -> dict[str, set[str]]:
    """{domain: the other domains its modules import}."""
    return {domain: {imported for source in (SERVICES / domain).rglob("*.py")
                     for imported in _imported_domains(source)} - {domain}
            for domain in DOMAINS}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return path[path.index(target):] + [target] if target in path else [node, target]
            if target not in state and (found := visit(target, path + [target])):
                return found
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_the_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_reader_sees_every_import_form(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("import services.people.admin\nfrom services import coupons\n"
                      "def f():\n    from services.learning.access import describe\n")
    assert _imported_domains(source) == {"people", "coupons", "learning"}


def test_no_import_cycle_between_domain_packages():
    assert _cycle(domain_graph()) is None


def test_domain_packages_import_only_along_the_drawn_arrows():
    assert set(DOMAINS) == set(ALLOWED), "a new domain package: add its arrows here and in docs/architecture.md"
    unexpected = {domain: sorted(imports - ALLOWED[domain]) for domain, imports in domain_graph().items()
                  if imports - ALLOWED[domain]}
    assert unexpected == {}

"""The architecture, written down where a change to it fails a test (issue 19, item 9).

* Which package may import which: the core (``rcc``) imports no capability; each capability's
  allowed edges are listed below, so a new edge is a deliberate change to this file.
* ``matching.engine`` is pure: no Flask, no SQLAlchemy, and from the project only the listed
  pure modules.
* No import across packages is hidden inside a function, unless it is listed here with its reason.
* Every place that acts with the system's scope (no tenant filter) is listed with its reason.
* One money formatter and one pounds-to-pence parser (``rcc.numbers``) and one service-error
  helper (``rcc.web.put_service_error``): no other definitions.

Everything is read from the source with ``ast``; nothing here imports the code it checks,
except the engine purity check, which imports the engine in a fresh interpreter.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections import Counter
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rcc", "commissioning", "matching", "contracts", "cost_transparency")
ENGINE = "matching/engine"

# Who may import whom (the package's own modules aside). Capabilities are layered: each one may use
# the core and the capabilities registered before it, never one that builds on it.
ALLOWED_EDGES: dict[str, set[str]] = {
    "rcc": set(),  # the core names no capability: rcc.app registers them by name from configuration
    "commissioning": {"rcc"},
    "contracts": {"rcc", "commissioning"},  # block contracts are for commissioning's homes and placements
    "matching": {"rcc", "commissioning", "contracts"},  # contracted void places are offered first
    "cost_transparency": {"rcc", "commissioning", "contracts", "matching"},  # reports read every capability
}

# What the pure engine may import from the project: modules that themselves import neither Flask nor
# SQLAlchemy (checked below), so the engine runs from the command line and in a worker alike.
ENGINE_PROJECT_IMPORTS = {
    "rcc.geography": "the Point type and the earth's radius: geometry, shared with the platform",
    "commissioning.vocabulary": "the closed vocabularies (placement types, needs, sibling plans) the problem uses",
}
ENGINE_FORBIDDEN = ("flask", "flask_login", "flask_wtf", "flask_smorest", "sqlalchemy", "sqlmodel", "alembic",
                    "psycopg", "rq", "redis", "jinja2", "werkzeug")

# Imports across packages inside a function: (file, function) -> the module prefixes and the reason.
_REGISTER = ("a package's ``register(app)`` imports the core's app-building helpers and its own views only "
             "when the app is built, so the package itself stays import-light (the engine uses its vocabulary "
             "without Flask)")
_OPTIONAL_CONTRACTS = "contracts is optional at this layer: without it every place is spot-purchased"
HIDDEN_IMPORTS: dict[tuple[str, str], tuple[tuple[str, ...], str]] = {
    ("commissioning/__init__.py", "register"): (("rcc.",), _REGISTER),
    ("matching/__init__.py", "register"): (("rcc.", "commissioning.retention"),
                                           _REGISTER + "; the referral packs' purge step joins commissioning's "
                                           "retention purge when the app is built"),
    ("contracts/__init__.py", "register"): (("rcc.",), _REGISTER),
    ("contracts/views.py", "register"): (("rcc.layout",), _REGISTER),
    ("cost_transparency/__init__.py", "register"): (("rcc.", "commissioning.retention"),
                                                    _REGISTER + "; the cost notes' purge step joins "
                                                    "commissioning's retention purge when the app is built"),
    ("matching/services/capacity.py", "free_block_places"): (("contracts.",), _OPTIONAL_CONTRACTS),
    ("cost_transparency/services/sufficiency.py", "block_capacity"): (("contracts.",), _OPTIONAL_CONTRACTS),
    ("cost_transparency/services/cost_records.py", "contract_price_on"): (("contracts.",), _OPTIONAL_CONTRACTS),
    ("cost_transparency/services/spend_forecast.py", "_block_costs"): (("contracts.",), _OPTIONAL_CONTRACTS),
    ("cost_transparency/services/sufficiency.py", "_matching"): (
        ("matching.",), "the sufficiency snapshot reads the latest matching run only when it is made"),
}

# Every place acting with the system's scope (``system_access`` or ``TenantScope.system()``): row-level
# security is off for that session, so each one is a decision. (file, function) -> (count, reason).
SYSTEM_SCOPE: dict[tuple[str, str], tuple[int, str]] = {
    ("rcc/tenancy.py", "system_access"): (1, "the context manager itself"),
    ("rcc/users.py", "_account_scope"): (1, "SQLite only: finding who a sign-in or token belongs to, which "
                                            "PostgreSQL does in the rcc_account_scope function"),
    ("rcc/cli.py", "system_session"): (1, "the trusted command line, logged in as a member of rcc_system"),
    ("rcc/ticks.py", "system"): (1, "the scheduled tick (deadlines, chasers), logged in as a member of rcc_system"),
    ("rcc/notifications.py", "send_queued"): (1, "the tick retrying queued emails of every organisation"),
    ("contracts/demo.py", "_as_platform"): (1, "building the demo data, back to the platform after acting "
                                                "as a provider"),
    ("benchmarks/imports.py", "*"): (5, "the imports benchmark sets up and checks its data as the owner"),
    ("benchmarks/matching_platform.py", "*"): (2, "the matching benchmark sets up its region as the owner"),
    ("benchmarks/whatif.py", "*"): (1, "the what-if benchmark reads the demo region it built, as the owner"),
}
SCANNED_FOR_SYSTEM_SCOPE = (*PACKAGES, "benchmarks", "scripts", "wsgi.py")

# The one money formatter and parser, and the one service-error helper.
MONEY_MODULE = "rcc/numbers.py"
MONEY_NAME = re.compile(r"(^|_)(pounds|pence|money|gbp|currency)(_|$)", re.IGNORECASE)
MONEY_NAMED_BUT_NOT_A_FORMATTER = {
    ("commissioning/forms.py", "_pounds_field"): "the form's validator: numbers.pence's reason on the field",
    ("commissioning/services/imports.py", "_pence"): "reads one CSV column with numbers.pence, noting its row's problem",
    ("contracts/services/utilisation.py", "_pence"): "rounds a computed Fraction of pence; no text",
    ("matching/services/snapshot.py", "weekly_cost_pounds"): "a home's cost as the engine's float pounds",
    ("matching/forms.py", "weekly_cost_pence"): "the form's field read with numbers.pence",
    ("commissioning/schemas.py", "weekly_pence"): "an API schema's integer-pence field",
    ("contracts/schemas.py", "weekly_pence"): "an API schema's integer-pence field",
    ("cost_transparency/schemas.py", "weekly_pence"): "an API schema's integer-pence field",
}
# Text with a pound sign and a formatted number, built outside rcc.numbers: only the pure engine,
# which imports no platform code, words its own explanations.
POUND_TEXT_ALLOWED = {"matching/engine/alternatives.py"}
ERROR_HELPER_MODULE = "rcc/web.py"


def _python_files(*roots: str) -> list[Path]:
    found: list[Path] = []
    for root in roots:
        path = ROOT / root
        found.extend([path] if path.is_file() else sorted(path.rglob("*.py")) if path.is_dir() else [])
    return found


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _imported_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [node.module]
    return []


def _functions_with_parents(tree: ast.Module) -> list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, str]]:
    return [(node, node.name) for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]


def _package_of(path: Path) -> str:
    return _relative(path).split("/")[0]


def test_packages_import_only_their_allowed_edges():
    wrong = []
    for path in _python_files(*PACKAGES):
        package = _package_of(path)
        for node in ast.walk(_tree(path)):
            for module in _imported_modules(node):
                top = module.split(".")[0]
                if top in PACKAGES and top != package and top not in ALLOWED_EDGES[package]:
                    wrong.append(f"{_relative(path)}:{node.lineno} imports {module}")
    assert wrong == [], "a new edge between packages (list it in ALLOWED_EDGES if it is meant):\n" + "\n".join(wrong)


def test_the_engine_imports_only_its_listed_pure_modules_and_no_framework():
    wrong = []
    for path in _python_files(ENGINE):
        for node in ast.walk(_tree(path)):
            for module in _imported_modules(node):
                top = module.split(".")[0]
                if top in ENGINE_FORBIDDEN:
                    wrong.append(f"{_relative(path)}:{node.lineno} imports {module}")
                elif top in PACKAGES and not module.startswith("matching.engine") and module not in ENGINE_PROJECT_IMPORTS:
                    wrong.append(f"{_relative(path)}:{node.lineno} imports {module} from the project")
    for module in ENGINE_PROJECT_IMPORTS:
        path = ROOT / (module.replace(".", "/") + ".py")
        for node in ast.walk(_tree(path)):
            for imported in _imported_modules(node):
                if imported.split(".")[0] in (*ENGINE_FORBIDDEN, *PACKAGES) and imported != "__future__":
                    wrong.append(f"{module} (used by the engine) imports {imported}")
    assert wrong == []


def test_importing_the_engine_loads_no_framework():
    forbidden = ", ".join(repr(name) for name in ENGINE_FORBIDDEN)
    code = ("import sys, matching.engine; "
            f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in ({forbidden},)); "
            "print(loaded); sys.exit(1 if loaded else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_no_import_across_packages_is_hidden_inside_a_function_unless_listed():
    found: dict[tuple[str, str], set[str]] = {}
    for path in _python_files(*PACKAGES):
        package = _package_of(path)
        for function, name in _functions_with_parents(_tree(path)):
            for node in ast.walk(function):
                for module in _imported_modules(node):
                    if module.split(".")[0] in PACKAGES and module.split(".")[0] != package:
                        found.setdefault((_relative(path), name), set()).add(module)
    unlisted = {place: modules for place, modules in found.items()
                if place not in HIDDEN_IMPORTS or not all(m.startswith(HIDDEN_IMPORTS[place][0]) for m in modules)}
    assert unlisted == {}, "import at the top of the module, or list it in HIDDEN_IMPORTS with its reason"
    assert set(HIDDEN_IMPORTS) == set(found), "HIDDEN_IMPORTS lists a place that no longer hides an import"


def _system_scope_calls(path: Path) -> Counter[tuple[str, str]]:
    calls: Counter[tuple[str, str]] = Counter()
    tree = _tree(path)
    enclosing: dict[ast.AST, str] = {}
    for function, name in _functions_with_parents(tree):
        for node in ast.walk(function):
            enclosing[node] = name  # ast.walk goes outside in: the innermost function wins
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = node.func
        is_system = (isinstance(called, ast.Name) and called.id == "system_access") or (
            isinstance(called, ast.Attribute) and called.attr == "system_access") or (
            isinstance(called, ast.Attribute) and called.attr == "system"
            and isinstance(called.value, ast.Name) and called.value.id == "TenantScope")
        if is_system:
            calls[(_relative(path), enclosing.get(node, "<module>"))] += 1
    return calls


def test_every_use_of_the_system_scope_is_listed_with_its_reason():
    calls: Counter[tuple[str, str]] = Counter()
    for path in _python_files(*SCANNED_FOR_SYSTEM_SCOPE):
        if _relative(path) == "rcc/tenancy.py":
            calls.update({("rcc/tenancy.py", "system_access"): 1})  # the definition's own use
            continue
        for (file, function), count in _system_scope_calls(path).items():
            listed = (file, "*") if (file, "*") in SYSTEM_SCOPE else (file, function)
            calls[listed] += count
    listed = {place: count for place, (count, _reason) in SYSTEM_SCOPE.items()}
    assert dict(calls) == listed, "a new (or removed) use of the system scope: list it in SYSTEM_SCOPE with why"
    assert all(reason for _count, reason in SYSTEM_SCOPE.values())


def _project_files() -> list[Path]:
    return _python_files(*PACKAGES)


def test_money_is_formatted_and_parsed_in_one_place():
    wrong = []
    for path in _project_files():
        relative = _relative(path)
        if relative == MONEY_MODULE:
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and MONEY_NAME.search(node.name) \
                    and (relative, node.name) not in MONEY_NAMED_BUT_NOT_A_FORMATTER:
                wrong.append(f"{relative}:{node.lineno} defines {node.name}")
            if isinstance(node, ast.JoinedStr) and relative not in POUND_TEXT_ALLOWED:
                for before, value in zip(node.values, node.values[1:], strict=False):
                    if isinstance(before, ast.Constant) and str(before.value).endswith("£") \
                            and isinstance(value, ast.FormattedValue) and value.format_spec is not None:
                        wrong.append(f"{relative}:{node.lineno} formats pounds itself")
    for template in [*ROOT.glob("*/templates/**/*.html")]:
        text = template.read_text(encoding="utf-8")
        if re.search(r"£\{\{[^}]*format", text) or re.search(r"app_template_filter\(\"\w*pounds", text):
            wrong.append(f"{_relative(template)} formats pounds itself")
    assert wrong == [], "use rcc.numbers.pounds / rcc.numbers.pence:\n" + "\n".join(wrong)


def test_pounds_is_registered_for_templates_once_by_the_core():
    registrations = []
    for path in _project_files():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Dict):
                keys = [k.value for k in node.keys if isinstance(k, ast.Constant)]
                if "pounds" in keys:
                    registrations.append(f"{_relative(path)}:{node.lineno} (a context processor's dict)")
            if isinstance(node, ast.Call) and any(isinstance(a, ast.Constant) and a.value == "pounds"
                                                  for a in node.args):
                registrations.append(_relative(path))
    assert registrations == ["rcc/layout.py"]


def _sets_field_errors(node: ast.AST) -> bool:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == "errors"
                                                 for t in inner.targets):
            return True
        if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) \
                and inner.func.attr in ("append", "extend") and isinstance(inner.func.value, ast.Attribute) \
                and inner.func.value.attr == "errors":
            return True
    return False


def test_service_errors_reach_a_form_one_way():
    wrong = []
    for path in _project_files():
        relative = _relative(path)
        if relative == ERROR_HELPER_MODULE:
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ExceptHandler) and _sets_field_errors(ast.Module(body=node.body, type_ignores=[])):
                wrong.append(f"{relative}:{node.lineno} puts a caught error on a field by hand")
            if isinstance(node, ast.FunctionDef) and _sets_field_errors(node) and any(
                    isinstance(n, ast.Name) and n.id in ("FieldErrors", "FieldError", "ServiceError")
                    for n in ast.walk(node)):
                wrong.append(f"{relative}:{node.lineno} {node.name} is another service-error helper")
    assert wrong == [], "use rcc.web.put_service_error:\n" + "\n".join(wrong)

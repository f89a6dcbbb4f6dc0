"""Who may see which rows, declared once per model and enforced below the views.

Every tenant-owned model names a ``TenantPolicy``. From that one declaration come
  * the ORM criteria added to every SELECT, UPDATE and DELETE the session runs
    (``do_orm_execute`` with ``with_loader_criteria``), and
  * on PostgreSQL, the row-level security policy a migration installs.
With no scope set, a query on a tenant-owned model raises: tenancy fails closed.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, event, false, or_
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.util import find_tables


class OrgKind(StrEnum):
    RCC = "rcc"
    COUNCIL = "council"
    PROVIDER = "provider"


SYSTEM = "system"
PUBLIC = "public"  # nobody signed in: sees only rows a policy publishes to everyone

# On PostgreSQL a session may act with system scope only if its role is a member of this one.
# The web's login role is not, so no setting it can make gives it every organisation's rows.
SYSTEM_ROLE = "rcc_system"


class TenancyNotSet(RuntimeError):
    """A tenant-owned table was queried before anyone said on whose behalf."""


@dataclass(frozen=True)
class TenantScope:
    """On whose behalf the session reads and writes."""

    kind: str  # an OrgKind value, PUBLIC, or SYSTEM for trusted jobs (migrations, imports, the demo)
    organisation_id: int | None = None
    rcc_id: int | None = None

    @classmethod
    def system(cls) -> TenantScope:
        return cls(SYSTEM)

    @classmethod
    def public(cls) -> TenantScope:
        return cls(PUBLIC)

    @classmethod
    def for_organisation(cls, kind: str, organisation_id: int, rcc_id: int) -> TenantScope:
        return cls(str(kind), organisation_id, rcc_id)

    @property
    def is_system(self) -> bool:
        return self.kind == SYSTEM


@dataclass(frozen=True)
class TenantPolicy:
    """Rows are visible within their RCC (``rcc_id``) to the groups switched on here,
    and to the organisation named in any of ``owner_columns``. ``public_when`` (a column and
    a value) names rows anyone may read, signed in or not, such as published reports."""

    rcc_staff: bool = False
    any_council: bool = False
    any_provider: bool = False
    owner_columns: tuple[str, ...] = ()
    public_when: tuple[str, str] | None = None

    def criteria(self, model: Any, scope: TenantScope) -> Any:
        alternatives: list[Any] = []
        if scope.kind == PUBLIC:
            if self.public_when is None:
                return false()
            column, value = self.public_when
            return getattr(model, column) == value
        if self.rcc_staff and scope.kind == OrgKind.RCC:
            return model.rcc_id == scope.rcc_id
        if self.any_council and scope.kind == OrgKind.COUNCIL:
            return model.rcc_id == scope.rcc_id
        if self.any_provider and scope.kind == OrgKind.PROVIDER:
            return model.rcc_id == scope.rcc_id
        alternatives = [getattr(model, column) == scope.organisation_id for column in self.owner_columns]
        if not alternatives or scope.organisation_id is None:
            return false()
        return and_(model.rcc_id == scope.rcc_id, or_(*alternatives))

    def postgres_expression(self) -> str:
        """The same rule in SQL, reading the settings ``apply_scope_to_connection`` makes."""
        kind = "current_setting('rcc.org_kind', true)"
        org = "nullif(current_setting('rcc.org_id', true), '')::integer"
        rcc = "nullif(current_setting('rcc.rcc_id', true), '')::integer"
        groups = [
            f"{kind} = '{group}'"
            for group, on in ((OrgKind.RCC, self.rcc_staff), (OrgKind.COUNCIL, self.any_council),
                              (OrgKind.PROVIDER, self.any_provider))
            if on
        ]
        groups += [f"{column} = {org}" for column in self.owner_columns]
        visible = " OR ".join(groups) or "false"
        return f"({kind} = '{SYSTEM}' OR (rcc_id = {rcc} AND ({visible})))"

    def postgres_public_expression(self) -> str | None:
        """The rows anyone may read (a separate SELECT-only policy), if the policy publishes any."""
        if self.public_when is None:
            return None
        column, value = self.public_when
        return f"({column} = '{value}')"


def postgres_system_guard() -> str:
    """A restrictive policy on every tenant table: the 'system' setting counts only for members of
    ``SYSTEM_ROLE``. Evaluated once per statement (a sub-select, so an init plan), not once per row."""
    kind = "current_setting('rcc.org_kind', true)"
    return f"((SELECT {kind} IS DISTINCT FROM '{SYSTEM}' OR pg_has_role(current_user, '{SYSTEM_ROLE}', 'MEMBER')))"


# Policies used across the platform; models pick one rather than inventing their own.
WHOLE_RCC = TenantPolicy(rcc_staff=True, any_council=True, any_provider=True)
OWN_ORGANISATION = TenantPolicy(owner_columns=("organisation_id",))
# What was sent to an organisation's people: theirs, and the RCC's staff (its outbox in development).
OWN_ORGANISATION_AND_RCC = TenantPolicy(rcc_staff=True, owner_columns=("organisation_id",))
RCC_ONLY = TenantPolicy(rcc_staff=True)
# The audit trail: an organisation's own actions, and anyone's actions on its records (the RCC
# reading a council's child shows in that council's trail).
AUDIT_TRAIL = TenantPolicy(owner_columns=("organisation_id", "subject_organisation_id"))
COUNCIL_AND_RCC = TenantPolicy(rcc_staff=True, owner_columns=("council_id",))
SUPPLY_REGISTER = TenantPolicy(rcc_staff=True, any_council=True, owner_columns=("provider_id",))
PROVIDER_AND_RCC = TenantPolicy(rcc_staff=True, owner_columns=("provider_id",))
COUNCIL_PROVIDER_AND_RCC = TenantPolicy(rcc_staff=True, owner_columns=("council_id", "provider_id"))
# A row one organisation owns, whether a council or a provider (a foster household), and the RCC.
OWNER_AND_RCC = TenantPolicy(rcc_staff=True, owner_columns=("owner_id",))
# branch whatif: the RCC's region-wide planning figures, read by its member councils (no provider).
RCC_AND_COUNCILS = TenantPolicy(rcc_staff=True, any_council=True)


def tenant_models(registry: Any) -> list[Any]:
    """Every mapped class that declares a policy, in a stable order."""
    return list(_tenant_models(registry, len(registry.mappers)))


@functools.lru_cache(maxsize=8)
def _tenant_models(registry: Any, mapper_count: int) -> tuple[Any, ...]:
    # Keyed on the number of mappers so that models imported later are picked up.
    found = [m.class_ for m in registry.mappers if getattr(m.class_, "__tenant_policy__", None)]
    return tuple(sorted(found, key=lambda cls: cls.__tablename__))


@functools.lru_cache(maxsize=8)
def _tenant_tables(registry: Any, mapper_count: int) -> dict[Any, Any]:
    return {model.__table__: model for model in _tenant_models(registry, mapper_count)}


def tenant_models_in(statement: Any, registry: Any) -> list[Any]:
    """Every tenant-owned model a statement reads or writes: selected, joined, or in a subquery or CTE.

    Filtering only these, rather than adding every model's filter to every statement, keeps
    SQLAlchemy's per-statement cache-key work small (it was a fifth of a page's time).
    """
    by_table = _tenant_tables(registry, len(registry.mappers))
    found = find_tables(statement, check_columns=True, include_aliases=True, include_joins=True,
                        include_selects=True, include_crud=True)
    return sorted({by_table[table] for table in found if table in by_table}, key=lambda cls: cls.__tablename__)


@functools.lru_cache(maxsize=16384)
def _loader_option(scope: TenantScope, model: Any) -> Any:
    """One model's filter for one scope, built once: it is immutable SQL, safe to share."""
    return with_loader_criteria(model, model.__tenant_policy__.criteria(model, scope), include_aliases=True)


def current_scope(session: Session) -> TenantScope | None:
    return session.info.get("tenant_scope")


def set_scope(session: Session, scope: TenantScope) -> None:
    """Act on ``scope``'s behalf from the session's next statement on.

    PostgreSQL hears of the change just before that statement runs (``_tell_postgres``), so a
    request that widens the scope to look up the signed-in person and then narrows it again
    costs one round trip, not three.
    """
    session.info["tenant_scope"] = scope


@contextlib.contextmanager
def system_access(session: Session) -> Iterator[Session]:
    """Run trusted platform code (the command line, imports, the demo) with no tenant filter.

    On PostgreSQL this works only for a connection whose role is a member of ``SYSTEM_ROLE``
    (the platform's login role, or the owner); the web's login role sees nothing with it.
    Web requests use the narrower ``within_rcc`` or ``public_access`` instead.
    """
    with acting_as(session, TenantScope.system()):
        yield session


@contextlib.contextmanager
def within_rcc(session: Session, rcc_id: int) -> Iterator[Session]:
    """Platform work inside one RCC on a user's behalf (counting other councils' block placements,
    say): the session sees what the RCC's own staff see, and nothing of any other RCC."""
    with acting_as(session, TenantScope.for_organisation(OrgKind.RCC, rcc_id, rcc_id)):
        yield session


@contextlib.contextmanager
def public_access(session: Session) -> Iterator[Session]:
    """Read what is published to everyone (``TenantPolicy.public_when``), whoever is signed in."""
    with acting_as(session, TenantScope.public()):
        yield session


@contextlib.contextmanager
def acting_as(session: Session, scope: TenantScope) -> Iterator[Session]:
    """Act on ``scope``'s behalf inside the block, then go back to the session's scope before it."""
    previous = current_scope(session)
    set_scope(session, scope)
    try:
        yield session
    finally:
        if previous is None:
            session.info.pop("tenant_scope", None)
        else:
            set_scope(session, previous)


_SCOPE_TOLD = "tenant_scope_told_to_postgres"
_NOT_KNOWN = "not known"  # after a savepoint ends, PostgreSQL may have rolled the settings back


def _tell_postgres(session: Session) -> None:
    """Write the session's scope into the transaction's settings, if it differs from what was written."""
    if session.get_bind().dialect.name != "postgresql":
        return
    connection = session.connection()  # begins the transaction if need be (see ``after_begin``)
    scope = current_scope(session)
    if session.info.get(_SCOPE_TOLD, _NOT_KNOWN) == scope:
        return
    values = (
        scope.kind if scope else "",
        str(scope.organisation_id or "") if scope else "",
        str(scope.rcc_id or "") if scope else "",
    )
    # Transaction-local (true): a pooled connection never carries one tenant's scope into the next.
    connection.exec_driver_sql(
        "SELECT set_config('rcc.org_kind', %s, true), set_config('rcc.org_id', %s, true),"
        " set_config('rcc.rcc_id', %s, true)", values)
    session.info[_SCOPE_TOLD] = scope


def install_tenancy(session_class: type[Session], registry: Any) -> None:
    """Hook the filters into every session of ``session_class``."""

    @event.listens_for(session_class, "do_orm_execute")
    def _filter_to_scope(state: ORMExecuteState) -> None:
        _tell_postgres(state.session)
        if not (state.is_select or state.is_update or state.is_delete) or state.is_column_load:
            return
        scope = current_scope(state.session)
        if scope is not None and scope.is_system:
            return
        models = tenant_models_in(state.statement, registry)
        if scope is None:
            if models:
                raise TenancyNotSet("No tenant scope is set on this session; refusing to read tenant data.")
            return
        state.statement = state.statement.options(*(_loader_option(scope, model) for model in models))

    @event.listens_for(session_class, "before_flush")
    def _scope_writes(session: Session, _context: Any, _instances: Any) -> None:
        _tell_postgres(session)

    @event.listens_for(session_class, "after_begin")
    def _fresh_transaction(session: Session, _transaction: Any, _connection: Any) -> None:
        session.info[_SCOPE_TOLD] = None  # a new transaction starts with no settings: nobody's scope

    @event.listens_for(session_class, "after_transaction_end")
    def _savepoint_ended(session: Session, transaction: Any) -> None:
        if transaction.nested:
            session.info[_SCOPE_TOLD] = _NOT_KNOWN

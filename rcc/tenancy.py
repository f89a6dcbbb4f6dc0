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


class OrgKind(StrEnum):
    RCC = "rcc"
    COUNCIL = "council"
    PROVIDER = "provider"


SYSTEM = "system"


class TenancyNotSet(RuntimeError):
    """A tenant-owned table was queried before anyone said on whose behalf."""


@dataclass(frozen=True)
class TenantScope:
    """On whose behalf the session reads and writes."""

    kind: str  # an OrgKind value, or SYSTEM for trusted jobs (migrations, imports, sign-in look-ups)
    organisation_id: int | None = None
    rcc_id: int | None = None

    @classmethod
    def system(cls) -> TenantScope:
        return cls(SYSTEM)

    @classmethod
    def for_organisation(cls, kind: str, organisation_id: int, rcc_id: int) -> TenantScope:
        return cls(str(kind), organisation_id, rcc_id)

    @property
    def is_system(self) -> bool:
        return self.kind == SYSTEM


@dataclass(frozen=True)
class TenantPolicy:
    """Rows are visible within their RCC (``rcc_id``) to the groups switched on here,
    and to the organisation named in any of ``owner_columns``."""

    rcc_staff: bool = False
    any_council: bool = False
    any_provider: bool = False
    owner_columns: tuple[str, ...] = ()

    def criteria(self, model: Any, scope: TenantScope) -> Any:
        alternatives: list[Any] = []
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


# Policies used across the platform; models pick one rather than inventing their own.
WHOLE_RCC = TenantPolicy(rcc_staff=True, any_council=True, any_provider=True)
OWN_ORGANISATION = TenantPolicy(owner_columns=("organisation_id",))
COUNCIL_AND_RCC = TenantPolicy(rcc_staff=True, owner_columns=("council_id",))
SUPPLY_REGISTER = TenantPolicy(rcc_staff=True, any_council=True, owner_columns=("provider_id",))
PROVIDER_AND_RCC = TenantPolicy(rcc_staff=True, owner_columns=("provider_id",))
COUNCIL_PROVIDER_AND_RCC = TenantPolicy(rcc_staff=True, owner_columns=("council_id", "provider_id"))


def tenant_models(registry: Any) -> list[Any]:
    """Every mapped class that declares a policy, in a stable order."""
    return list(_tenant_models(registry, len(registry.mappers)))


@functools.lru_cache(maxsize=8)
def _tenant_models(registry: Any, mapper_count: int) -> tuple[Any, ...]:
    # Keyed on the number of mappers so that models imported later are picked up.
    found = [m.class_ for m in registry.mappers if getattr(m.class_, "__tenant_policy__", None)]
    return tuple(sorted(found, key=lambda cls: cls.__tablename__))


@functools.lru_cache(maxsize=4096)
def _loader_options(scope: TenantScope, models: tuple[Any, ...]) -> tuple[Any, ...]:
    """The filters for one scope, built once: they are immutable SQL, safe to share."""
    return tuple(
        with_loader_criteria(model, model.__tenant_policy__.criteria(model, scope), include_aliases=True)
        for model in models
    )


def current_scope(session: Session) -> TenantScope | None:
    return session.info.get("tenant_scope")


def set_scope(session: Session, scope: TenantScope) -> None:
    session.info["tenant_scope"] = scope
    if session.in_transaction():
        apply_scope_to_connection(session, scope)


@contextlib.contextmanager
def system_access(session: Session) -> Iterator[Session]:
    """Run trusted platform code (sign-in look-ups, imports) with no tenant filter."""
    previous = current_scope(session)
    set_scope(session, TenantScope.system())
    try:
        yield session
    finally:
        if previous is None:
            session.info.pop("tenant_scope", None)
            if session.in_transaction():
                apply_scope_to_connection(session, None)
        else:
            set_scope(session, previous)


def apply_scope_to_connection(session: Session, scope: TenantScope | None) -> None:
    """Tell PostgreSQL's row-level security whose transaction this is."""
    _write_scope_settings(session.connection(), scope)


def _write_scope_settings(connection: Any, scope: TenantScope | None) -> None:
    if connection.dialect.name != "postgresql":
        return
    values = (
        ("rcc.org_kind", scope.kind if scope else ""),
        ("rcc.org_id", str(scope.organisation_id or "") if scope else ""),
        ("rcc.rcc_id", str(scope.rcc_id or "") if scope else ""),
    )
    for name, value in values:
        # Transaction-local (true): a pooled connection never carries one tenant's scope into the next.
        connection.exec_driver_sql("SELECT set_config(%s, %s, true)", (name, value))


def install_tenancy(session_class: type[Session], registry: Any) -> None:
    """Hook the filters into every session of ``session_class``."""

    @event.listens_for(session_class, "do_orm_execute")
    def _filter_to_scope(state: ORMExecuteState) -> None:
        if not (state.is_select or state.is_update or state.is_delete) or state.is_column_load:
            return
        scope = current_scope(state.session)
        models = _tenant_models(registry, len(registry.mappers))
        if scope is None:
            touched = {m.class_ for m in state.all_mappers}
            if touched & set(models):
                raise TenancyNotSet("No tenant scope is set on this session; refusing to read tenant data.")
            return
        if scope.is_system:
            return
        state.statement = state.statement.options(*_loader_options(scope, models))

    @event.listens_for(session_class, "after_begin")
    def _scope_new_transaction(session: Session, transaction: Any, connection: Any) -> None:
        _write_scope_settings(connection, current_scope(session))

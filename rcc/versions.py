"""Optimistic locking: a record people edit carries a version, and a save over someone else's is refused.

A table that people edit mixes in ``Versioned``: a ``row_version`` column that SQLAlchemy checks
and raises on every UPDATE (``UPDATE … WHERE id = :id AND row_version = :loaded``), so no write can
land on a row that changed after it was read. The version the person saw travels with their edit
(a hidden form field, or the API's ``If-Match`` header or ``row_version`` field), and the service
saves with ``save_edit``, which refuses when the record moved on — before writing if the person saw
an older version, or at the UPDATE if someone else saved in between — with ``EditConflict``
naming each field where their saved value and the person's differ.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Integer, inspect, text
from sqlalchemy.orm import Session, declared_attr
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Field, SQLModel

from rcc import numbers
from rcc.errors import Conflict

VERSION = "row_version"
# Columns a person never types into: bookkeeping the service sets itself.
_NOT_EDITED = frozenset({"id", VERSION, "rcc_id", "created_at", "updated_at", "created_by_user_id",
                         "status_changed_at", "last_confirmed_at"})


class Versioned(SQLModel):
    """Mix into a table class people edit (``class Home(Versioned, table=True)``).

    Every ORM UPDATE of the row then checks the version it read and adds one to it.
    """

    row_version: int = Field(default=1, sa_type=Integer, nullable=False,
                             sa_column_kwargs={"server_default": text("1")})

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c[VERSION]}  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Change:
    """One field that differs between what is saved now (theirs) and the person's edit (yours)."""

    field: str
    theirs: str
    yours: str

    @property
    def label(self) -> str:
        return self.field.replace("_", " ").capitalize()


class EditConflict(Conflict):
    """Someone else saved the record after the person read it: their save is refused."""

    def __init__(self, thing: str, current_version: int, changes: Sequence[Change], doing: str = "editing"):
        after = ("Check their changes below; save again to replace them with yours." if doing == "editing"
                 else "Nothing was saved: check it as it is now and try again.")
        super().__init__(f"Someone else changed this {thing} while you were {doing} it. {after}")
        self.thing = thing
        self.current_version = current_version
        self.changes = list(changes)


def parse_version(value: object) -> int | None:
    """A version as it arrives in a form or header: a whole number from 1, else None."""
    text_value = str(value or "").strip()
    if text_value.startswith("W/"):
        text_value = text_value[2:]
    text_value = text_value.strip('"')
    if not text_value.isascii() or not text_value.isdigit() or len(text_value) > 9:
        return None
    number = int(text_value)
    return number if number >= 1 else None


def save_edit(session: Session, thing: str, seen: int | None, record: Versioned, *also: SQLModel,
              money: Collection[str] = (), doing: str = "editing") -> None:
    """Write the edit already applied to ``record`` (and ``also``, rows edited with it) if nobody
    else saved ``record`` since the person read version ``seen``; otherwise raise ``EditConflict``.

    ``seen`` is None when a client did not say which version it read: the write is still refused
    if the row changed between this request reading it and writing it. ``money`` names pence fields,
    shown in pounds. ``doing`` is what the person was doing, for the message ("approving"); then
    nothing they typed is at stake, so no differences are listed.
    """
    rows: tuple[SQLModel, ...] = (record, *also)
    loaded = _committed(record, VERSION)
    yours = [_values(row) for row in rows]
    if seen is not None and seen != loaded:
        theirs = [{name: _committed(row, name) for name in values} for row, values in zip(rows, yours, strict=True)]
        raise EditConflict(thing, loaded, _differences(theirs, yours, money) if doing == "editing" else [], doing)
    record.row_version = loaded + 1  # always UPDATE the row, so its version is checked even if only ``also`` changed
    session.add(record)
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        for row in rows:
            session.refresh(row)
        theirs = [_values(row) for row in rows]
        changes = _differences(theirs, yours, money) if doing == "editing" else []
        raise EditConflict(thing, record.row_version, changes, doing) from None


def _committed(row: SQLModel, name: str) -> Any:
    history = inspect(row).attrs[name].history
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return getattr(row, name)


def _values(row: SQLModel) -> dict[str, Any]:
    mapper = inspect(type(row))
    values = {column.key: getattr(row, column.key) for column in mapper.column_attrs
              if column.key not in _NOT_EDITED and not column.key.endswith(("latitude", "longitude"))}
    return {name: value for name, value in values.items() if not isinstance(value, dict)}  # JSON nobody typed


def _differences(theirs: list[dict[str, Any]], yours: list[dict[str, Any]], money: Collection[str]) -> list[Change]:
    changes = []
    for their_row, your_row in zip(theirs, yours, strict=True):
        for name, mine in your_row.items():
            saved = their_row.get(name)
            if _normal(saved) != _normal(mine):
                changes.append(Change(name, describe(saved, name in money), describe(mine, name in money)))
    return changes


def _normal(value: Any) -> Any:
    return sorted(map(str, value)) if isinstance(value, list | tuple | set) else value


def describe(value: Any, money: bool = False) -> str:
    """A saved value in words, for telling a person what differs."""
    if value is None or value == "" or value == []:
        return "blank"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if money and isinstance(value, int):
        return numbers.pounds(value)
    if isinstance(value, datetime):
        return value.strftime("%-d %B %Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%-d %B %Y")
    if isinstance(value, list | tuple | set):
        return ", ".join(str(item) for item in value)
    return str(value)


# Pages ---------------------------------------------------------------------------------------

def conflict_errors(form: Any, error: EditConflict) -> list[dict[str, str]]:
    """GOV.UK error summary entries for a refused edit on a WTForms form, each difference linking to
    its field; the form's hidden version moves on to the current one, so saving again is a deliberate
    choice to replace the other person's change."""
    version_field = getattr(form, VERSION, None)
    if version_field is not None:
        version_field.data = str(error.current_version)
        version_field.raw_data = [str(error.current_version)]

    def field_of(name: str) -> tuple[str, str] | None:
        field = getattr(form, name, None)
        return (field.label.text, field.id) if field is not None else None

    return conflict_summary(error, field_of)


def conflict_summary(error: EditConflict,
                     field_of: Callable[[str], tuple[str, str] | None] = lambda _name: None) -> list[dict[str, str]]:
    """The same entries for any page: ``field_of`` gives a field's (label, element id), or None."""
    entries = [{"text": error.message, "href": "#main-content"}]
    for change in error.changes:
        found = field_of(change.field)
        label, anchor = found if found is not None else (change.label, "main-content")
        entries.append({"text": f"{label}: their value is {change.theirs}, yours is {change.yours}",
                        "href": f"#{anchor}"})
    return entries

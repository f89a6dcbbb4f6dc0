"""Award letters: at award, every bidder gets a letter with its own scores, the winning bid's scores
and the winner's relative advantage, and the date the standstill period ends. The letter is kept as
HTML (shown as a page, or as a PDF) so what was sent is what is read later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from jinja2 import Environment, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from contracts.models import AwardLetter, Bid, Lot, Tender
from contracts.services.common import aware, is_rcc, scope_of
from rcc import audit
from rcc.audit import AuditAction
from rcc.errors import NotFound
from rcc.models import Organisation
from rcc.numbers import pounds
from rcc.tenancy import OrgKind

if TYPE_CHECKING:
    from contracts.services.evaluation import RankedBid

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
LETTER = _ENV.from_string("""<article class="award-letter">
<p class="govuk-body">{{ letter_date }}</p>
<p class="govuk-body">To {{ provider }}</p>
<h2 class="govuk-heading-m">Tender {{ tender.reference }}: {{ tender.title }}. Lot {{ lot.number }}: {{ lot.title }}</h2>
{% if successful %}
<p class="govuk-body">We are pleased to tell you that your bid for lot {{ lot.number }} was successful.</p>
{% else %}
<p class="govuk-body">We are sorry to tell you that your bid for lot {{ lot.number }} was not successful.
The lot was awarded to {{ winner_name }}.</p>
{% endif %}
<table class="govuk-table">
  <caption class="govuk-table__caption govuk-table__caption--s">Scores for lot {{ lot.number }}
  (price {{ lot.price_weight }}%, quality {{ 100 - lot.price_weight }}%)</caption>
  <thead class="govuk-table__head"><tr class="govuk-table__row">
    <th scope="col" class="govuk-table__header">Score</th>
    <th scope="col" class="govuk-table__header govuk-table__header--numeric">Your bid</th>
    <th scope="col" class="govuk-table__header govuk-table__header--numeric">{{ 'Next-best bid' if successful else 'Winning bid' }}</th>
    <th scope="col" class="govuk-table__header govuk-table__header--numeric">Winning bid's advantage</th>
  </tr></thead>
  <tbody class="govuk-table__body">
  {% for row in rows %}
    <tr class="govuk-table__row"><th scope="row" class="govuk-table__header">{{ row.label }}</th>
      <td class="govuk-table__cell govuk-table__cell--numeric">{{ row.yours }}</td>
      <td class="govuk-table__cell govuk-table__cell--numeric">{{ row.theirs }}</td>
      <td class="govuk-table__cell govuk-table__cell--numeric">{{ row.advantage }}</td></tr>
  {% endfor %}
  </tbody>
</table>
<p class="govuk-body">Your weekly price per place was {{ your_price }}{% if your_rank %} and your bid ranked
{{ your_rank }} of {{ bid_count }}{% endif %}.</p>
<p class="govuk-body">The standstill period ends on {{ standstill_ends }}. No contract for this lot is made before
then. If you have questions about this decision, write to the RCC before that date.</p>
</article>""")


@dataclass
class _Row:
    label: str
    yours: str
    theirs: str
    advantage: str


def _points(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _advantage(winner: Decimal | None, other: Decimal | None) -> str:
    if winner is None or other is None:
        return ""
    difference = winner - other
    return f"{'+' if difference >= 0 else ''}{difference:.2f}"


def write_award_letters(session: Session, tender: Tender, results: list[tuple[Lot, list[RankedBid]]],
                        now: datetime) -> list[AwardLetter]:
    """One letter per bid on every awarded lot, in the award's transaction."""
    ends = aware(tender.standstill_ends_at or now)
    made = []
    for lot, ranking in results:
        winner = next((r for r in ranking if r.bid.id == lot.awarded_bid_id), None)
        if winner is None:
            continue
        runner_up = next((r for r in ranking if r.bid.id != winner.bid.id), None)
        for entry in ranking:
            successful = entry.bid.id == winner.bid.id
            other = runner_up if successful else entry
            compare = other if successful else winner
            rows = []
            for label, name in (("Price", "price_score"), ("Quality", "quality_score"), ("Total", "total_score")):
                mine, theirs = getattr(entry, name), getattr(compare, name) if compare else None
                rows.append(_Row(label, _points(mine), _points(theirs),
                                 _advantage(getattr(winner, name), getattr(other, name) if other else None)))
            html = LETTER.render(
                letter_date=f"{now:%-d %B %Y}", provider=entry.provider_name, tender=tender, lot=lot,
                successful=successful, winner_name=winner.provider_name, rows=rows,
                your_price=pounds(entry.bid.weekly_price), your_rank=entry.rank, bid_count=len(ranking),
                standstill_ends=f"{ends:%-d %B %Y}")
            letter = AwardLetter(rcc_id=tender.rcc_id, provider_id=entry.bid.provider_id, tender_id=tender.id or 0,
                                 bid_id=entry.bid.id or 0, successful=successful, html=html, created_at=now)
            session.add(letter)
            made.append(letter)
    session.flush()
    for letter in made:
        audit.record(session, AuditAction.AWARD_LETTER_SENT, letter, bid_id=letter.bid_id,
                     provider_id=letter.provider_id, successful=letter.successful)
    return made


def letters_for(session: Session, tender: Tender) -> list[AwardLetter]:
    """Every letter for the RCC; a provider its own (the table's tenancy filters the rest)."""
    scope = scope_of(session)
    if not is_rcc(session) and scope.kind != OrgKind.PROVIDER:
        return []
    return list(session.scalars(select(AwardLetter).where(AwardLetter.tender_id == tender.id)
                                .order_by(AwardLetter.bid_id)))


def letter_for_bid(session: Session, bid_id: int) -> tuple[AwardLetter, Bid, str]:
    """The letter for a bid, read by its bidder or the RCC, audited."""
    letter = session.scalars(select(AwardLetter).where(AwardLetter.bid_id == bid_id)).first()
    scope = scope_of(session)
    if letter is None or not (is_rcc(session) or (scope.kind == OrgKind.PROVIDER
                                                  and letter.provider_id == scope.organisation_id)):
        raise NotFound()
    bid = session.get(Bid, bid_id)
    if bid is None:
        raise NotFound()
    provider = session.get(Organisation, letter.provider_id)
    audit.record(session, AuditAction.AWARD_LETTER_VIEWED, letter, bid_id=bid_id)
    return letter, bid, provider.name if provider else ""


def by_lot(session: Session, found: list[AwardLetter]) -> dict[int, list[AwardLetter]]:
    """Letters grouped by their bid's lot."""
    if not found:
        return {}
    lots: dict[int, int] = {int(row[0]): int(row[1]) for row in session.execute(
        select(Bid.id, Bid.lot_id).where(col(Bid.id).in_([x.bid_id for x in found])))}
    grouped: dict[int, list[AwardLetter]] = {}
    for letter in found:
        grouped.setdefault(int(lots.get(letter.bid_id, 0)), []).append(letter)
    return grouped

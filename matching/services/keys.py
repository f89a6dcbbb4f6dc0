"""Pseudonymous keys used in a run's snapshot: "C123" is referral 123, "H7" home 7, "F4" foster
household 4, "L2" council (organisation) 2, and so on.

Only these keys, never a child's reference, initials or postcode, appear in a snapshot.
"""

from __future__ import annotations

CHILD, HOME, PROVIDER, GROUP = "C", "H", "P", "G"
FOSTER_HOUSEHOLD, COUNCIL = "F", "L"


def child_key(referral_id: int) -> str:
    return f"{CHILD}{referral_id}"


def home_key(home_id: int) -> str:
    return f"{HOME}{home_id}"


def provider_key(provider_id: int) -> str:
    return f"{PROVIDER}{provider_id}"


def group_key(sibling_group_id: int) -> str:
    return f"{GROUP}{sibling_group_id}"


def household_key(household_id: int) -> str:
    return f"{FOSTER_HOUSEHOLD}{household_id}"


def council_key(council_id: int) -> str:
    return f"{COUNCIL}{council_id}"


def id_of(key: str, prefix: str) -> int:
    if not key.startswith(prefix) or not key[len(prefix):].isdigit():
        raise ValueError(f"{key!r} is not a {prefix} key")
    return int(key[len(prefix):])

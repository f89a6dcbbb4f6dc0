"""The words commissioning shares with matching and contracts: keys, labels and code lists.

Plain Python with no imports from the platform, so ``matching.engine`` can use it too.
Keys are stable identifiers stored in the database; labels are what people read.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PlacementType:
    key: str
    label: str
    ssda903_codes: tuple[str, ...]  # the SSDA903 placement codes this type groups


# Grouped from the SSDA903 placement type codes (rcc/reference_data/ssda903_codes.csv).
PLACEMENT_TYPES: dict[str, PlacementType] = {
    pt.key: pt for pt in (
        PlacementType("foster_care", "Foster care", ("U1", "U2", "U3", "U4", "U5", "U6")),
        PlacementType("childrens_home", "Children's home", ("K2",)),
        PlacementType("supported_accommodation", "Supported accommodation", ("K3", "H5")),
        PlacementType("residential_school", "Residential school", ("S1",)),
        PlacementType("parent_and_child", "Parent and child", ("R3",)),
        PlacementType("secure", "Secure children's home", ("K1",)),
    )
}

# National Placements Standard v2 areas of need.
NEEDS: dict[str, str] = {
    "emotional_behavioural": "Emotional and behavioural",
    "health_disability": "Health and disability",
    "education": "Education",
    "communication": "Communication",
    "living_with_others": "Living with others",
    "pets": "Pets",
}

RISK_FLAGS: dict[str, str] = {
    "child_sexual_exploitation": "Child sexual exploitation",
    "criminal_exploitation": "Criminal exploitation",
    "going_missing": "Going missing",
    "self_harm": "Self-harm",
    "substance_misuse": "Substance misuse",
    "offending": "Offending",
    "fire_setting": "Fire-setting",
    "harmful_sexual_behaviour": "Harmful sexual behaviour",
    "violence": "Violence",
    "radicalisation": "Radicalisation",
    "trafficking": "Trafficking",
}

# What a home can meet: both needs and risk flags, as one set of keys.
NEEDS_AND_RISKS: dict[str, str] = {**NEEDS, **RISK_FLAGS}

OFSTED_RATINGS: dict[str, str] = {
    "outstanding": "Outstanding",
    "good": "Good",
    "requires_improvement": "Requires improvement",
    "inadequate": "Inadequate",
    "not_yet_inspected": "Not yet inspected",
}

SEXES: dict[str, str] = {"F": "Female", "M": "Male"}

# A sibling group's care plan: the same three words in the engine, the form, the CSV and the API.
SIBLING_PLANS: dict[str, str] = {
    "together": "Together: all in one home, or none of them placed",
    "together_if_possible": "Together if possible: in different homes only when no home can take them all",
    "apart": "Apart: never in the same home or foster household",
}

URGENCIES: dict[str, str] = {
    "emergency": "Emergency",
    "within_7_days": "Within 7 days",
    "planned": "Planned",
}

FUNDING: dict[str, str] = {"block": "Block contract", "spot": "Spot purchase"}

LOCATION_PRECISION: dict[str, str] = {
    "postcode": "Postcode",
    "local_authority": "Local authority only",
}

PROVIDER_SECTORS: dict[str, str] = {
    "private": "Private",
    "voluntary": "Voluntary",
    "local_authority": "Local authority",
}

STALE_AFTER_DAYS = 7  # a vacancy nobody has confirmed for this long is flagged stale

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

# The Placements Data Standard v2 (SocialCareData/placements-standard, effective 2025-07-18, MIT
# licence; the dictionary is shipped as commissioning/standards/placements.json). Each option's key
# is ours; its ``standard`` text is the dictionary's, word for word, and is what the JSON export says.


@dataclass(frozen=True)
class Option:
    key: str
    label: str
    standard: str  # the option exactly as the data dictionary spells it


def _options(*items: tuple[str, str, str]) -> dict[str, Option]:
    return {key: Option(key, label, standard) for key, label, standard in items}


# PlacementRecommendation: how suitable each of the standard's three placement types is.
SUITABILITIES = _options(
    ("preferred", "Preferred", "Preferred"),
    ("suitable", "Suitable but not preferred", "Suitable but not preferred"),
    ("unsuitable", "Unsuitable", "Unsuitable"),
    ("not_specified", "Not specified", "Not specified"),
)


@dataclass(frozen=True)
class StandardPlacementType:
    key: str  # also the referral's column prefix: ``<key>_suitability``
    label: str
    standard: str  # ActualPlacement.placementType's option
    field: str  # PlacementRecommendation's field
    platform_types: tuple[str, ...]  # the platform's placement types it covers (see SPECIALIST_TYPES)


# The standard's three types and the platform's six. Secure children's homes and parent-and-child
# places are residential, but a child is matched to them only when the referral asks for that type
# by name (``Referral.placement_type``), and then to nothing else: a secure place needs a court
# order, a parent-and-child place a parent and baby; "residential care is suitable" says neither.
STANDARD_PLACEMENT_TYPES: dict[str, StandardPlacementType] = {
    t.key: t for t in (
        StandardPlacementType("foster", "Foster care", "Foster", "fosterCareSuitability", ("foster_care",)),
        StandardPlacementType("residential", "Residential care", "Residential", "residentialCareSuitability",
                              ("childrens_home", "residential_school", "secure", "parent_and_child")),
        StandardPlacementType("supported_accommodation", "Supported accommodation", "Supported Accommodation",
                              "supportedAccommodationSuitability", ("supported_accommodation",)),
    )
}
SPECIALIST_TYPES = frozenset({"secure", "parent_and_child"})


def standard_type_of(placement_type: str) -> StandardPlacementType:
    """The standard's type that covers one of the platform's placement types."""
    for standard in STANDARD_PLACEMENT_TYPES.values():
        if placement_type in standard.platform_types:
            return standard
    raise KeyError(placement_type)


def suitability_for(placement_type: str) -> dict[str, str]:
    """Standard type -> suitability for a referral that names only one of the platform's types (an
    older CSV, API call or record): its standard type preferred, the other two unsuitable."""
    wanted = standard_type_of(placement_type).key
    return {key: "preferred" if key == wanted else "unsuitable" for key in STANDARD_PLACEMENT_TYPES}


# PlacementRequirements
COMMUNICATION_NEEDS = _options(("yes", "Yes", "Y"), ("no", "No", "N"), ("not_specified", "Not specified", "Not Specified"))
COMMUNICATION_REQUIREMENTS = _options(
    ("esol", "English for speakers of other languages (ESOL)", "ESOL"),
    ("bsl", "British Sign Language (BSL)", "BSL"),
    ("makaton", "Makaton", "Makaton"),
    ("other", "Other", "Other"),
    ("none", "None", "None"),
)
CULTURAL_NEEDS = _options(("required", "Required", "Required"), ("not_required", "Not required", "Not required"),
                          ("not_known", "Not known", "Not Known"), ("other", "Other", "Other"))
LIVING_COMPANIONS = _options(
    ("solo", "Solo placement recommended", "Solo placement recommended"),
    ("with_others", "With other children recommended", "With other children recommended"),
    ("older_only", "Only with other older children", "Only with other older children"),
    ("younger_only", "Only with other younger children", "Only with other younger children"),
    ("no_preference", "No preference", "No preference"),
)
PETS = _options(("must", "Yes – must live with pets", "Yes - must"), ("can", "Yes – can live with pets", "Yes - can"),
                ("no", "No", "No"), ("not_known", "Not known", "Not Known"))
ADDITIONAL_SUPPORT = _options(
    ("additional_supervision", "Additional supervision", "additional supervision"),
    ("therapeutic_support", "Therapeutic support", "therapeutic support"),
    ("respite_worker", "A worker for respite", "a worker for respite"),
    ("taxis_to_school", "Taxis to school", "taxis to school"),
    ("not_applicable", "Not applicable", "NA"),
    ("other", "Other", "other (please specify)"),
)


@dataclass(frozen=True)
class Risk:
    key: str
    label: str
    field: str  # the standard's field in its Risks entity
    to_others: bool


# Risks: each is "No known risk" or "Risk Present" in the standard (there is no third option; a
# risk nobody knows of is "no known risk"). A referral lists the risks present (``risk_flags``);
# a home lists those it can manage among its ``needs_met``.
RISKS: dict[str, Risk] = {
    r.key: r for r in (
        Risk("self_harm", "Self-harm", "riskSelfHarm", False),
        Risk("sexual_exploitation", "Sexual exploitation", "riskSexualExploitation", False),
        Risk("criminal_exploitation", "Criminal exploitation", "riskCriminalExploitation", False),
        Risk("drug_alcohol", "Drug and alcohol use", "riskDrugAlcohol", False),
        Risk("eating_disorder", "Eating disorder", "riskEatingDisorder", False),
        Risk("going_missing", "Going missing", "riskMissing", False),
        Risk("physical_harm_to_others", "Physical harm to others", "riskToOthersPhysical", True),
        Risk("sexual_harm_to_others", "Sexual harm to others", "riskToOthersSexual", True),
        Risk("fire_setting", "Fire-setting", "riskToOthersFire", True),
        Risk("harm_to_animals", "Harm to animals", "riskToOthersAnimals", True),
        Risk("criminal_exploitation_of_others", "Criminal exploitation of others", "riskToOthersCriminal", True),
    )
}
RISK_PRESENT, NO_KNOWN_RISK = "Risk Present", "No known risk"
RISK_FLAGS: dict[str, str] = {key: risk.label for key, risk in RISKS.items()}

# What matching compares with what a home can meet. Each is derived from an answer to the
# standard's placement requirements (``matching_needs``), never entered on its own, so a home's
# ``needs_met`` and a referral's ``needs`` speak the same words.
NEEDS: dict[str, str] = {
    "communication_esol": "Communication support: ESOL",
    "communication_bsl": "Communication support: British Sign Language",
    "communication_makaton": "Communication support: Makaton",
    "communication_other": "Communication support: other",
    "home_adaptation": "An adapted home",
    "cultural_needs": "Cultural needs (such as a place of worship)",
    "solo_placement": "Solo placement (the only child in the home)",
    "lives_with_pets": "A home with pets",
    "no_pets": "A home without pets",
    "additional_supervision": "Additional supervision",
    "therapeutic_support": "Therapeutic support",
    "respite_worker": "A worker for respite",
    "taxis_to_school": "Taxis to school",
}


def matching_needs(communication_requirements: list[str], home_adaptation: bool, cultural_needs: str,
                   living_companions: str, pets: str, additional_support: str | None) -> list[str]:
    """The needs matching compares with homes, from a referral's answers to the standard."""
    found = {f"communication_{key}" for key in communication_requirements if key != "none"}
    if home_adaptation:
        found.add("home_adaptation")
    if cultural_needs == "required":
        found.add("cultural_needs")
    if living_companions == "solo":
        found.add("solo_placement")
    if pets == "must":
        found.add("lives_with_pets")
    elif pets == "no":
        found.add("no_pets")
    if additional_support in NEEDS:
        found.add(additional_support)
    return [key for key in NEEDS if key in found]


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

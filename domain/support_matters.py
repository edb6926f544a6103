"""Support levels and who owns each matter of the support chain (rule TK-7), as data.

The responsibility table below is the one place in the code that says who owns what; the docs
render it with `responsibility_table_markdown()` (a test checks docs/tickets.md against it).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class SupportLevel(str, Enum):
    """Rule TK-7: the device's support level."""

    MANAGED = "managed"  # 1. hanterad datorarbetsplats
    MANAGED_WITHOUT_SUPPORT = "managed_without_support"  # 2. hanterad datorarbetsplats utan support (lärardator)
    ONE_TO_ONE = "one_to_one"  # 3. 1:1 (elevdator)


SUPPORT_LEVEL_TITLES = {
    SupportLevel.MANAGED: "Managed workstation",
    SupportLevel.MANAGED_WITHOUT_SUPPORT: "Managed workstation without support (teacher computer)",
    SupportLevel.ONE_TO_ONE: "1:1 (student computer)",
}

# The support level follows from the device's category in the inventory register.
SUPPORT_LEVEL_BY_CATEGORY: dict[str, SupportLevel] = {
    "workstation": SupportLevel.MANAGED,
    "teacher_computer": SupportLevel.MANAGED_WITHOUT_SUPPORT,
    "student_computer": SupportLevel.ONE_TO_ONE,
}


def support_level_of(category: str | None) -> SupportLevel | None:
    """The support level of a device category; None for equipment that is not a computer."""
    return SUPPORT_LEVEL_BY_CATEGORY.get(category or "")


class Owner(str, Enum):
    IT = "it"
    UNIT = "unit"
    UNIT_THEN_IT = "unit_then_it"  # the unit starts, IT continues with it


OWNER_TEXT = {
    Owner.IT: "IT",
    Owner.UNIT: "unit",
    Owner.UNIT_THEN_IT: "unit starts, IT helps",
}


class Matter(str, Enum):
    """What a ticket is about, in the terms of rule TK-7's lists."""

    NETWORK_ACCESS = "network_access"
    INTRANET_ACCESS = "intranet_access"
    ACCOUNT_AND_EMAIL = "account_and_email"
    STORAGE_ACCESS = "storage_access"
    SOFTWARE_PACKAGING = "software_packaging"
    PRINTING = "printing"
    USER_SUPPORT = "user_support"
    TROUBLESHOOTING = "troubleshooting"
    REINSTALLATION = "reinstallation"
    HARDWARE_FAULT = "hardware_fault"
    PROGRAM_INSTALLATION = "program_installation"


@dataclass(frozen=True)
class MatterRule:
    matter: Matter
    title: str
    owners: dict[SupportLevel, Owner]
    note: str = ""

    def owner(self, level: SupportLevel | None) -> Owner:
        # Without a known support level (no device, not a computer) IT owns the chain, as for level 1.
        return self.owners[level or SupportLevel.MANAGED]


M, W, O = SupportLevel.MANAGED, SupportLevel.MANAGED_WITHOUT_SUPPORT, SupportLevel.ONE_TO_ONE
IT, UNIT, UNIT_THEN_IT = Owner.IT, Owner.UNIT, Owner.UNIT_THEN_IT

# rule TK-7. Level 1: IT owns the whole chain. Levels 2 and 3: IT owns what its list names;
# the unit owns what the unit's list names. Interpretation: a matter on neither list of a level
# belongs to the unit's "user support" there (marked in the note).
RESPONSIBILITIES: tuple[MatterRule, ...] = (
    MatterRule(Matter.NETWORK_ACCESS, "Access to wifi, network, internet", {M: IT, W: IT, O: IT}),
    MatterRule(Matter.INTRANET_ACCESS, "Access to the intranet", {M: IT, W: IT, O: UNIT},
               "1:1: not on IT's list, so the unit's user support (interpretation)"),
    MatterRule(Matter.ACCOUNT_AND_EMAIL, "The user's account and e-mail", {M: IT, W: IT, O: IT}),
    MatterRule(Matter.STORAGE_ACCESS, "Access to G and P", {M: IT, W: IT, O: UNIT},
               "1:1: not on IT's list, so the unit's user support (interpretation)"),
    MatterRule(Matter.SOFTWARE_PACKAGING, "Software packaging for more than five installations",
               {M: IT, W: IT, O: UNIT}, "1:1: not on IT's list (interpretation)"),
    MatterRule(Matter.PRINTING, "Printing", {M: IT, W: IT, O: UNIT}),
    MatterRule(Matter.USER_SUPPORT, "User support", {M: IT, W: UNIT, O: UNIT}),
    MatterRule(Matter.TROUBLESHOOTING, "Troubleshooting", {M: IT, W: UNIT_THEN_IT, O: UNIT_THEN_IT},
               "the unit starts troubleshooting and continues with IT's help"),
    MatterRule(Matter.REINSTALLATION, "Reinstallation", {M: IT, W: UNIT, O: UNIT}, "1:1: reinstallation by USB"),
    MatterRule(Matter.HARDWARE_FAULT, "Reporting hardware faults", {M: IT, W: UNIT, O: UNIT}),
    MatterRule(Matter.PROGRAM_INSTALLATION, "Installing programs", {M: IT, W: UNIT, O: UNIT}),
)

RULE_BY_MATTER: dict[Matter, MatterRule] = {rule.matter: rule for rule in RESPONSIBILITIES}
assert set(RULE_BY_MATTER) == set(Matter), "every matter has a row in the responsibility table"


def owner_of(matter: Matter | None, level: SupportLevel | None) -> Owner:
    """Who owns `matter` under `level` (rule TK-7); an uncategorised ticket is IT's."""
    if matter is None:
        return Owner.IT
    return RULE_BY_MATTER[matter].owner(level)


def hand_back_reason(matter: Matter | None, level: SupportLevel | None,
                     unit_started_troubleshooting: bool = False) -> str | None:
    """Why the ticket goes back to the unit (rule TK-7), or None if IT handles it."""
    owner = owner_of(matter, level)
    if owner is Owner.IT or matter is None or level is None:
        return None
    rule = RULE_BY_MATTER[matter]
    level_title = SUPPORT_LEVEL_TITLES[level]
    if owner is Owner.UNIT_THEN_IT:
        if unit_started_troubleshooting:
            return None
        return (f"rule TK-7: on a {level_title} the unit starts troubleshooting and continues with IT's help; "
                "report again once the unit has started")
    return f"rule TK-7: on a {level_title} the unit owns '{rule.title.lower()}'"


def responsibility_table_markdown() -> str:
    """The TK-7 table for docs/tickets.md."""
    levels = list(SupportLevel)
    header = "| Matter (`matter`) | " + " | ".join(SUPPORT_LEVEL_TITLES[lv] for lv in levels) + " | Note |"
    lines = [header, "|" + "---|" * (len(levels) + 2)]
    for rule in RESPONSIBILITIES:
        cells = " | ".join(OWNER_TEXT[rule.owners[lv]] for lv in levels)
        lines.append(f"| {rule.title} (`{rule.matter.value}`) | {cells} | {rule.note} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(responsibility_table_markdown())

"""Which groups of participants a synthesis may show apart, so that nobody is singled out.

The synthesis promises no names, but a figure « per category » is a figure about a
person when the category holds one or two people: with one élu in the room, the élus'
mean *is* that élu's rating, and their « demandes » are that élu's words. So every
per-category part of a synthesis (participants, the category question, factor means,
the Agora texts) shows only groups of at least ``MIN_GROUP`` people, in every format:

1. categories with fewer than ``MIN_GROUP`` people are merged into « Autres catégories »;
2. if that group itself holds fewer than ``MIN_GROUP`` people, the smallest category
   still shown (the last of them in the questionnaire's order, on a tie) joins it.
   Merging rather than dropping keeps the breakdown for everyone else, and it is safe:
   the groups shown are then a partition of the room in which each holds at least
   ``MIN_GROUP`` people, so no figure, and no difference between two figures (or
   between a group and the whole room), describes fewer than ``MIN_GROUP`` people;
3. if nothing would remain but « Autres catégories », it is the whole room: the
   breakdown says nothing the overall figures do not, and with fewer than
   ``MIN_GROUP`` people it would describe one or two of them. The breakdown is then
   dropped for that part, and the documents say « trop peu de participants par
   catégorie pour les distinguer ».

The grouping is decided per part, from the people that part counts (everyone for the
participants and the Agora, those who rated factors for factor means), because a
category of five of whom one rated the factors would otherwise show that one's ratings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

MIN_GROUP = 3
"""The fewest people a per-category figure may describe."""

OTHERS = "autres_categories"
"""Id of the merged group (never a category's own id: ``autre`` is one)."""

EVERYONE = "ensemble"
"""Id of the one Agora group when the breakdown is dropped."""


@dataclass(frozen=True, slots=True)
class GroupLabels:
    """The labels of groups that are not a category of the questionnaire, from the
    catalogue (``workshop.synthesis.*`` in bot/texts.fr.yaml)."""

    unknown: str  # people who have not said their category yet
    others: str  # the merged small categories
    everyone: str  # all participants, when no breakdown can be shown

    @classmethod
    def from_texts(cls, texts: Callable[..., str]) -> GroupLabels:
        """From the workshop texts (``texts.scoped("workshop")``)."""
        return cls(texts("synthesis.unknown_category"), texts("synthesis.other_categories"),
                   texts("synthesis.everyone"))


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    label: str
    members: frozenset[str]  # category ids
    count: int


@dataclass(frozen=True, slots=True)
class Grouping:
    """The groups one part may show, in the questionnaire's order, « Autres » last;
    none when the breakdown is dropped (or nobody is counted)."""

    groups: tuple[Group, ...]


def group_categories(counts: Sequence[tuple[str, str, int]], others_label: str) -> Grouping:
    """``counts``: (category id, label, people) in the questionnaire's order."""
    present = [(c, label, n) for c, label, n in counts if n > 0]
    shown = [entry for entry in present if entry[2] >= MIN_GROUP]
    merged = [entry for entry in present if entry[2] < MIN_GROUP]
    if merged and sum(n for *_, n in merged) < MIN_GROUP and shown:
        smallest = min(reversed(shown), key=lambda entry: entry[2])
        shown.remove(smallest)
        merged.append(smallest)
    if merged and not shown:
        return Grouping(())
    groups = [Group(c, label, frozenset({c}), n) for c, label, n in shown]
    if merged:
        groups.append(Group(OTHERS, others_label, frozenset(c for c, *_ in merged),
                            sum(n for *_, n in merged)))
    return Grouping(tuple(groups))

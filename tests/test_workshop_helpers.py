"""A workshop run through the console channel, shared by the workshop and privacy tests.

``run_workshop`` has a facilitator create a workshop with ``/atelier`` and twelve
participants from four actor categories answer the pre-workshop questionnaire,
exactly as they would type it. ``ANSWERS`` is what they typed, so tests compute
the expected synthesis from it independently of the code under test.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.core import Assistant
from tests.conftest import ConsoleUser

CODE = re.compile(r"\b([2-9A-HJKMNP-Z]{3}-[2-9A-HJKMNP-Z]{3}-[2-9A-HJKMNP-Z]{3})\b")
CATEGORY_NUMBER = {"elu": 1, "agent": 2, "acteur_eco": 3, "agent_etat": 4, "citoyen": 5,
                   "entreprise": 6, "autre": 7}
RELATION_NUMBER = {"distante": 1, "prestation": 2, "quasi_delegation": 3, "partenariat": 4,
                   "cooperation": 5, "ne_sait_pas": 6}
FACTORS = ("valeur", "gouvernance", "confiance", "proximite_sociale", "historique",
           "moyens_humains")
FAMILY = dict(zip(FACTORS, ("individuels", "structurels", "relationnels", "sociaux",
                            "contextuels", "organisationnels"), strict=True))
HOSTILE = "<script>alert(1)</script> **gras** =SOMME(A1:A9) | [lien](http://x)"


@dataclass(frozen=True)
class Person:
    name: str
    category: str
    relation: str
    expects: str
    obstacle: str
    asks: str
    commits: str
    ratings: tuple[int, ...] | None  # six factor ratings, or None when they decline


ANSWERS: tuple[Person, ...] = (
    Person("elu1", "elu", "prestation", "Connaître les associations du territoire",
           "Les marchés publics trop rigides", "Que les associations viennent au conseil",
           "Ouvrir les commissions aux associations", (2, 3, 2, 3, 2, 1)),
    Person("elu2", "elu", "partenariat", "Un projet commun pour la friche",
           "Le manque de temps des élus", "Des propositions chiffrées",
           "Présenter le projet au conseil communautaire", (3, 3, 3, 4, 2, 2)),
    Person("elu3", "elu", "prestation", "Comprendre l'ESS",
           HOSTILE, "Plus de transparence des agents",
           "Nommer un élu référent ESS", None),
    Person("agent1", "agent", "distante", "Des contacts",
           "Les appels à projets mal ajustés", "Que les élus fixent un cap clair",
           "Tenir un annuaire des acteurs", (1, 2, 2, 3, 1, 1)),
    Person("agent2", "agent", "prestation", "Sortir des silos",
           "Les silos entre services", "Que l'ESS explique ses contraintes",
           "Faciliter l'accès aux salles", (2, 2, 3, 3, 2, 2)),
    Person("agent3", "agent", "quasi_delegation", "Des méthodes d'animation",
           "Le jargon administratif", "Que l'État simplifie les dossiers",
           "Relire les cahiers des charges avec l'ESS", (2, 1, 2, 2, 3, 2)),
    Person("agent4", "agent", "ne_sait_pas", "Je ne sais pas encore",
           "La peur de perdre la main", "Du temps pour se former",
           "Participer aux groupes de pairs", None),
    Person("ess1", "acteur_eco", "distante", "Être reconnus comme acteurs économiques",
           "L'association n'est pas vue comme acteur économique",
           "Que la collectivité nous consulte en amont", "Partager nos données d'activité",
           (4, 2, 1, 3, 2, 1)),
    Person("ess2", "acteur_eco", "prestation", "Des financements pluriannuels",
           "Le financement au projet plutôt qu'au fonctionnement",
           "Des conventions sur trois ans", "Co-construire un tiers-lieu", (4, 3, 2, 4, 3, 3)),
    Person("ess3", "acteur_eco", "cooperation", "Consolider la coopération existante",
           "Les jeux de pouvoir", "Un tiers facilitateur",
           "Animer un groupe de travail mensuel", (3, 3, 4, 4, 3, 4)),
    Person("cit1", "citoyen", "distante", "Être écouté",
           "Les décisions déjà prises avant la concertation",
           "Des comptes rendus publics", "Relayer auprès des habitants", (3, 1, 1, 2, 2, 1)),
    Person("cit2", "citoyen", "ne_sait_pas", "Comprendre qui fait quoi",
           "On ne sait pas à qui s'adresser", "Un interlocuteur identifié",
           "Venir aux ateliers suivants", None),
)


def typed_answers(person: Person) -> list[str]:
    lines = [str(CATEGORY_NUMBER[person.category]), "/passer", person.expects,
             str(RELATION_NUMBER[person.relation]), person.obstacle, person.asks,
             person.commits]
    # « valider » answers the recap shown after the last question (issue 14).
    if person.ratings is None:
        return [*lines, "non", "valider"]
    return [*lines, "oui", *(str(r) for r in person.ratings), "valider"]


@dataclass
class Workshop:
    code: str
    facilitator: ConsoleUser
    people: dict[str, ConsoleUser]


async def create_workshop(assistant: Assistant, name: str = "anim",
                          title: str = "Fresque de l'engagement local, Crest") -> Workshop:
    facilitator = ConsoleUser(assistant, name)
    await facilitator.say("/atelier")
    assert "titre" in facilitator.text()
    await facilitator.say(title)
    replies = facilitator.last
    assert replies[-1].choices, "the questionnaire is offered as numbered choices"
    await facilitator.say("1")
    found = CODE.search(facilitator.text())
    assert found, facilitator.text()
    return Workshop(found.group(1), facilitator, {})


async def run_workshop(assistant: Assistant, people: tuple[Person, ...] = ANSWERS) -> Workshop:
    workshop = await create_workshop(assistant)
    for person in people:
        user = ConsoleUser(assistant, person.name)
        await user.say(f"/rejoindre {workshop.code}")
        for line in typed_answers(person):
            await user.say(line)
        assert "Merci" in user.text(), (person.name, user.text())
        workshop.people[person.name] = user
    return workshop


async def synthesis_json(user: ConsoleUser, code: str) -> dict[str, Any] | None:
    replies = await user.say(f"/synthese {code} json")
    files = [r.file for r in replies if r.file is not None]
    return json.loads(files[0].content) if files else None

"""Loading and validating the knowledge base (``knowledge/content/*.yaml``).

Content is edited by people who are not developers: every problem names the file,
the line and the entry, and ``check_knowledge`` lists all of them at once for
``coopbot check``. Files whose name starts with ``_`` are settings (lexicon, allowed
link domains), not entries.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from flows.yamlsource import ContentError, line_of, load_yaml
from knowledge.matcher import Matcher
from knowledge.model import KINDS, Entry, KbResult, Link
from knowledge.normalise import Normaliser

CONTENT_DIR = Path(__file__).parent / "content"
ANSWER_MAX = 700
_ID = re.compile(r"^(forme|dispositif|contact|outil|notion)/[a-z0-9][a-z0-9-]{0,47}$")
_ENTRY_KEYS = {
    "id",
    "kind",
    "title",
    "short",
    "questions",
    "keywords",
    "answer",
    "details",
    "links",
    "see_also",
    "sources",
}


class KnowledgeBase:
    """All entries, loaded once; ``ask`` answers in well under a millisecond."""

    def __init__(self, entries: list[Entry], normaliser: Normaliser) -> None:
        self.entries: tuple[Entry, ...] = tuple(entries)
        self._by_id = {entry.id: entry for entry in self.entries}
        self.normaliser = normaliser
        self.matcher = Matcher(self.entries, normaliser)

    def get(self, entry_id: str) -> Entry | None:
        return self._by_id.get(entry_id)

    def ask(self, question: str, top: int = 3) -> KbResult:
        return self.matcher.ask(question, top=top)


def load_knowledge(path: Path | None = None) -> KnowledgeBase:
    """Load and validate; the first problem raises a ``ContentError``."""
    entries, normaliser, problems = _load(path or CONTENT_DIR)
    if problems:
        raise problems[0]
    return KnowledgeBase(entries, normaliser)


def check_knowledge(path: Path | None = None) -> list[ContentError]:
    """Every problem in the content, for ``coopbot check`` (empty list: all good)."""
    return _load(path or CONTENT_DIR)[2]


def _load(directory: Path) -> tuple[list[Entry], Normaliser, list[ContentError]]:
    problems: list[ContentError] = []
    lexicon = _read_settings(directory / "_lexique.yaml", problems)
    abbreviations = lexicon.get("abreviations") or {}
    stop_words = lexicon.get("mots_vides") or []
    if not isinstance(abbreviations, dict) or not isinstance(stop_words, list):
        problems.append(
            ContentError(
                str(directory / "_lexique.yaml"),
                0,
                "",
                "« abreviations » doit être un bloc et « mots_vides » une liste.",
            )
        )
        abbreviations, stop_words = {}, []
    if any(isinstance(w, bool) for w in stop_words) or any(
        isinstance(v, bool) for v in abbreviations.values()
    ):
        problems.append(
            ContentError(
                str(directory / "_lexique.yaml"),
                0,
                "",
                "on, off, yes ou no sans guillemets sont lus comme vrai/faux : "
                "écrivez-les entre guillemets ('on').",
            )
        )
    normaliser = Normaliser.from_lexicon(
        {str(k): str(v) for k, v in abbreviations.items()}, [str(w) for w in stop_words]
    )
    domains_data = _read_settings(directory / "_domains.yaml", problems)
    domains = tuple(str(d).lower() for d in domains_data.get("domaines") or ())

    entries: list[Entry] = []
    seen: dict[str, str] = {}
    files = sorted(p for p in directory.glob("*.yaml") if not p.name.startswith("_"))
    if not files:
        problems.append(ContentError(str(directory), 0, "", "aucun fichier de fiches (*.yaml)."))
    for file in files:
        try:
            data = load_yaml(file)
        except ContentError as exc:
            problems.append(exc)
            continue
        if not isinstance(data, list):
            problems.append(
                ContentError(str(file), 0, "", "le fichier doit contenir une liste de fiches.")
            )
            continue
        for raw in data:
            raw_id = str(raw.get("id") or "").strip() if isinstance(raw, dict) else ""
            if raw_id and raw_id in seen:
                problems.append(
                    ContentError(
                        str(file),
                        line_of(raw),
                        f"fiche « {raw_id} »",
                        f"identifiant déjà utilisé dans {seen[raw_id]}.",
                    )
                )
                continue
            if raw_id:
                seen[raw_id] = str(file)
            entry = _parse_entry(raw, str(file), domains, problems)
            if entry is not None:
                entries.append(entry)
    for entry in entries:
        for other in entry.see_also:
            if other not in seen:
                problems.append(
                    ContentError(
                        entry.path,
                        entry.line,
                        f"fiche « {entry.id} »",
                        f"« see_also » cite « {other} », qui n'existe pas.",
                    )
                )
    return entries, normaliser, problems


def _read_settings(path: Path, problems: list[ContentError]) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = load_yaml(path)
    except ContentError as exc:
        problems.append(exc)
        return {}
    if not isinstance(data, dict):
        problems.append(
            ContentError(str(path), 0, "", "le fichier doit contenir des blocs clé: valeur.")
        )
        return {}
    return data


def _parse_entry(
    raw: Any, path: str, domains: tuple[str, ...], problems: list[ContentError]
) -> Entry | None:
    if not isinstance(raw, dict):
        problems.append(
            ContentError(
                path, line_of(raw), "", "chaque fiche doit être un bloc (id, kind, title…)."
            )
        )
        return None
    line = line_of(raw)
    entry_id = str(raw.get("id") or "").strip()
    where = f"fiche « {entry_id} »" if entry_id else "fiche sans id"
    before = len(problems)

    def fail(problem: str) -> None:
        problems.append(ContentError(path, line, where, problem))

    for key in sorted(set(raw) - _ENTRY_KEYS):
        fail(f"clé inconnue « {key} » (clés possibles : {', '.join(sorted(_ENTRY_KEYS))}).")
    if not _ID.match(entry_id):
        fail("« id » doit être de la forme type/nom (par exemple forme/scic), en minuscules.")
    kind = str(raw.get("kind") or "")
    if kind not in KINDS:
        fail(f"« kind » doit valoir {', '.join(KINDS)}.")
    elif entry_id and not entry_id.startswith(kind + "/"):
        fail(f"l'id doit commencer par « {kind}/ », comme son « kind ».")
    title = _text(raw, "title", fail, required=True)
    answer = _text(raw, "answer", fail, required=True)
    if len(answer) >= ANSWER_MAX:
        fail(
            f"la réponse fait {len(answer)} caractères ; elle doit rester sous {ANSWER_MAX} "
            "(mettez la suite dans « details »)."
        )
    questions = _texts(raw, "questions", fail)
    if len(questions) < 2:
        fail("donnez au moins deux « questions » (façons dont les gens la posent).")
    keywords = _texts(raw, "keywords", fail)
    sources = _texts(raw, "sources", fail)
    if not sources:
        fail("au moins une source est obligatoire (« sources »).")
    see_also = _texts(raw, "see_also", fail)
    links = _links(raw.get("links"), domains, fail)
    if len(problems) > before:
        return None
    return Entry(
        id=entry_id,
        kind=kind,
        title=title,
        answer=answer,
        short=_text(raw, "short", fail),
        questions=questions,
        keywords=keywords,
        details=_text(raw, "details", fail),
        links=links,
        see_also=see_also,
        sources=sources,
        path=path,
        line=line,
    )


def _text(raw: dict, key: str, fail: Any, required: bool = False) -> str:
    value = raw.get(key)
    if value is None or value == "":
        if required:
            fail(f"« {key} » est obligatoire.")
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        fail(f"« {key} » doit être un texte.")
        return ""
    return str(value).strip()


def _texts(raw: dict, key: str, fail: Any) -> tuple[str, ...]:
    value = raw.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        fail(f"« {key} » doit être une liste de textes.")
        return ()
    if any(isinstance(v, bool) for v in value):
        fail(
            f"« {key} » contient on, off, yes ou no sans guillemets : écrivez-les entre guillemets."
        )
        return ()
    return tuple(str(v).strip() for v in value if str(v).strip())


def _links(value: Any, domains: tuple[str, ...], fail: Any) -> tuple[Link, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        fail("« links » doit être une liste de {title, url}.")
        return ()
    links: list[Link] = []
    for item in value:
        if not isinstance(item, dict) or not item.get("title") or not item.get("url"):
            fail("chaque lien demande « title » et « url ».")
            continue
        url = str(item["url"]).strip()
        host = (urlparse(url).hostname or "").lower()
        if not url.startswith("https://") or not host:
            fail(f"le lien « {url} » doit commencer par https://.")
            continue
        if not any(_host_in(host, domain) for domain in domains):
            fail(f"le site « {host} » n'est pas dans _domains.yaml, la liste des sites publics "
                 "autorisés dans les liens : ajoutez-le là s'il s'agit d'un site officiel.")
            continue
        links.append(Link(title=str(item["title"]).strip(), url=url))
    return tuple(links)


def _host_in(host: str, domain: str) -> bool:
    host = host.removeprefix("www.")
    return host == domain or host.endswith("." + domain)


def iter_problems(path: Path | None = None) -> Iterator[str]:
    """Problems as printable French lines (convenience for command-line tools)."""
    for problem in check_knowledge(path):
        yield str(problem)

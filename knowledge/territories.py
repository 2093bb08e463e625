"""The regional directory (``knowledge/territories.fr.yaml``) as typed values.

« Qui contacter ? » depends on where the person is: the CRESS, the regional DLA, the
union of Scop and Scic, the France Active association are regional bodies. The file
is edited by hand from public sources; it is read and checked once at start, and a
mistake names the file and the line, as for the knowledge base, so that its editor
can fix it without reading Python. What the file leaves out (a body whose site could
not be confirmed) stays out: nothing here fills a gap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.yamlsource import ContentError, line_of, load_yaml

TERRITORIES_FILE = Path(__file__).parent / "territories.fr.yaml"

CONTACT_KINDS = ("cress", "dla_regional", "dla_directory", "urscop", "france_active")
"""What a region may list, in the order answers give them."""
LIST_KINDS = frozenset({"france_active"})
NATIONAL_KINDS = frozenset({"dla_directory", "cress_directory", "urscop_directory",
                            "france_active_directory", "france_active_network"})
_CONTACT_KEYS = frozenset({"name", "url", "source", "covers", "departments", "territory"})
_REGION_KEYS = frozenset({"id", "name", "aliases", "departments", "contacts"})


@dataclass(frozen=True, slots=True)
class Contact:
    """One regional (or national) body, with the public page that confirmed it."""

    kind: str
    name: str
    url: str
    source: str
    departments: tuple[str, ...] = ()
    """Empty: the whole region; else only these department codes."""
    territory: str = ""
    covers: tuple[str, ...] = ()

    def serves(self, department: str | None) -> bool:
        return not self.departments or department in self.departments


@dataclass(frozen=True, slots=True)
class Department:
    code: str
    name: str
    region_id: str


@dataclass(frozen=True, slots=True)
class Region:
    id: str
    name: str
    aliases: tuple[str, ...]
    departments: tuple[Department, ...]
    contacts: tuple[Contact, ...]
    line: int = 0

    def contacts_of(self, kind: str) -> tuple[Contact, ...]:
        return tuple(c for c in self.contacts if c.kind == kind)


@dataclass(frozen=True, slots=True)
class Place:
    """Where a person is: a region, and their department when they gave one."""

    region: Region
    department: Department | None = None

    @property
    def key(self) -> str:
        """What is stored: the department code, else the region id."""
        return self.department.code if self.department else self.region.id

    @property
    def label(self) -> str:
        if self.department is None:
            return self.region.name
        return f"{self.department.name} ({self.department.code})"


@dataclass(frozen=True)
class Territories:
    regions: tuple[Region, ...]
    national: Mapping[str, Contact]
    checked: str
    path: str = ""
    _regions: dict[str, Region] = field(default_factory=dict, repr=False, compare=False)
    _departments: dict[str, Department] = field(default_factory=dict, repr=False,
                                                compare=False)

    def __post_init__(self) -> None:
        self._regions.update({r.id: r for r in self.regions})
        self._departments.update({d.code: d for r in self.regions for d in r.departments})

    def region(self, region_id: str) -> Region | None:
        return self._regions.get(region_id)

    def department(self, code: str) -> Department | None:
        return self._departments.get(code)

    def place(self, key: str | None) -> Place | None:
        """The stored key back as a place (None if the file no longer knows it)."""
        if not key:
            return None
        department = self._departments.get(key)
        if department is not None:
            return Place(self._regions[department.region_id], department)
        region = self._regions.get(key)
        return Place(region) if region is not None else None


def load_territories(path: Path | None = None) -> Territories:
    """Read and check the directory; the first problem raises a ``ContentError``."""
    found, problems = _load(path or TERRITORIES_FILE)
    if problems or found is None:
        raise problems[0]
    return found


def check_territories(path: Path | None = None) -> list[ContentError]:
    """Every problem in the directory (empty list: all good), for ``coopbot check``."""
    return _load(path or TERRITORIES_FILE)[1]


class _Problems:
    def __init__(self, path: str) -> None:
        self.path = path
        self.found: list[ContentError] = []

    def add(self, raw: Any, where: str, problem: str, line: int = 0) -> None:
        self.found.append(ContentError(self.path, line or line_of(raw), where, problem))


def _load(path: Path) -> tuple[Territories | None, list[ContentError]]:
    try:
        data = load_yaml(path)
    except ContentError as exc:
        return None, [exc]
    report = _Problems(str(path))
    if not isinstance(data, dict):
        report.add(data, "", "le fichier doit contenir « version », « regions » et « national ».")
        return None, report.found
    if data.get("version") != 1:
        report.add(data, "", "« version » doit valoir 1.")
    raw_regions = data.get("regions")
    if not isinstance(raw_regions, list) or not raw_regions:
        report.add(data, "", "« regions » doit être une liste de régions.")
        return None, report.found
    regions = [r for r in (_region(raw, report) for raw in raw_regions) if r is not None]
    _cross_check(regions, raw_regions, report)
    national = _national(data.get("national"), data, report)
    if report.found:
        return None, report.found
    return Territories(tuple(regions), national, str(data.get("checked") or ""),
                       str(path)), []


def _region(raw: Any, report: _Problems) -> Region | None:
    if not isinstance(raw, dict):
        report.add(raw, "", "chaque région doit être un bloc (id, name, departments, contacts).")
        return None
    region_id = str(raw.get("id") or "").strip()
    where = f"région « {region_id} »" if region_id else "région sans id"
    before = len(report.found)
    for key in sorted(set(raw) - _REGION_KEYS):
        report.add(raw, where, f"clé inconnue « {key} » "
                   f"(clés possibles : {', '.join(sorted(_REGION_KEYS))}).")
    for key in ("id", "name"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            report.add(raw, where, f"« {key} » est obligatoire.")
    aliases = raw.get("aliases") or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        report.add(raw, where, "« aliases » doit être une liste de textes entre guillemets.")
        aliases = []
    departments = _departments(raw.get("departments"), raw, region_id, where, report)
    contacts = _contacts(raw.get("contacts"), raw, where, report)
    if len(report.found) > before:
        return None
    return Region(region_id, str(raw["name"]).strip(), tuple(a.strip() for a in aliases),
                  departments, contacts, line_of(raw))


def _departments(value: Any, parent: Any, region_id: str, where: str,
                 report: _Problems) -> tuple[Department, ...]:
    if not isinstance(value, list) or not value:
        report.add(parent, where, "« departments » doit lister les départements "
                   "({code: \"35\", name: \"Ille-et-Vilaine\"}).")
        return ()
    found: list[Department] = []
    for item in value:
        code, name = (item.get("code"), item.get("name")) if isinstance(item, dict) else (0, 0)
        if not isinstance(code, str) or not isinstance(name, str) or not name.strip():
            report.add(item, where, "chaque département demande « code » (entre guillemets, "
                       "\"01\") et « name ».", line=line_of(item) or line_of(parent))
            continue
        found.append(Department(code.strip().upper(), name.strip(), region_id))
    return tuple(found)


def _contacts(value: Any, parent: Any, where: str, report: _Problems) -> tuple[Contact, ...]:
    if not isinstance(value, dict):
        report.add(parent, where, "« contacts » doit être un bloc (écrivez {} s'il est vide).")
        return ()
    found: list[Contact] = []
    for kind, entry in value.items():
        if kind not in CONTACT_KINDS:
            report.add(value, where, f"organisme inconnu « {kind} » "
                       f"(possibles : {', '.join(CONTACT_KINDS)}).")
            continue
        if kind in LIST_KINDS:
            if not isinstance(entry, list) or not entry:
                report.add(value, where, f"« {kind} » doit être une liste d'organismes.")
                continue
            found += [c for e in entry if (c := _contact(kind, e, value, where, report))]
        elif (contact := _contact(kind, entry, value, where, report)) is not None:
            found.append(contact)
    return tuple(found)


def _contact(kind: str, raw: Any, parent: Any, where: str, report: _Problems) -> Contact | None:
    place = f"{where}, {kind}"
    if not isinstance(raw, dict):
        report.add(parent, place, "un organisme est un bloc (name, url, source).")
        return None
    before = len(report.found)
    for key in sorted(set(raw) - _CONTACT_KEYS):
        report.add(raw, place, f"clé inconnue « {key} » "
                   f"(clés possibles : {', '.join(sorted(_CONTACT_KEYS))}).")
    for key in ("name", "url", "source"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            report.add(raw, place, f"« {key} » est obligatoire (un organisme non confirmé "
                       "par une source publique est omis, jamais deviné).")
    url = str(raw.get("url") or "").strip()
    if url and (not url.startswith("https://") or any(c.isspace() for c in url)):
        report.add(raw, place, f"l'adresse « {url} » doit commencer par https:// "
                   "et ne contenir aucune espace.")
    lists = {key: raw.get(key) or [] for key in ("departments", "covers")}
    for key, items in lists.items():
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            report.add(raw, place, f"« {key} » doit être une liste de textes entre guillemets.")
    if len(report.found) > before:
        return None
    return Contact(kind, raw["name"].strip(), url, raw["source"].strip(),
                   tuple(lists["departments"]), str(raw.get("territory") or "").strip(),
                   tuple(lists["covers"]))


def _cross_check(regions: list[Region], raw_regions: list[Any], report: _Problems) -> None:
    """Ids and codes unique; ``covers`` and ``departments`` point at what exists."""
    lines = {str(r.get("id")): line_of(r) for r in raw_regions if isinstance(r, dict)}
    ids: set[str] = set()
    codes: dict[str, str] = {}
    for region in regions:
        where = f"région « {region.id} »"
        if region.id in ids:
            report.add(None, where, "identifiant de région déjà utilisé.", line=region.line)
        ids.add(region.id)
        for dept in region.departments:
            if dept.code in codes:
                report.add(None, where, f"le département {dept.code} est déjà dans "
                           f"« {codes[dept.code]} ».", line=region.line)
            codes[dept.code] = region.id
    for region in regions:
        own = {d.code for d in region.departments}
        for contact in region.contacts:
            where = f"région « {region.id} », {contact.kind}"
            if set(contact.covers) - ids:
                report.add(None, where, "« covers » cite des régions inconnues : "
                           f"{', '.join(sorted(set(contact.covers) - ids))}.",
                           line=lines.get(region.id, 0))
            if set(contact.departments) - own:
                report.add(None, where, "« departments » cite des départements d'une autre "
                           f"région : {', '.join(sorted(set(contact.departments) - own))}.",
                           line=lines.get(region.id, 0))


def _national(value: Any, parent: Any, report: _Problems) -> dict[str, Contact]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        report.add(parent, "national", "« national » doit être un bloc d'organismes.")
        return {}
    found: dict[str, Contact] = {}
    for kind, raw in value.items():
        if kind not in NATIONAL_KINDS:
            report.add(value, "national", f"annuaire inconnu « {kind} » "
                       f"(possibles : {', '.join(sorted(NATIONAL_KINDS))}).")
        elif (contact := _contact(kind, raw, value, "national", report)) is not None:
            found[kind] = contact
    return found

"""The regional directory (knowledge/territories.fr.yaml) is complete and well formed.

Checks the data only, not how the chat uses it: 18 regions, each of the 101
departments in exactly one region, every contact with a name, an https address
and a source, and every cross-reference (``covers``, ``departments``) pointing at
something that exists.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
import yaml

DATA = Path(__file__).resolve().parent.parent / "knowledge" / "territories.fr.yaml"

CONTACT_KINDS = {"cress", "dla_regional", "dla_directory", "urscop", "france_active"}
LIST_KINDS = {"france_active"}
NATIONAL_KINDS = {
    "dla_directory",
    "cress_directory",
    "urscop_directory",
    "france_active_directory",
    "france_active_network",
}
CONTACT_KEYS = {"name", "url", "source", "covers", "departments", "territory"}

ID_RE = re.compile(r"^[a-z]+(?:-[a-z]+)*$")
ALIAS_RE = re.compile(r"^[a-z0-9' -]+$")
# A French phone number (0X XX XX XX XX, with or without separators, or +33…).
PHONE_RE = re.compile(r"(?:\+33|\b0)[1-9](?:[ .-]?\d{2}){4}\b")


def _expected_codes() -> set[str]:
    codes = {f"{n:02d}" for n in range(1, 96) if n != 20}
    codes |= {"2A", "2B"}
    # 975 is Saint-Pierre-et-Miquelon: an overseas collectivity, not a department.
    codes |= {"971", "972", "973", "974", "976"}
    return codes


@pytest.fixture(scope="module")
def data() -> dict:
    with DATA.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def regions(data: dict) -> list[dict]:
    return data["regions"]


def _contacts(region: dict) -> list[tuple[str, dict]]:
    """Every contact of a region as (kind, entry); list kinds are flattened."""
    out = []
    for kind, value in (region.get("contacts") or {}).items():
        if kind in LIST_KINDS:
            out.extend((kind, entry) for entry in value)
        else:
            out.append((kind, value))
    return out


def _all_entries(data: dict) -> list[tuple[str, dict]]:
    entries = []
    for region in data["regions"]:
        entries.extend((f"{region['id']}.{kind}", e) for kind, e in _contacts(region))
    entries.extend((f"national.{kind}", e) for kind, e in (data.get("national") or {}).items())
    return entries


def test_header(data: dict) -> None:
    assert data["version"] == 1
    assert isinstance(data["checked"], datetime.date)


def test_eighteen_regions(regions: list[dict]) -> None:
    assert len(regions) == 18


def test_region_ids_unique_and_well_formed(regions: list[dict]) -> None:
    ids = [r["id"] for r in regions]
    assert len(ids) == len(set(ids))
    for rid in ids:
        assert ID_RE.match(rid), rid


def test_region_names_non_empty(regions: list[dict]) -> None:
    for region in regions:
        assert isinstance(region["name"], str) and region["name"].strip(), region["id"]


def test_aliases_unique_lowercase_ascii(regions: list[dict]) -> None:
    ids = {r["id"] for r in regions}
    seen: dict[str, str] = {}
    for region in regions:
        for alias in region.get("aliases") or []:
            assert isinstance(alias, str) and alias == alias.strip(), (region["id"], alias)
            assert ALIAS_RE.match(alias), (region["id"], alias)
            assert alias not in seen, f"alias {alias!r} in {seen.get(alias)} and {region['id']}"
            assert alias not in ids - {region["id"]}, (region["id"], alias)
            seen[alias] = region["id"]


def test_every_department_exactly_once(regions: list[dict]) -> None:
    codes = [d["code"] for r in regions for d in r["departments"]]
    assert all(isinstance(c, str) for c in codes), "department codes must be strings"
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    assert not duplicates, duplicates
    assert set(codes) == _expected_codes()
    assert len(codes) == 101


def test_department_names_non_empty(regions: list[dict]) -> None:
    for region in regions:
        assert region["departments"], region["id"]
        for dept in region["departments"]:
            assert isinstance(dept["name"], str) and dept["name"].strip(), dept


def test_contact_kinds_known(regions: list[dict]) -> None:
    for region in regions:
        contacts = region.get("contacts")
        assert isinstance(contacts, dict), region["id"]
        assert set(contacts) <= CONTACT_KINDS, (region["id"], set(contacts) - CONTACT_KINDS)
        for kind in LIST_KINDS & set(contacts):
            assert isinstance(contacts[kind], list) and contacts[kind], (region["id"], kind)


def test_national_kinds_known(data: dict) -> None:
    assert set(data.get("national") or {}) <= NATIONAL_KINDS


def test_every_contact_has_name_url_source(data: dict) -> None:
    for where, entry in _all_entries(data):
        assert isinstance(entry, dict), where
        assert set(entry) <= CONTACT_KEYS, (where, set(entry) - CONTACT_KEYS)
        for key in ("name", "url", "source"):
            value = entry.get(key)
            assert isinstance(value, str) and value.strip(), (where, key)


def test_urls_https_without_spaces(data: dict) -> None:
    for where, entry in _all_entries(data):
        url = entry["url"]
        assert url.startswith("https://"), (where, url)
        assert not re.search(r"\s", url), (where, url)
        assert len(url) > len("https://") + 3, (where, url)


def test_no_phone_numbers(data: dict) -> None:
    for where, entry in _all_entries(data):
        for key in ("name", "source", "territory"):
            text = entry.get(key) or ""
            assert not PHONE_RE.search(text), (where, key, text)


def test_covers_refer_to_existing_regions(regions: list[dict]) -> None:
    ids = {r["id"] for r in regions}
    for region in regions:
        for kind, entry in _contacts(region):
            covers = entry.get("covers")
            if covers is None:
                continue
            assert kind == "urscop", (region["id"], kind)
            assert covers and set(covers) <= ids, (region["id"], set(covers) - ids)
            assert region["id"] in covers, f"{region['id']}: its URSCOP must cover it"
            assert len(covers) == len(set(covers)), region["id"]


def test_same_union_same_coverage(regions: list[dict]) -> None:
    """A union listed in several regions says the same thing everywhere."""
    by_url: dict[str, tuple[str, set[str], str]] = {}
    for region in regions:
        union = (region.get("contacts") or {}).get("urscop")
        if not union:
            continue
        key = union["url"]
        covers = set(union.get("covers") or [])
        if key in by_url:
            name, other, where = by_url[key]
            assert union["name"] == name, (region["id"], where)
            assert covers == other, (region["id"], where)
        else:
            by_url[key] = (union["name"], covers, region["id"])


def test_covered_regions_list_the_union(regions: list[dict]) -> None:
    """If a union says it covers a region, that region lists it."""
    by_id = {r["id"]: r for r in regions}
    for region in regions:
        union = (region.get("contacts") or {}).get("urscop")
        if not union:
            continue
        for other in union.get("covers") or []:
            theirs = (by_id[other].get("contacts") or {}).get("urscop")
            assert theirs and theirs["url"] == union["url"], (region["id"], other)


def test_contact_departments_belong_to_the_region(regions: list[dict]) -> None:
    for region in regions:
        own = {d["code"] for d in region["departments"]}
        for kind, entry in _contacts(region):
            depts = entry.get("departments")
            if depts is None:
                continue
            assert depts and all(isinstance(c, str) for c in depts), (region["id"], kind)
            assert set(depts) <= own, (region["id"], kind, set(depts) - own)


def test_france_active_departments_do_not_overlap(regions: list[dict]) -> None:
    for region in regions:
        entries = (region.get("contacts") or {}).get("france_active") or []
        seen: set[str] = set()
        for entry in entries:
            depts = set(entry.get("departments") or [])
            assert not depts & seen, (region["id"], depts & seen)
            seen |= depts

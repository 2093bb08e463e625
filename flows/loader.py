"""Reading flow files: every problem names the file, the question and the line.

Content editors are not developers; « cadrage.yaml, ligne 42 (question « niveau ») :
type « echelle » inconnu » saves them a search.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from flows.folding import strip_accents
from flows.model import (
    STEP_TYPES,
    TEXT_MAX_DEFAULT,
    Condition,
    Flow,
    Option,
    Step,
    condition_text,
)
from flows.yamlsource import ContentError, LineDict, line_of, load_yaml

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,23}$")
_FLOW_ID = re.compile(r"^[a-z][a-z0-9_-]{0,15}$")

def load_flow(path: Path) -> Flow:
    """Read and validate one flow file; every problem names the file, step and line."""
    data = load_yaml(path)
    version = hashlib.sha256(path.read_bytes()).hexdigest()[:6]
    return parse_flow(data, str(path), version)


def parse_flow(data: Any, path: str, version: str) -> Flow:
    def fail(problem: str, node: Any = None, where: str = "") -> ContentError:
        return ContentError(path, line_of(node) if node is not None else 0, where, problem)

    if not isinstance(data, dict):
        raise fail("le fichier doit contenir une définition de parcours (id, title, steps).")
    _known_keys(
        data,
        {"id", "title", "command", "description", "intro", "outro", "summary", "scales",
         "steps", "meta"},
        fail,
        "",
    )
    flow_id = _required_str(data, "id", fail, "")
    if not _FLOW_ID.match(flow_id):
        raise fail(
            f"l'identifiant « {flow_id} » doit faire 16 caractères au plus "
            "(minuscules, chiffres, - ou _).",
            data,
        )
    title = _required_str(data, "title", fail, "")
    scales = _parse_scales(data.get("scales") or {}, fail)
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise fail("« steps » doit être une liste d'au moins une question.", data)

    steps: list[Step] = []
    section = ""
    seen: set[str] = set()
    for raw in raw_steps:
        step = _parse_step(raw, section, scales, seen, fail)
        section = step.section
        seen.add(step.id)
        steps.append(step)

    return Flow(
        id=flow_id,
        title=title,
        steps=tuple(steps),
        version=version,
        command=str(data.get("command") or flow_id),
        description=str(data.get("description") or ""),
        intro=str(data.get("intro") or ""),
        outro=str(data.get("outro") or ""),
        summary=str(data.get("summary") or ""),
        meta=dict(data.get("meta") or {}),
        path=path,
    )


def _parse_scales(raw: Any, fail: Any) -> dict[str, tuple[Option, ...]]:
    if not isinstance(raw, dict):
        raise fail("« scales » doit associer un nom à une liste de libellés.", raw)
    scales: dict[str, tuple[Option, ...]] = {}
    for name, labels in raw.items():
        if not isinstance(labels, list) or len(labels) < 2:
            raise fail(f"l'échelle « {name} » doit avoir au moins deux libellés.", raw)
        scales[str(name)] = tuple(
            Option(value=str(i), label=str(label)) for i, label in enumerate(labels, start=1)
        )
    return scales


def _parse_step(
    raw: Any,
    section: str,
    scales: dict[str, tuple[Option, ...]],
    seen: set[str],
    fail: Any,
) -> Step:
    if not isinstance(raw, dict):
        raise fail("chaque question doit être un bloc avec au moins id, ask et type.", raw)
    step_id = _required_str(raw, "id", fail, "question sans id")
    where = f"question « {step_id} »"
    _known_keys(
        raw,
        {"id", "ask", "type", "section", "help", "options", "optional", "comment", "when",
         "min", "max", "max_length", "scale", "meta"},
        fail,
        where,
    )
    if not _ID.match(step_id):
        raise fail(
            "l'identifiant doit faire 24 caractères au plus (minuscules, chiffres, - ou _).",
            raw,
            where,
        )
    if step_id in seen:
        raise fail("cet identifiant est déjà utilisé par une question précédente.", raw, where)
    ask = _required_str(raw, "ask", fail, where)
    step_type = raw.get("type")
    if step_type not in STEP_TYPES:
        raise fail(
            f"type « {step_type} » inconnu ; types possibles : {', '.join(STEP_TYPES)}.",
            raw,
            where,
        )
    options: tuple[Option, ...] = ()
    if step_type in ("choice", "multichoice"):
        options = _parse_options(raw.get("options"), fail, raw, where)
    elif step_type == "scale":
        scale_name = raw.get("scale")
        if scale_name is not None:
            if scale_name not in scales:
                raise fail(f"l'échelle « {scale_name} » n'est pas définie dans « scales ».",
                           raw, where)
            options = scales[scale_name]
        elif isinstance(raw.get("options"), list):
            options = tuple(
                Option(value=str(i), label=str(label))
                for i, label in enumerate(raw["options"], start=1)
            )
        if len(options) < 2:
            raise fail("une échelle demande « scale: nom » ou une liste « options ».", raw, where)
    elif raw.get("options") is not None:
        raise fail(f"« options » n'a pas de sens pour le type {step_type}.", raw, where)

    when = _parse_when(raw.get("when"), seen, fail, raw, where)
    meta = raw.get("meta") or {}
    if not isinstance(meta, dict):
        raise fail("« meta » doit être un bloc clé: valeur.", raw, where)
    return Step(
        id=step_id,
        ask=ask,
        type=step_type,
        section=str(raw.get("section") or section),
        help=str(raw.get("help") or ""),
        options=options,
        optional=_bool(raw, "optional", fail, where),
        comment=_bool(raw, "comment", fail, where),
        when=when,
        min=_number(raw, "min", fail, where),
        max=_number(raw, "max", fail, where),
        max_length=int(raw.get("max_length") or TEXT_MAX_DEFAULT),
        meta=dict(meta),
        line=line_of(raw),
    )


def _parse_options(raw: Any, fail: Any, node: Any, where: str) -> tuple[Option, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        raise fail("une question à choix demande au moins deux « options ».", node, where)
    options: list[Option] = []
    for item in raw:
        if isinstance(item, dict):
            _known_keys(item, {"value", "label", "help"}, fail, where)
            value = str(item.get("value") or "")
            label = str(item.get("label") or "")
            help_text = str(item.get("help") or "")
        else:
            label = str(item)
            value = _slug(label)
            help_text = ""
        if not value or not label:
            raise fail("chaque option demande « value » et « label ».", item or node, where)
        if not _ID.match(value):
            raise fail(
                f"la valeur d'option « {value} » doit faire 24 caractères au plus "
                "(minuscules, chiffres, - ou _).",
                item if isinstance(item, LineDict) else node,
                where,
            )
        if any(o.value == value for o in options):
            raise fail(f"la valeur d'option « {value} » apparaît deux fois.", node, where)
        options.append(Option(value=value, label=label, help=help_text))
    return tuple(options)


def _parse_when(
    raw: Any, seen: set[str], fail: Any, node: Any, where: str
) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    items = raw if isinstance(raw, list) else [raw]
    conditions: list[Condition] = []
    for item in items:
        if not isinstance(item, dict) or "step" not in item:
            raise fail("« when » demande au moins « step: <id d'une question précédente> ».",
                       node, where)
        _known_keys(item, {"step", "in", "not_in", "min", "max", "answered"}, fail, where)
        ref = str(item["step"])
        if ref not in seen:
            raise fail(f"« when » cite « {ref} », qui n'est pas une question précédente.",
                       node, where)
        conditions.append(
            Condition(
                step=ref,
                is_in=tuple(condition_text(v) for v in item.get("in") or ()),
                not_in=tuple(condition_text(v) for v in item.get("not_in") or ()),
                min=item.get("min"),
                max=item.get("max"),
                answered=item.get("answered"),
            )
        )
    return tuple(conditions)


def _known_keys(raw: dict, allowed: set[str], fail: Any, where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise fail(
            f"clé inconnue « {unknown[0]} » (clés possibles : {', '.join(sorted(allowed))}).",
            raw,
            where,
        )


def _required_str(raw: dict, key: str, fail: Any, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str | int) or not str(value).strip():
        raise fail(f"« {key} » est obligatoire et doit être un texte.", raw, where)
    return str(value).strip()


def _bool(raw: dict, key: str, fail: Any, where: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise fail(f"« {key} » doit valoir true ou false.", raw, where)
    return value


def _number(raw: dict, key: str, fail: Any, where: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise fail(f"« {key} » doit être un nombre.", raw, where)
    return value


def _slug(label: str) -> str:
    text = strip_accents(label).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:24].strip("-")

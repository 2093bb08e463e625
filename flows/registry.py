"""All shipped flows, loaded and validated once at start."""

from __future__ import annotations

from pathlib import Path

from flows.loader import load_flow
from flows.model import Flow
from flows.yamlsource import ContentError

DEFINITIONS_DIR = Path(__file__).parent / "definitions"


def flow_files(directory: Path = DEFINITIONS_DIR) -> list[Path]:
    return sorted(directory.glob("*.yaml"))


def load_flows(directory: Path = DEFINITIONS_DIR) -> dict[str, Flow]:
    """Every flow by id; the first invalid file raises ``ContentError``."""
    flows: dict[str, Flow] = {}
    for path in flow_files(directory):
        flow = load_flow(path)
        if flow.id in flows:
            raise ContentError(str(path), 0, "", f"l'id « {flow.id} » est déjà pris par "
                               f"{flows[flow.id].path}.")
        flows[flow.id] = flow
    return flows


def check_flows(directory: Path = DEFINITIONS_DIR) -> list[ContentError]:
    """Every problem of every file, for ``coopbot check``."""
    problems: list[ContentError] = []
    seen: dict[str, str] = {}
    commands: dict[str, str] = {}
    for path in flow_files(directory):
        try:
            flow = load_flow(path)
        except ContentError as exc:
            problems.append(exc)
            continue
        if flow.id in seen:
            problems.append(ContentError(str(path), 0, "", f"l'id « {flow.id} » est déjà pris "
                                         f"par {seen[flow.id]}."))
        if flow.command in commands:
            problems.append(ContentError(str(path), 0, "", f"la commande /{flow.command} est "
                                         f"déjà prise par {commands[flow.command]}."))
        seen[flow.id] = str(path)
        commands[flow.command] = str(path)
    return problems

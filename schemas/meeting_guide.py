"""The Meeting Guide meeting-type vocabulary (code4recovery/spec `data/types.json`, commit 404117ad, MIT licence,
copied into `meeting_guide_types.json`): 87 codes with labels in nine languages.

Feeds use the codes ("O", "W", "ONL"); spreadsheet and CSV exports of the same data use the English labels
("Open", "Women", "Online Meeting"). Codes mean what the spec says for AA; other fellowships reuse some letters.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

_TYPES_FILE = Path(__file__).with_name("meeting_guide_types.json")
# Codes the 12 Step Meeting List plugin adds to the spec's list (its attendance options).
TSML_TYPES: dict[str, dict[str, str]] = {"ONL": {"en": "Online Meeting"}}


@cache
def type_labels() -> dict[str, dict[str, str]]:
    """code → {language: label}."""
    data = json.loads(_TYPES_FILE.read_text(encoding="utf-8"))
    labels = {code: names if isinstance(names, dict) else {"en": str(names)} for code, names in data.items()}
    return {**labels, **TSML_TYPES}


@cache
def _codes_by_label() -> dict[str, str]:
    return {label.casefold(): code for code, labels in type_labels().items() for label in labels.values() if label}


def type_code(value: str) -> str:
    """A type code for a code or a label in any of the spec's languages; an unknown value is returned as given."""
    text = value.strip()
    if text in type_labels():
        return text
    return _codes_by_label().get(text.casefold(), text)

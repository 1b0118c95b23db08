"""Reading a YAML or JSON file into plain Python data, shared by the packages that take
files from people (plans, catalogues, scenarios). Pure: it knows nothing of platform,
web or cli; each package turns the errors below into its own, with its own messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

# What a file that was read but is not valid YAML/JSON raises (not UTF-8 text, too).
PARSE_ERRORS = (yaml.YAMLError, json.JSONDecodeError, UnicodeDecodeError)


def read_yaml_or_json(path: Path) -> Any:
    """The data of the file at `path`: JSON for a .json suffix, YAML for anything else.
    Raises OSError when the file cannot be read, one of PARSE_ERRORS when it cannot be
    parsed."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        return json.loads(text)
    return yaml.safe_load(text)

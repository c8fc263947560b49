"""YAML reading through libyaml's C parser where PyYAML was built with it (10x faster than the pure-Python one:
the catalog and the published runs are read on every command)."""

from __future__ import annotations

from typing import Any

import yaml

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """`yaml.safe_load`, with the C parser when there is one; raises yaml.YAMLError the same way."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader

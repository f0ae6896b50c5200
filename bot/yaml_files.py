"""Reading YAML (config, playbooks, lexicons, precheck lists, templates) with libyaml's C parser when
PyYAML was built with it: the pure-Python parser took most of the bot's start-up (about 0.2 s of every
`build_app`, the five playbooks and the precheck list alone). Same safe constructors, same data."""

from __future__ import annotations

from typing import Any

import yaml

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str | bytes) -> Any:
    """`yaml.safe_load`, faster; raises yaml.YAMLError on bad input as it does."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader (C or Python)

"""Reading the UPSTREAM_JWT_* variables, the same way the Node package does
(packages/node/src/env.js): same names, same defaults, same errors. An empty
variable counts as unset, as an orchestrator often writes `NAME=` for "none"."""

from __future__ import annotations

import re
from typing import List, Mapping, Optional

from . import sf
from .errors import ConfigurationError

# Seconds; 15 digits keep every accepted value exact in JavaScript too.
_INTEGER = re.compile(r"-?[0-9]{1,15}")

# Names an earlier version read; silently ignoring them would drop a label or
# tag check the operator asked for.
RENAMED = {"UPSTREAM_JWT_LABEL": "UPSTREAM_JWT_SIGNATURE_LABEL", "UPSTREAM_JWT_TAG": "UPSTREAM_JWT_SIGNATURE_TAG"}


def text(env: Mapping[str, str], name: str) -> Optional[str]:
    return env.get(name) or None


def integer(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    if not value:
        return default
    if not _INTEGER.fullmatch(value):
        raise ConfigurationError(f'{name} must be an integer number of seconds, not "{value}"')
    return int(value)


def check_renamed(env: Mapping[str, str]) -> None:
    for old, new in RENAMED.items():
        if env.get(old):
            raise ConfigurationError(f"{old} is not read: set {new} instead")


def components(env: Mapping[str, str], name: str) -> Optional[List[str]]:
    """A comma-separated list of identifiers as the constructor takes them
    (`@method, content-type, @query-param;name="id"`), or, when a parameter
    value holds a comma, an RFC 9421 inner list as Signature-Input writes it
    (`("@method" "@query-param";name="a,b")`). None when unset."""
    value = (env.get(name) or "").strip(" \t")
    if not value:
        return None
    if value.startswith("("):
        try:
            il = sf.parse_inner_list(value)
        except sf.SFError as e:
            raise ConfigurationError(f"{name}: not an inner list: {e}") from None
        if il.params:
            raise ConfigurationError(f"{name}: no parameters after ')'")
        if not il.items:
            raise ConfigurationError(f"{name}: empty list")
        if any(not sf.is_string(i.value) for i in il.items):
            raise ConfigurationError(f"{name}: components must be strings")
        ids = [str(i.value) + sf.serialize_params(i.params) for i in il.items]
    else:
        ids = [part.strip(" \t") for part in value.split(",")]
        if any(not i for i in ids):
            raise ConfigurationError(f"{name}: empty entry")
        if any(i.count('"') % 2 for i in ids):
            raise ConfigurationError(f"{name}: a component holding a comma needs the inner-list form "
                                     '("@query-param";name="a,b")')
    from .httpsig import components_from  # the constructor's own check, named after the variable

    try:
        components_from(ids)
    except ConfigurationError as e:
        raise ConfigurationError(f"{name}: {e}") from None
    return ids

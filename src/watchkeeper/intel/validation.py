"""What a ``tiIndicator`` may hold (``../shared/specs/graph-security-api.md`` section 6): each Graph
property's type, its allowed values or range, the properties each target product requires, and the
ones an update may change. Every refusal is an :class:`InvalidRequestError` naming the property."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from watchkeeper.errors import InvalidRequestError
from watchkeeper.intel.models import DEFENDER, SENTINEL

__all__ = [
    "DESCRIPTION_LIMIT",
    "EDITABLE",
    "LIST_LIMIT",
    "OBSERVABLES",
    "PROPERTIES",
    "TEXT_LIMIT",
    "check_changes",
    "check_new",
]

TEXT_LIMIT = 2048  # characters of any string property (urls included)
DESCRIPTION_LIMIT = 100  # Graph: "brief description (100 characters or less)"
LIST_LIMIT = 100  # entries of a string-collection property, each at most 256 characters
_INT32 = 2**31 - 1

ACTIONS = ("unknown", "allow", "block", "alert")
THREAT_TYPES = ("Botnet", "C2", "CryptoMining", "Darknet", "DDoS", "MaliciousUrl", "Malware", "Phishing", "Proxy",
                "PUA", "WatchList")  # fmt: skip
TARGET_PRODUCTS = (SENTINEL, DEFENDER)
TLP_LEVELS = ("unknown", "white", "green", "amber", "red")
DIAMOND_MODELS = ("unknown", "adversary", "capability", "infrastructure", "victim")
KILL_CHAIN = ("Actions", "C2", "Delivery", "Exploitation", "Installation", "Reconnaissance", "Weaponization")
FILE_HASH_TYPES = ("unknown", "sha1", "sha256", "md5", "authenticodeHash256", "lsHash", "ctph")


@dataclass(frozen=True, slots=True)
class Property:
    """One Graph property: ``kind`` is string, int, bool, datetime or strings; ``choices`` its
    values (matched in any case, stored in Graph's spelling); ``check`` a further test."""

    kind: str
    choices: tuple[str, ...] = ()
    low: int = 0
    high: int = _INT32
    check: Callable[[str], object] | None = None
    limit: int = TEXT_LIMIT  # characters of a string


def _ip(version: int | None) -> Callable[[str], object]:
    def parse(text: str) -> object:
        address = ipaddress.ip_address(text)
        if version is not None and address.version != version:
            raise ValueError(f"not an IPv{version} address")
        return address

    return parse


def _cidr(text: str) -> object:
    return ipaddress.ip_network(text, strict=False)


_TEXT, _ANY_IP, _CIDR = (
    Property("string"),
    Property("string", check=_ip(None)),
    Property("string", check=_cidr),
)
_V4, _V6 = Property("string", check=_ip(4)), Property("string", check=_ip(6))
_PORT, _TIME, _INT = Property("int", high=65535), Property("datetime"), Property("int")

_EMAIL_TEXTS = ("emailEncoding", "emailLanguage", "emailRecipient", "emailSenderAddress", "emailSenderName",
                "emailSourceDomain", "emailSubject", "emailXMailer")  # fmt: skip
_EMAIL = dict.fromkeys(_EMAIL_TEXTS, _TEXT)
_FILE = dict.fromkeys(
    ("fileHashValue", "fileMutexName", "fileName", "filePacker", "filePath", "fileType"), _TEXT
)
_NETWORK = {
    "domainName": _TEXT, "url": _TEXT, "userAgent": _TEXT, "networkIPv4": _V4, "networkIPv6": _V6,
    "networkSourceIPv4": _V4, "networkSourceIPv6": _V6, "networkDestinationIPv4": _V4, "networkDestinationIPv6": _V6,
    "networkCidrBlock": _CIDR, "networkSourceCidrBlock": _CIDR, "networkDestinationCidrBlock": _CIDR,
    "networkPort": _PORT, "networkSourcePort": _PORT, "networkDestinationPort": _PORT,
    "networkProtocol": Property("int", high=255), "networkSourceAsn": _INT, "networkDestinationAsn": _INT,
}  # fmt: skip
OBSERVABLES = frozenset(
    {*_EMAIL, "emailSourceIpAddress", *_FILE, "fileHashType", "fileCompileDateTime", "fileCreatedDateTime",
     "fileSize", *_NETWORK}
)  # fmt: skip

PROPERTIES: dict[str, Property] = {
    "action": Property("string", ACTIONS), "threatType": Property("string", THREAT_TYPES),
    "targetProduct": Property("string", TARGET_PRODUCTS), "tlpLevel": Property("string", TLP_LEVELS),
    "diamondModel": Property("string", DIAMOND_MODELS), "description": _TEXT, "additionalInformation": _TEXT,
    "externalId": Property("string", limit=256),
    "knownFalsePositives": _TEXT, "confidence": Property("int", high=100), "severity": Property("int", high=5),
    "isActive": Property("bool"), "passiveOnly": Property("bool"), "expirationDateTime": _TIME,
    "lastReportedDateTime": _TIME, "tags": Property("strings"), "activityGroupNames": Property("strings"),
    "malwareFamilyNames": Property("strings"), "killChain": Property("strings", KILL_CHAIN),
    **_EMAIL, "emailSourceIpAddress": _ANY_IP, **_FILE, "fileHashType": Property("string", FILE_HASH_TYPES),
    "fileCompileDateTime": _TIME, "fileCreatedDateTime": _TIME, "fileSize": Property("int", high=2**63 - 1),
    **_NETWORK,
}  # fmt: skip

# what an update may change (Graph's list for the Sentinel target)
EDITABLE = frozenset(
    {"action", "activityGroupNames", "additionalInformation", "confidence", "description", "diamondModel",
     "expirationDateTime", "externalId", "isActive", "killChain", "knownFalsePositives", "lastReportedDateTime",
     "malwareFamilyNames", "passiveOnly", "severity", "tags", "tlpLevel"}
)  # fmt: skip
_DEFAULTS = {"isActive": True, "passiveOnly": False, "severity": 3}
_SERVER_SET = {"id", "ingestedDateTime"}
_SENTINEL_REQUIRED = ("action", "description", "expirationDateTime", "threatType", "tlpLevel")
_DEFENDER_OBSERVABLES = (
    "domainName",
    "url",
    "networkDestinationIPv4",
    "networkDestinationIPv6",
    "fileHashValue",
)


def check_new(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The properties of a new indicator, checked and with Graph's defaults (``isActive`` true,
    ``passiveOnly`` false, ``severity`` 3). ``azureTenantId`` and ``@odata.*`` annotations are
    ignored (the tenant comes from the caller's token)."""
    values: dict[str, Any] = dict(_DEFAULTS)
    for name, raw in _given(fields).items():
        if name in _SERVER_SET:
            raise InvalidRequestError(
                f"tiIndicator property {name!r} is set by the server, not by the caller"
            )
        if raw is not None:
            values[name] = _value(name, raw)
    _require(values)
    return values


def check_changes(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The checked changes to an indicator whose properties are ``current``: only editable
    properties may change (``targetProduct`` may be repeated unchanged); null removes one. The
    indicator after the changes must still hold what its target product requires."""
    checked: dict[str, Any] = {}
    for name, raw in _given(changes).items():
        value = _DEFAULTS.get(name) if raw is None else _value(name, raw)
        if name == "targetProduct" and value == current.get("targetProduct"):
            continue
        if name not in EDITABLE:
            editable = ", ".join(sorted(EDITABLE))
            raise InvalidRequestError(
                f"tiIndicator property {name!r} cannot be changed; editable: {editable}"
            )
        checked[name] = value
    merged = {name: value for name, value in {**current, **checked}.items() if value is not None}
    _require(merged)
    return checked


def _given(fields: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(fields, Mapping):
        raise InvalidRequestError("a tiIndicator must be a JSON object")
    return {k: v for k, v in fields.items() if not str(k).startswith("@odata.") and k != "azureTenantId"}


def _value(name: str, raw: Any) -> Any:
    spec = PROPERTIES.get(name)
    if spec is None:
        raise InvalidRequestError(f"tiIndicator has no property {name!r}")
    try:
        return _READERS[spec.kind](spec, raw)
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"tiIndicator property {name!r}: {exc}") from None


def _string(spec: Property, raw: Any) -> str:
    if not isinstance(raw, str):
        raise TypeError(f"expected a string, not {_json_type(raw)}")
    if len(raw) > spec.limit:
        raise ValueError(f"longer than {spec.limit} characters")
    if spec.check is not None:
        spec.check(raw)
    return _choice(spec.choices, raw) if spec.choices else raw


def _choice(choices: tuple[str, ...], raw: str) -> str:
    found = next((choice for choice in choices if choice.lower() == raw.lower()), None)
    if found is None:
        raise ValueError(f"{raw!r} is not one of {', '.join(choices)}")
    return found


def _integer(spec: Property, raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise TypeError(f"expected an integer, not {_json_type(raw)}")
    if not spec.low <= raw <= spec.high:
        raise ValueError(f"{raw} is outside {spec.low}..{spec.high}")
    return raw


def _boolean(_spec: Property, raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise TypeError(f"expected true or false, not {_json_type(raw)}")
    return raw


# Graph writes up to 7 fractional digits; Python reads up to 6
_FRACTION = re.compile(r"(\.\d{6})\d+")


def _moment(_spec: Property, raw: Any) -> datetime:
    if not isinstance(raw, str):
        raise TypeError(f"expected an ISO 8601 date and time, not {_json_type(raw)}")
    try:
        parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", raw.strip()))
    except ValueError:
        raise ValueError(f"{raw[:64]!r} is not an ISO 8601 date and time") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _strings(spec: Property, raw: Any) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise TypeError(f"expected a list of strings, not {_json_type(raw)}")
    if len(raw) > LIST_LIMIT or any(len(item) > 256 for item in raw):
        raise ValueError(f"at most {LIST_LIMIT} entries of at most 256 characters each")
    return [_choice(spec.choices, item) for item in raw] if spec.choices else list(raw)


_READERS: dict[str, Callable[[Property, Any], Any]] = {
    "string": _string, "int": _integer, "bool": _boolean, "datetime": _moment, "strings": _strings,
}  # fmt: skip


def _json_type(raw: Any) -> str:
    names = {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }
    return "null" if raw is None else names.get(type(raw), type(raw).__name__)


def _require(values: Mapping[str, Any]) -> None:
    """What the indicator's target product needs (the spec's required-field lists)."""
    for name in ("targetProduct", "action"):
        if values.get(name) is None:
            raise InvalidRequestError(f"tiIndicator property {name!r} is required")
    description = values.get("description")
    if description is not None and len(description) > DESCRIPTION_LIMIT:
        raise InvalidRequestError(
            f"tiIndicator property 'description' is longer than {DESCRIPTION_LIMIT} characters"
        )
    if values.get("fileHashValue") is not None and values.get("fileHashType") is None:
        raise InvalidRequestError("tiIndicator property 'fileHashType' is required with 'fileHashValue'")
    if values["targetProduct"] == SENTINEL:
        _require_sentinel(values)
    elif not any(values.get(name) is not None for name in _DEFENDER_OBSERVABLES):
        raise InvalidRequestError(f"a {DEFENDER} tiIndicator needs one of {', '.join(_DEFENDER_OBSERVABLES)}")


def _require_sentinel(values: Mapping[str, Any]) -> None:
    missing = [name for name in _SENTINEL_REQUIRED if values.get(name) is None]
    if missing:
        raise InvalidRequestError(f"an {SENTINEL} tiIndicator requires {', '.join(repr(m) for m in missing)}")
    if not any(values.get(name) is not None for name in OBSERVABLES):
        raise InvalidRequestError(
            f"an {SENTINEL} tiIndicator needs at least one email, file or network observable"
        )

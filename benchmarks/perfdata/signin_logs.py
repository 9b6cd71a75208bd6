"""SigninLogs rows (Entra ID sign-ins): integer codes rendered as 19 Arrow columns.

The same people as SecurityEvent (user codes are principal codes), signing in from public
addresses; about 8% of sign-ins fail (``ResultType`` other than ``"0"``).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from perfdata.timeline import Rows, times_in_day, zipf
from perfdata.vocabulary import (
    IP_ATTACKERS,
    IP_PUBLIC,
    N_ATTACKERS,
    N_PUBLIC,
    N_USERS,
    UPN_SUFFIX,
    Vocabulary,
    countries,
    country,
    guid_array,
)

FIELDS = ("t", "user", "src", "result", "app", "client", "device", "risk", "typed")
# (ResultType, probability, ResultDescription)
_RESULTS = (
    ("0", 0.92, ""),
    ("50126", 0.035, "Error validating credentials due to invalid username or password."),
    ("50074", 0.02, "Strong Authentication is required."),
    ("50140", 0.01, "This error occurred due to 'Keep me signed in' interrupt when the user was signing in."),
    ("53003", 0.005, "Access has been blocked by Conditional Access policies."),
    (
        "50053",
        0.003,
        "Account is locked because user tried to sign in too many times with an incorrect user id or password.",
    ),
    (
        "70044",
        0.007,
        "The session has expired or is invalid due to sign-in frequency checks by conditional access.",
    ),
)
RESULT_BAD_PASSWORD = 1
_APPS = (
    "Office 365 Exchange Online",
    "Microsoft Teams",
    "Office 365 SharePoint Online",
    "Azure Portal",
    "Microsoft Office",
    "OneDrive SyncEngine",
    "Microsoft Authentication Broker",
    "Windows Sign In",
    "Microsoft Edge",
    "Azure Virtual Desktop Client",
    "Power BI",
    "Microsoft Intune Company Portal",
    "Salesforce",
    "ServiceNow",
    "Workday",
)
_CLIENTS = (
    ("Browser", 0.45),
    ("Mobile Apps and Desktop clients", 0.5),
    ("Exchange ActiveSync", 0.03),
    ("Other clients", 0.015),
    ("IMAP4", 0.005),
)
CLIENT_LEGACY = 3
_DEVICES = (
    (
        "Windows10",
        "Edge 120.0.2210",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0",
    ),
    (
        "Windows10",
        "Chrome 120.0.6099",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    ),
    ("Windows10", "Rich Client 5.4.3", "Windows-AzureAD-Authentication-Provider/1.0"),
    (
        "MacOs",
        "Safari 17.1",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    ),
    (
        "Ios",
        "Mobile Safari 17.1",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    ),
    (
        "Android",
        "Chrome Mobile 120.0",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
    ),
    ("Ios", "Rich Client 4.1", "Microsoft Authenticator/6.7.23 (iPhone; iOS 17.1)"),
    ("", "python-requests 2.31", "python-requests/2.31.0"),
)
_RISK = ("none", "low", "medium", "high")


def background(rng: np.random.Generator, n: int, day: int) -> Rows:
    """``n`` ordinary sign-ins during ``day``."""
    user = zipf(rng, n, N_USERS, 0.8)
    near = rng.random(n)
    usual = IP_PUBLIC + (user.astype(np.int64) * 131) % N_PUBLIC
    src = np.where(near < 0.85, usual, IP_PUBLIC + rng.integers(0, N_PUBLIC, n))
    rows = {
        "t": times_in_day(rng, n, day),
        "user": user,
        "src": src,
        "result": _pick(rng, n, [p for _, p, _ in _RESULTS]),
        "app": zipf(rng, n, len(_APPS), 1.0),
        "client": _pick(rng, n, [p for _, p in _CLIENTS]),
        "device": zipf(rng, n, len(_DEVICES) - 1, 0.7),
        "risk": _pick(rng, n, [0.97, 0.02, 0.008, 0.002]),
        "typed": rng.random(n) < 0.2,
    }
    return {name: values.astype(np.int64 if name == "t" else np.int32) for name, values in rows.items()}


def _pick(rng: np.random.Generator, n: int, probabilities: list[float]) -> np.ndarray:
    weights = np.array(probabilities)
    return rng.choice(len(weights), size=n, p=weights / weights.sum())


def to_table(rows: Rows, rng: np.random.Generator, vocabulary: Vocabulary) -> pa.Table:
    """The 19 SigninLogs columns for ``rows`` (sorted by time first)."""
    order = np.argsort(rows["t"], kind="stable")
    rows = {name: values[order] for name, values in rows.items()}
    rows["location"] = _locations(rows["src"], vocabulary)
    columns = {name: render(rows, vocabulary) for name, render in COLUMNS.items()}
    columns["CorrelationId"] = guid_array(rng, len(rows["t"]))
    return pa.table(columns)


def _locations(src: np.ndarray, vocabulary: Vocabulary) -> np.ndarray:
    public = np.clip(src - IP_PUBLIC, 0, N_PUBLIC - 1)
    attacker = (src >= IP_ATTACKERS) & (src < IP_ATTACKERS + N_ATTACKERS)
    return np.where(attacker, countries() - 2, vocabulary.ip_country[public]).astype(np.int32)


def _strings(values: list[str] | pa.Array, codes: np.ndarray) -> pa.Array:
    table = values if isinstance(values, pa.Array) else pa.array(values)
    return table.take(pa.array(codes.astype(np.int32)))


def _upn(rows: Rows, v: Vocabulary) -> pa.Array:
    names = pa.concat_arrays([v.principals.slice(0, N_USERS), v.principals_typed.slice(0, N_USERS)])
    local = _strings(names, rows["user"] + np.where(rows["typed"], N_USERS, 0))
    return pc.binary_join_element_wise(local, pa.scalar(UPN_SUFFIX), "")


def _location_details(code: int) -> str:
    iso, city, state = country(code)
    return json.dumps({"city": city, "state": state, "countryOrRegion": iso}, separators=(",", ":"))


def _device_detail(code: int) -> str:
    system, browser, _ = _DEVICES[code]
    return json.dumps({"deviceId": "", "operatingSystem": system, "browser": browser}, separators=(",", ":"))


def _status(code: int) -> str:
    result, _, reason = _RESULTS[code]
    detail = {"errorCode": int(result)} | ({"failureReason": reason} if reason else {})
    return json.dumps(detail, separators=(",", ":"))


def _access_status(rows: Rows) -> np.ndarray:
    return np.select([rows["result"] == 4, rows["result"] == 0], [2, rows["user"] % 2], 1)


COLUMNS: dict[str, Callable[[Rows, Vocabulary], pa.Array]] = {
    "TimeGenerated": lambda r, v: pa.array(r["t"], type=pa.timestamp("us", tz="UTC")),
    "UserPrincipalName": _upn,
    "UserDisplayName": lambda r, v: _strings(v.display_names, r["user"]),
    "UserId": lambda r, v: _strings(v.user_ids, r["user"]),
    "AppDisplayName": lambda r, v: _strings(list(_APPS), r["app"]),
    "AppId": lambda r, v: _strings(_APP_IDS, r["app"]),
    "IPAddress": lambda r, v: _strings(v.ips, r["src"]),
    "Location": lambda r, v: _strings([country(k)[0] for k in range(countries())], r["location"]),
    "ResultType": lambda r, v: _strings([code for code, _, _ in _RESULTS], r["result"]),
    "ResultDescription": lambda r, v: _strings([d for _, _, d in _RESULTS], r["result"]),
    "ClientAppUsed": lambda r, v: _strings([c for c, _ in _CLIENTS], r["client"]),
    "ConditionalAccessStatus": lambda r, v: _strings(["success", "notApplied", "failure"], _access_status(r)),
    "IsInteractive": lambda r, v: pa.array(r["client"] <= 1),
    "UserAgent": lambda r, v: _strings([d[2] for d in _DEVICES], r["device"]),
    "DeviceDetail": lambda r, v: _strings([_device_detail(k) for k in range(len(_DEVICES))], r["device"]),
    "LocationDetails": lambda r, v: _strings(
        [_location_details(k) for k in range(countries())], r["location"]
    ),
    "Status": lambda r, v: _strings([_status(k) for k in range(len(_RESULTS))], r["result"]),
    "RiskLevelDuringSignIn": lambda r, v: _strings(list(_RISK), r["risk"]),
}
"""Column name -> renderer; with ``CorrelationId`` (random per row) 19 columns."""

_APP_IDS = guid_array(np.random.default_rng(11), len(_APPS))

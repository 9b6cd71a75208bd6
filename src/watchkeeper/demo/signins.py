"""SigninLogs: interactive Entra ID sign-ins of the demo's people.

Most sign-ins succeed; a few fail the way real ones do (wrong password 50126, MFA required 50074,
"keep me signed in" interrupt 50140, blocked by Conditional Access 53003, account locked 50053).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

from watchkeeper.demo.columns import event_times, guids, pick, timestamps
from watchkeeper.demo.world import LOCATIONS, OFFICE_EGRESS_IP, TENANT_ID, User, World

__all__ = ["APPS", "RESULTS", "background_signins", "signin_row"]

TABLE = "SigninLogs"
APPS = (
    ("Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000"),
    ("Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264"),
    ("Office 365 SharePoint Online", "00000003-0000-0ff1-ce00-000000000000"),
    ("OfficeHome", "4765445b-32c6-49b0-83e6-1d93765276ca"),
    ("Microsoft Office", "d3590ed6-52b3-4102-aeff-aad2292ab01c"),
    ("Azure Portal", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"),
)
_APP_WEIGHTS = np.array([30, 25, 15, 12, 12, 6], dtype=float)
# ResultType, ResultDescription, share of background sign-ins.
RESULTS = (
    ("0", "", 0.930),
    ("50126", "Invalid username or password or Invalid on-premise username or password.", 0.030),
    ("50074", "Strong Authentication is required.", 0.025),
    (
        "50140",
        "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.",
        0.010,
    ),
    ("53003", "Access has been blocked by Conditional Access policies.", 0.004),
    (
        "50053",
        "Account is locked because user tried to sign in too many times with an incorrect user ID or password.",
        0.001,
    ),
)
# operatingSystem, browser, client app, user agent
DEVICES = (
    (
        "Windows 10",
        "Edge 120.0.0",
        "Browser",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
        "Safari/537.36 Edg/120.0.0.0",
    ),
    (
        "Windows 10",
        "Chrome 120.0.0",
        "Browser",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
        "Safari/537.36",
    ),
    (
        "MacOs",
        "Safari 17.1",
        "Browser",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
        "Safari/605.1.15",
    ),
    (
        "Ios",
        "Mobile Safari",
        "Mobile Apps and Desktop clients",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    ),
    (
        "Android",
        "Chrome Mobile 120.0.6099",
        "Mobile Apps and Desktop clients",
        "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.43 "
        "Mobile Safari/537.36",
    ),
)


_CONSTANTS: dict[str, Any] = {
    "OperationName": "Sign-in activity",
    "Category": "SignInLogs",
    "Level": "4",
    "IsInteractive": True,
    "IsRisky": False,
    "UserType": "Member",
    "RiskLevelDuringSignIn": "none",
    "RiskLevelAggregated": "none",
    "RiskState": "none",
    "TokenIssuerType": "AzureAD",
    "AADTenantId": TENANT_ID,
    "HomeTenantId": TENANT_ID,
    "ResourceTenantId": TENANT_ID,
    "TenantId": TENANT_ID,
    "SourceSystem": "Azure AD",
    "Type": TABLE,
}


def background_signins(world: World, rows: int) -> pa.Table:
    """``rows`` background sign-ins; some people sign in far more often than others."""
    rng = world.rng(TABLE)
    activity = rng.gamma(2.0, size=len(world.users))
    user = rng.choice(len(world.users), size=rows, p=activity / activity.sum())
    device = rng.integers(0, len(DEVICES), len(world.users))[user]
    result = rng.choice(len(RESULTS), size=rows, p=np.array([r[2] for r in RESULTS]))
    app = rng.choice(len(APPS), size=rows, p=_APP_WEIGHTS / _APP_WEIGHTS.sum())
    homes = [u.home_ip for u in world.users] + [OFFICE_EGRESS_IP]
    ip = np.where(rng.random(rows) < 0.15, len(world.users), user)
    location = np.array([u.location for u in world.users])[user]
    times = timestamps(event_times(rng, rows, world.start, world.days))
    columns = {
        "TimeGenerated": times,
        "CreatedDateTime": times,
        "IPAddress": pick(homes, ip),
        **_user_columns(world, user),
        **_result_columns(result),
        **_app_columns(app),
        **_device_columns(device),
        **_location_columns(location),
        **_constant_columns(rows),
        "Id": pa.array(guids(rng, rows)),
        "CorrelationId": pa.array(guids(rng, rows)),
    }
    return pa.table(columns).sort_by("TimeGenerated")


def signin_row(
    user: User, when: datetime, ip: str, *, result: str = "0", app: int = 0, device: int = 0, **columns: Any
) -> dict[str, Any]:
    """One SigninLogs row (for injected attacks); ``columns`` add or override."""
    code, description, _ = next(r for r in RESULTS if r[0] == result)
    os, browser, client, agent = DEVICES[device]
    row: dict[str, Any] = {
        "TimeGenerated": when,
        "CreatedDateTime": when,
        "UserPrincipalName": user.upn,
        "UserDisplayName": user.display_name,
        "Identity": user.display_name,
        "UserId": user.object_id,
        "IPAddress": ip,
        "ResultType": code,
        "ResultDescription": description,
        "Status": _status(code, description),
        "AppDisplayName": APPS[app][0],
        "AppId": APPS[app][1],
        "DeviceDetail": _device_detail(os, browser),
        "ClientAppUsed": client,
        "UserAgent": agent,
        "ConditionalAccessStatus": "success" if code == "0" else "notApplied",
        "AuthenticationRequirement": "singleFactorAuthentication",
    }
    row.update(_CONSTANTS)
    row.update(columns)
    return row


def _user_columns(world: World, user: np.ndarray) -> dict[str, pa.Array]:
    users = world.users
    return {
        "UserPrincipalName": pick([u.upn for u in users], user),
        "AlternateSignInName": pick([u.upn for u in users], user),
        "UserDisplayName": pick([u.display_name for u in users], user),
        "Identity": pick([u.display_name for u in users], user),
        "UserId": pick([u.object_id for u in users], user),
    }


def _result_columns(result: np.ndarray) -> dict[str, pa.Array]:
    success = (result == 0).astype(np.int64)
    return {
        "ResultType": pick([r[0] for r in RESULTS], result),
        "ResultDescription": pick([r[1] for r in RESULTS], result),
        "ResultSignature": pick(["None", "SUCCESS"], success),
        "Status": pick([_status(r[0], r[1]) for r in RESULTS], result),
        "ConditionalAccessStatus": pick(["notApplied", "success"], success),
        "AuthenticationRequirement": pick(
            ["singleFactorAuthentication", "multiFactorAuthentication"], (result == 2).astype(np.int64)
        ),
    }


def _app_columns(app: np.ndarray) -> dict[str, pa.Array]:
    return {
        "AppDisplayName": pick([a[0] for a in APPS], app),
        "AppId": pick([a[1] for a in APPS], app),
        "ResourceDisplayName": pick([a[0] for a in APPS], app),
    }


def _device_columns(device: np.ndarray) -> dict[str, pa.Array]:
    return {
        "DeviceDetail": pick([_device_detail(d[0], d[1]) for d in DEVICES], device),
        "ClientAppUsed": pick([d[2] for d in DEVICES], device),
        "UserAgent": pick([d[3] for d in DEVICES], device),
    }


def _location_columns(location: np.ndarray) -> dict[str, pa.Array]:
    details = [json.dumps({"city": c, "state": s, "countryOrRegion": r}) for c, s, r in LOCATIONS]
    return {
        "Location": pick([r for _, _, r in LOCATIONS], location),
        "LocationDetails": pick(details, location),
    }


def _constant_columns(n: int) -> dict[str, pa.Array]:
    return {name: pa.repeat(value, n) for name, value in _CONSTANTS.items()}


def _status(code: str, description: str) -> str:
    if code == "0":
        return json.dumps({"errorCode": 0})
    return json.dumps({"errorCode": int(code), "failureReason": description})


def _device_detail(os: str, browser: str) -> str:
    return json.dumps({"deviceId": "", "operatingSystem": os, "browser": browser})

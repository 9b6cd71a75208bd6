"""The console: analysts sign in with a tenant's console users and work in pages whose scripts call
the public API (the same routes API clients call), carried by a server-side session in a cookie.

``models``: the session and sign-in failure tables; ``service``: sign-in (with lockout), session
lookup, sign-out, all audited; ``pages``: the HTML shells and the static files they load.
"""

from watchkeeper.console.models import ConsoleSession, SessionUser, SignInFailure
from watchkeeper.console.pages import ASSETS, asset, render_page
from watchkeeper.console.service import (
    CSRF_HEADER,
    LOCKOUT,
    MAX_FAILURES,
    SESSION_COOKIE,
    SESSION_LIFETIME,
    SignIn,
    csrf_matches,
    find_session,
    sign_in,
    sign_out,
)

__all__ = [
    "ASSETS",
    "CSRF_HEADER",
    "LOCKOUT",
    "MAX_FAILURES",
    "SESSION_COOKIE",
    "SESSION_LIFETIME",
    "ConsoleSession",
    "SessionUser",
    "SignIn",
    "SignInFailure",
    "asset",
    "csrf_matches",
    "find_session",
    "render_page",
    "sign_in",
    "sign_out",
]

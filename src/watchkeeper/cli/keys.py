"""``wk keys``: the token signing keys, from the server's shell. Rotating is audited (actor: the
operator's OS account); a server running beside the command picks the change up within its key
refresh interval (30 s), without a restart."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from watchkeeper.audit import Actor
from watchkeeper.cli.console import note
from watchkeeper.cli.platform import DataDirOption, Format, FormatOption, emit, open_runtime
from watchkeeper.identity import KeyInfo

__all__ = ["keys"]

keys = typer.Typer(
    help="Token signing keys: the newest signs; every key not retired verifies (and is in the JWKS).",
    no_args_is_help=True,
)

COLUMNS = ["kid", "status", "createdAt", "retiredAt"]


def _row(key: KeyInfo) -> dict[str, Any]:
    return {
        "kid": key.kid,
        "status": key.status,
        "createdAt": key.created_at.isoformat(),
        "retiredAt": key.retired_at.isoformat() if key.retired_at else None,
    }


@keys.command("list")
def keys_list(data_dir: DataDirOption = None, fmt: FormatOption = Format.table) -> None:
    """Every signing key, oldest first: signing (signs new tokens), verifying, or retired."""
    with open_runtime(data_dir) as runtime:
        found = runtime.keys.describe()
    if not found:
        note("note: no signing key yet; the server creates one when it first signs a token")
    emit([_row(key) for key in found], fmt, columns=COLUMNS)


@keys.command("rotate")
def keys_rotate(
    retire_previous: Annotated[
        bool,
        typer.Option(
            "--retire-previous",
            help="Also retire every older key: tokens they signed are refused from now on.",
        ),
    ] = False,
    data_dir: DataDirOption = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Create a new signing key; it signs every token from now on.

    Tokens signed by older keys stay valid until they expire, unless --retire-previous."""
    with open_runtime(data_dir) as runtime:
        active = {key.kid for key in runtime.keys.describe() if key.retired_at is None}
        kid = runtime.keys.rotate(actor=Actor.cli(), retire_previous=retire_previous)
        found = {key.kid: key for key in runtime.keys.describe()}
    retired = sorted(k for k in active if found[k].retired_at is not None)
    if retired:
        note("note: tokens signed by the retired keys are refused from now on (running servers: within 30 s)")
    emit({**_row(found[kid]), "retired": retired}, fmt, columns=[*COLUMNS[:3], "retired"])

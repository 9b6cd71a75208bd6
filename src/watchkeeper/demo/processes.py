"""The benign Windows processes and network destinations background telemetry is drawn from.

None of these command lines may match the demo's hunting queries (``-enc``, ``lsass``,
``MiniDump``, ``wevtutil``): the injected attacks must be the only hits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

__all__ = ["BENIGN_PROCESSES", "DESTINATIONS", "NETWORK_CLIENTS", "Binary", "ProcessLaunch"]

_SYSTEM32 = "C:\\Windows\\System32"
_PROGRAMS = "C:\\Program Files"
_PROGRAMS_X86 = "C:\\Program Files (x86)"


@dataclass(frozen=True)
class Binary:
    """An executable on disk, with stable (fake) hashes derived from its path."""

    name: str
    folder: str

    @property
    def path(self) -> str:
        return f"{self.folder}\\{self.name}"

    def digest(self, algorithm: str) -> str:
        return hashlib.new(algorithm, f"watchkeeper-demo:{self.path.lower()}".encode()).hexdigest()


@dataclass(frozen=True)
class ProcessLaunch:
    """A process start: the image, its command line, who launched it and how often it happens."""

    image: Binary
    command_line: str
    parent: Binary
    parent_command_line: str
    weight: float
    as_system: bool = False


_EXPLORER = Binary("explorer.exe", "C:\\Windows")
_SERVICES = Binary("services.exe", _SYSTEM32)
_SVCHOST = Binary("svchost.exe", _SYSTEM32)
_CMD = Binary("cmd.exe", _SYSTEM32)
_POWERSHELL = Binary("powershell.exe", f"{_SYSTEM32}\\WindowsPowerShell\\v1.0")
_CHROME = Binary("chrome.exe", f"{_PROGRAMS}\\Google\\Chrome\\Application")
_EDGE = Binary("msedge.exe", f"{_PROGRAMS_X86}\\Microsoft\\Edge\\Application")
_OUTLOOK = Binary("OUTLOOK.EXE", f"{_PROGRAMS}\\Microsoft Office\\root\\Office16")
_TEAMS = Binary("ms-teams.exe", f"{_PROGRAMS}\\WindowsApps\\MSTeams_8wekyb3d8bbwe")
_ONEDRIVE = Binary("OneDrive.exe", f"{_PROGRAMS}\\Microsoft OneDrive")
_DEFENDER = Binary("MsMpEng.exe", "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0")
_TASKENG = Binary("taskhostw.exe", _SYSTEM32)

BENIGN_PROCESSES: tuple[ProcessLaunch, ...] = (
    ProcessLaunch(
        _CHROME, f'"{_CHROME.path}" --type=renderer --lang=en-US', _EXPLORER, "C:\\Windows\\Explorer.EXE", 18
    ),
    ProcessLaunch(
        _EDGE,
        f'"{_EDGE.path}" --single-argument https://intranet.example.com/',
        _EXPLORER,
        "C:\\Windows\\Explorer.EXE",
        12,
    ),
    ProcessLaunch(_OUTLOOK, f'"{_OUTLOOK.path}" /recycle', _EXPLORER, "C:\\Windows\\Explorer.EXE", 8),
    ProcessLaunch(
        _TEAMS, f'"{_TEAMS.path}" msteams:system-initiated', _EXPLORER, "C:\\Windows\\Explorer.EXE", 8
    ),
    ProcessLaunch(_ONEDRIVE, f'"{_ONEDRIVE.path}" /background', _EXPLORER, "C:\\Windows\\Explorer.EXE", 4),
    ProcessLaunch(
        Binary("notepad.exe", _SYSTEM32),
        "notepad.exe C:\\Users\\Public\\notes.txt",
        _EXPLORER,
        "C:\\Windows\\Explorer.EXE",
        3,
    ),
    ProcessLaunch(
        Binary("conhost.exe", _SYSTEM32),
        "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1",
        _CMD,
        "cmd.exe",
        6,
    ),
    ProcessLaunch(_CMD, 'cmd.exe /c "ipconfig /all"', _EXPLORER, "C:\\Windows\\Explorer.EXE", 2),
    ProcessLaunch(Binary("whoami.exe", _SYSTEM32), "whoami.exe /groups", _CMD, "cmd.exe", 1),
    ProcessLaunch(
        _POWERSHELL,
        'powershell.exe -NoProfile -ExecutionPolicy Bypass -File "C:\\IT\\inventory.ps1"',
        _TASKENG,
        "taskhostw.exe",
        3,
        as_system=True,
    ),
    ProcessLaunch(_POWERSHELL, "powershell.exe -NoLogo", _EXPLORER, "C:\\Windows\\Explorer.EXE", 2),
    ProcessLaunch(
        Binary("git.exe", f"{_PROGRAMS}\\Git\\cmd"),
        "git.exe fetch --prune origin",
        _POWERSHELL,
        "powershell.exe -NoLogo",
        2,
    ),
    ProcessLaunch(
        _SVCHOST,
        "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule",
        _SERVICES,
        "C:\\Windows\\system32\\services.exe",
        10,
        as_system=True,
    ),
    ProcessLaunch(
        _SVCHOST,
        "C:\\Windows\\System32\\svchost.exe -k wusvcs -p -s WaaSMedicSvc",
        _SERVICES,
        "C:\\Windows\\system32\\services.exe",
        4,
        as_system=True,
    ),
    ProcessLaunch(
        Binary("WmiPrvSE.exe", f"{_SYSTEM32}\\wbem"),
        "C:\\Windows\\system32\\wbem\\wmiprvse.exe -Embedding",
        _SVCHOST,
        "C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p",
        5,
        as_system=True,
    ),
    ProcessLaunch(
        Binary("MpCmdRun.exe", _DEFENDER.folder),
        f'"{_DEFENDER.folder}\\MpCmdRun.exe" -SignatureUpdate',
        _DEFENDER,
        f'"{_DEFENDER.path}"',
        3,
        as_system=True,
    ),
    ProcessLaunch(
        Binary("SearchProtocolHost.exe", _SYSTEM32),
        "C:\\Windows\\system32\\SearchProtocolHost.exe Global\\UsGthrFltPipeMssGthrPipe1",
        Binary("SearchIndexer.exe", _SYSTEM32),
        "C:\\Windows\\system32\\SearchIndexer.exe /Embedding",
        5,
        as_system=True,
    ),
    ProcessLaunch(
        Binary("gpupdate.exe", _SYSTEM32),
        "gpupdate.exe /target:computer",
        _SVCHOST,
        "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s gpsvc",
        2,
        as_system=True,
    ),
)

# Processes that open network connections, and where to.
NETWORK_CLIENTS: tuple[tuple[Binary, float], ...] = (
    (_CHROME, 30),
    (_EDGE, 20),
    (_OUTLOOK, 15),
    (_TEAMS, 15),
    (_ONEDRIVE, 8),
    (_SVCHOST, 8),
    (_DEFENDER, 4),
)

# (url, remote address, port): public services on documentation addresses.
DESTINATIONS: tuple[tuple[str, str, int], ...] = (
    ("outlook.office365.com", "198.51.100.20", 443),
    ("teams.microsoft.com", "198.51.100.21", 443),
    ("login.microsoftonline.com", "198.51.100.22", 443),
    ("example-my.sharepoint.com", "198.51.100.23", 443),
    ("www.bing.com", "198.51.100.24", 443),
    ("github.com", "198.51.100.25", 443),
    ("wdcp.microsoft.com", "198.51.100.26", 443),
    ("ctldl.windowsupdate.com", "198.51.100.27", 80),
    ("intranet.example.com", "10.20.0.16", 443),
    ("", "10.20.0.12", 445),
    ("", "10.20.0.10", 389),
)

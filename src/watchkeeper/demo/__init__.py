"""Layer 5: the demo environment ``wk demo`` builds.

A deterministic synthetic organisation (3,000 people, 300 machines) logging for 30 days, ending at
``end`` (default :data:`DEMO_END`, 2026-01-01T00:00:00Z; ``wk demo`` ends it at today's midnight UTC
so that ``ago()`` queries find data), into SecurityEvent, SigninLogs, DeviceProcessEvents,
DeviceNetworkEvents and Syslog, with attacks hidden in it. ``demo-manifest.json`` in the workspace
folder lists every attack with the hunting queries that find it.

>>> from watchkeeper.demo import build_demo
>>> build = build_demo("var/workspaces/demo")  # doctest: +SKIP
>>> [a.id for a in build.manifest.attacks]  # doctest: +SKIP
['password-spray', 'ssh-brute-force', 'brute-force-success', ...]
"""

from watchkeeper.demo.builder import BACKGROUND, DemoBuild, build_demo, demo_exists
from watchkeeper.demo.manifest import MANIFEST_FILE, AttackRecord, Hunt, Manifest
from watchkeeper.demo.world import DEMO_DAYS, DEMO_END, DEMO_SEED

__all__ = [
    "BACKGROUND",
    "DEMO_DAYS",
    "DEMO_END",
    "DEMO_SEED",
    "MANIFEST_FILE",
    "AttackRecord",
    "DemoBuild",
    "Hunt",
    "Manifest",
    "build_demo",
    "demo_exists",
]

"""Shared by the detection tests: the public Sigma rule pack, converted once per session (about
30 s on two processes), for the modules that check the conversion and the alerts it raises."""

from __future__ import annotations

import pytest

from tests.conftest import SHARED
from watchkeeper.detections.models import DetectionRule
from watchkeeper.detections.sigma import convert_collection

SIGMA_PACK = SHARED / "datasets" / "sigma" / "sigma-rules.tar"


@pytest.fixture(scope="session")
def sigma_pack() -> tuple[list[DetectionRule], list[tuple[str, str]]]:
    """The pack's converted rules and the files skipped with their reasons."""
    if not SIGMA_PACK.exists():
        pytest.skip(f"the Sigma rule pack is not at {SIGMA_PACK}")
    return convert_collection(SIGMA_PACK, workers=2)

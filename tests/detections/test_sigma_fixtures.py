"""The public Sigma rule pack, converted once, raises alerts on recorded attacks: each of the 41 EVTX
attack samples (sbousseaden/EVTX-ATTACK-SAMPLES, a tactic per folder) is ingested alone into its own
workspace and the converted rules run over a window covering its events (``pack_runs``). The issue's
goal is an alert on at least 80% of the files; the figures per tactic are printed (``pytest -s``).

Noise: an alert of a rule none of whose ATT&CK tactics is the one the file is labelled with is
counted as off target (files under ``AutomatedTestingTools`` and ``Other`` carry no tactic and are
left out of that count); the off-target alerts per 1,000 stored rows are the noise figure. The
recordings hold no stretch without attack events, so the off-target count is the nearest measure of
what an analyst would triage for nothing; ``test_sigma_noise`` measures it on recordings with
background activity. The samples and the Sigma pack are read from the shared datasets (skipped,
with the reason, where absent)."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import SHARED
from tests.detections.pack_runs import Outcome, each_alone, over_all, process_pool, tactic_key
from watchkeeper.detections.models import DetectionRule

PACK = SHARED / "datasets" / "sigma" / "sigma-rules.tar"
SAMPLES = SHARED / "datasets" / "windows" / "evtx-attack-samples"
GOAL = 0.8  # issue #5: at least 80% of the attack recordings raise an alert
# what the SigmaHQ pack reaches today (30 of 41, short of the goal: the silent recordings are cases the
# public pack has no rule for, listed in the report); fewer is a conversion or normalisation regression
FLOOR = 30
_NO_TACTIC = ("AutomatedTestingTools", "Other")

pytestmark = [
    pytest.mark.corpus,
    pytest.mark.skipif(not PACK.exists(), reason=f"the Sigma rule pack is not at {PACK}"),
    pytest.mark.skipif(
        not (SAMPLES / "labels.csv").exists(), reason=f"the EVTX attack samples are not at {SAMPLES}"
    ),
]


def _labels() -> list[tuple[Path, tuple[str, ...]]]:
    with (SAMPLES / "labels.csv").open() as labels:
        rows = list(csv.DictReader(labels))
    return [
        (SAMPLES / row["file"], () if row["tactic"] in _NO_TACTIC else (tactic_key(row["tactic"]),))
        for row in rows
    ]


def _tactic(outcome: Outcome) -> str:
    return Path(outcome.path).relative_to(SAMPLES).parts[0]


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    with process_pool() as executor:
        yield executor


@pytest.fixture(scope="module")
def everything(sigma_pack: tuple[list[DetectionRule], object], pool: ProcessPoolExecutor) -> Outcome:
    return over_all(pool, [path for path, _ in _labels()], sigma_pack[0])


@pytest.fixture(scope="module")
def per_file(everything: Outcome, pool: ProcessPoolExecutor) -> list[Outcome]:
    return each_alone(pool, _labels(), everything.alerting)


def _report(outcomes: list[Outcome]) -> str:
    tactics: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        tactics[_tactic(outcome)].append(outcome)
    lines = [f"{t}: {sum(1 for o in os if o.alerting)}/{len(os)}" for t, os in sorted(tactics.items())]
    alerted = sum(1 for o in outcomes if o.alerting)
    lines.append(f"overall: {alerted}/{len(outcomes)} files raise an alert ({alerted / len(outcomes):.0%})")
    lines += [
        f"  {len(o.alerting):3} rules, {o.alerts:3} alerts ({o.off_target} off target) on "
        f"{Path(o.path).relative_to(SAMPLES)} ({o.rows} rows)"
        for o in outcomes
    ]
    return "\n".join(lines)


def test_the_sigma_pack_alerts_on_most_attack_recordings(per_file: list[Outcome]) -> None:
    report = _report(per_file)
    print("\nSigma pack on the EVTX attack samples, files with an alert per tactic:\n" + report)
    assert len(per_file) == 41
    assert all(o.rows for o in per_file), [o.path for o in per_file if not o.rows]
    alerted = sum(1 for o in per_file if o.alerting)
    met = "met" if alerted >= GOAL * len(per_file) else "NOT met"
    print(f"the issue's goal ({GOAL:.0%} of the recordings) is {met}: {alerted}/{len(per_file)}")
    assert alerted >= FLOOR, report


def test_no_converted_rule_fails_on_the_recorded_events(everything: Outcome) -> None:
    # every rule that runs on a table the samples fill compiles and runs: an error is a conversion bug
    assert everything.errors == []


def test_noise_figure(per_file: list[Outcome]) -> None:
    labelled = [o for o in per_file if o.labels]
    rows = sum(o.rows for o in labelled)
    alerts = sum(o.alerts for o in labelled)
    off = sum(o.off_target for o in labelled)
    print(
        f"\n{alerts} alerts over {rows} stored rows of tactic-labelled attack recordings, {off} of them "
        f"from rules of another tactic: {1000 * off / rows:.1f} off-target alerts per 1,000 rows"
    )
    # a file's folder names one tactic where a rule often tags another step of the same attack, so the
    # off-target share here is an upper bound; a rule that fired on everything would drown the analyst
    assert alerts < rows

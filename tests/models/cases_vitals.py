"""Generic-suite cases for the vitals models: NEWS2, per-resident baselines, slow decline and
multivariate outliers, each on seeded synthetic data in which the anomalies are known."""

from __future__ import annotations

from typing import Any

import numpy as np

from models.baseline import ResidentBaseline
from models.decline import DeclineDetector
from models.news2 import News2Scorer
from models.outliers import VitalsOutlierForest, resident_robust_z
from tests.models.checks import Case

T0_MS = 1_764_000_000_000 - (1_764_000_000_000 % 86_400_000)  # a UTC midnight
MINUTE_MS = 60_000


def _normal_vitals(rng: np.random.Generator, hr: float = 72.0) -> dict[str, Any]:
    return {
        "heart_rate": round(float(rng.normal(hr, 4.0)), 1),
        "spo2": float(np.clip(np.rint(rng.normal(97.0, 1.0)), 90, 100)),
        "respiration_rate": round(float(rng.normal(15.0, 1.5)), 1),
        "systolic_bp": float(np.rint(rng.normal(128.0, 8.0))),
        "diastolic_bp": float(np.rint(rng.normal(76.0, 5.0))),
        "temperature": round(float(rng.normal(36.7, 0.2)), 1),
    }


def news2_stream(seed: int) -> list[tuple[dict[str, Any], bool]]:
    """Full observation sets; a tenth are sepsis-like (fast breathing and pulse, low SpO2,
    low BP, fever, sometimes new confusion)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(400):
        x = _normal_vitals(rng)
        x.update(ts=T0_MS + i * 10 * MINUTE_MS, supplemental_oxygen=False, consciousness="A")
        bad = bool(rng.random() < 0.1)
        if bad:
            x["respiration_rate"] = round(float(rng.normal(24.0, 2.5)), 1)
            x["heart_rate"] = round(float(rng.normal(112.0, 10.0)), 1)
            x["spo2"] = float(np.rint(rng.normal(92.5, 1.5)))
            x["systolic_bp"] = float(np.rint(rng.normal(98.0, 8.0)))
            x["temperature"] = round(float(rng.normal(38.6, 0.4)), 1)
            x["consciousness"] = "C" if rng.random() < 0.3 else "A"
        out.append((x, bad))
    return out


def baseline_stream(
    seed: int, *, usual_hr: float = 60.0, episode_hr: float = 95.0
) -> list[tuple[dict[str, Any], bool]]:
    """Four days of 5-minute readings from a resident whose heart rate is usually
    ``usual_hr`` (6 lower at night), with one-hour episodes after day 1: half at
    ``episode_hr``, half with SpO2 down 4 points."""
    rng = np.random.default_rng(seed)
    n = 4 * 288
    episodes = np.zeros(n, dtype=bool)
    for start in rng.choice(np.arange(300, n - 12), size=6, replace=False):
        episodes[start : start + 12] = True
    out = []
    for i in range(n):
        night = (i * 5 / 60) % 24 < 6
        x = _normal_vitals(rng)
        x["heart_rate"] = round(float(rng.normal(usual_hr - (6.0 if night else 0.0), 3.0)), 1)
        if episodes[i]:
            if (i // 100) % 2:
                x["heart_rate"] = round(float(rng.normal(episode_hr, 3.0)), 1)
            else:
                x["spo2"] -= 4.0
        if i % 2:
            del x["systolic_bp"], x["diastolic_bp"]  # BP every 10 minutes only
        x["ts"] = T0_MS + i * 5 * MINUTE_MS
        out.append((x, bool(episodes[i])))
    return out


def decline_stream(seed: int, *, decline: bool = True) -> list[tuple[dict[str, Any], bool]]:
    """Sixteen days of 15-minute readings; from day 9 the resting heart rate creeps up by
    12 bpm over five days, daytime activity falls and nights in bed shorten (a slow decline).
    ``decline=False`` gives the same resident without it."""
    rng = np.random.default_rng(seed)
    days, per_day = 16, 96
    rest_hr = 64.0 + rng.normal(0.0, 1.5, days)  # day-to-day variation
    out = []
    for i in range(days * per_day):
        t_h = i * 0.25
        day, hour = int(t_h // 24), t_h % 24
        frac = float(np.clip((t_h - 9 * 24) / (5 * 24), 0.0, 1.0)) if decline else 0.0
        in_bed_until = 7.0 - 2.0 * frac
        asleep = hour >= 22.0 or hour < in_bed_until
        walking = (not asleep) and rng.random() < 0.25 * (1.0 - 0.7 * frac)
        activity = (2.8 if walking else 1.2) * (1.0 + 0.05 * rng.normal())
        hr = rest_hr[day] + 12.0 * frac + (20.0 if walking else 0.0) + rng.normal(0.0, 3.0)
        x = {
            "ts": T0_MS + int(t_h * 60) * MINUTE_MS,
            "heart_rate": round(float(hr), 1),
            "activity": round(float(activity), 2),
            "bed_occupied": bool(asleep),
        }
        out.append((x, t_h > 9 * 24 and decline))
    return out


def outlier_data(seed: int, *, subtle: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Forty residents with their own usual vitals, where exertion moves pulse, breathing and
    blood pressure together; 3 % of rows are combinations each resident rarely shows. By
    default one vital in them is also extreme (SpO2 down with pulse and breathing up; fever
    with low BP); ``subtle`` ones only break the usual co-movement (pulse up with breathing
    and SpO2 down; slight fever with slightly low BP). Features are robust z within each
    resident, as the forest expects."""
    rng = np.random.default_rng(seed)
    if subtle:
        kinds = np.array([[1.5, -1.0, -0.8, 0.0, 0.0], [0.3, 0.3, 0.0, 0.9, -0.9]])
    else:
        kinds = np.array([[1.8, 1.8, -2.5, 0.0, 0.0], [1.0, 0.5, 0.0, 3.5, -2.5]])
    loading = np.array([[1.0, 0.8, -0.3, 0.1, 0.6]])
    sd = np.array([4.0, 1.5, 1.0, 0.2, 8.0])
    rows, groups, labels = [], [], []
    for r in range(40):
        mu = np.array(
            [rng.normal(72, 10), rng.normal(16, 2), rng.normal(96, 1.2), 36.7, rng.normal(130, 12)]
        )
        x = mu + sd * (rng.normal(0.0, 1.0, (60, 1)) * loading + 0.4 * rng.normal(0, 1, (60, 5)))
        y = rng.random(60) < 0.03
        for j in np.flatnonzero(y):
            x[j] = mu + sd * kinds[int(rng.random() < 0.5)]
        rows.append(x)
        groups += [r] * 60
        labels.append(y)
    X = resident_robust_z(np.vstack(rows), np.array(groups))
    return X, np.concatenate(labels)


CASES = [
    Case("news2", "stream", lambda seed: News2Scorer(), news2_stream, min_auroc=0.9),
    Case(
        "resident_baseline",
        "stream",
        lambda seed: ResidentBaseline(warmup=144),
        baseline_stream,
        min_auroc=0.9,
    ),
    Case("decline_cusum", "stream", lambda seed: DeclineDetector(), decline_stream, min_auroc=0.85),
    Case(
        "vitals_outlier_forest",
        "batch",
        lambda seed: VitalsOutlierForest(n_estimators=100, random_state=seed),
        outlier_data,
        min_auroc=0.85,
    ),
]


def synthetic_figures() -> dict[str, Any]:
    """The synthetic figures quoted in docs/evaluation/vitals-models.md (run this module)."""
    import time

    from sklearn.metrics import roc_auc_score

    from models.news2 import score_parameter

    # Personal baseline vs a population rule on heart rate: 20 residents whose usual rate is
    # 55-100 bpm, episodes at usual + 20 (readings of the SpO2 episodes left out).
    rng = np.random.default_rng(100)
    y, personal, population, chart = [], [], [], []
    for r in range(20):
        usual = float(rng.uniform(55.0, 100.0))
        model = ResidentBaseline()
        for i, (x, bad) in enumerate(baseline_stream(r, usual_hr=usual, episode_hr=usual + 20)):
            z = model.zscores_one(x).get("heart_rate", 0.0)
            model.learn_one(x)
            if i < 300 or (bad and abs(x["heart_rate"] - usual) < 10):
                continue  # warm-up, and the SpO2 episodes
            y.append(bad)
            personal.append(abs(z))
            population.append(abs(x["heart_rate"] - 75.0) / 12.0)
            chart.append(score_parameter("heart_rate", x["heart_rate"]))
    baseline = {
        "readings": len(y),
        "auroc_personal_z": round(roc_auc_score(y, personal), 3),
        "auroc_population_z": round(roc_auc_score(y, population), 3),
        "auroc_news2_heart_rate": round(roc_auc_score(y, chart), 3),
    }

    # Decline: days from onset until the score crosses h; steady residents crossing h.
    delays: dict[int, list[int]] = {4: [], 5: []}
    false_alarms = {4: 0, 5: 0}
    for seed in range(30):
        for declining in (False, True):
            detector, daily = DeclineDetector(), []
            for i, (x, _) in enumerate(decline_stream(seed, decline=declining)):
                if i % 96 == 0:
                    daily.append(detector.score_one(x))
                detector.learn_one(x)
            for h in delays:
                crossed = [d for d, v in enumerate(daily) if v > h]
                if declining:
                    delays[h].append(crossed[0] - 9 if crossed else 99)
                elif crossed:
                    false_alarms[h] += 1
    decline = {
        f"h{h}": {
            "median_delay_days": float(np.median(delays[h])),
            "max_delay_days": max(delays[h]),
            "steady_residents_alarmed_of_30": false_alarms[h],
        }
        for h in delays
    }

    # Multivariate forest vs the largest single |z| and a Mahalanobis distance, ten seeds.
    from sklearn.covariance import MinCovDet

    outliers: dict[str, dict[str, float]] = {}
    for subtle in (False, True):
        got: dict[str, list[float]] = {"forest": [], "max_abs_z": [], "mahalanobis": []}
        for seed in range(10):
            X, labels = outlier_data(seed, subtle=subtle)
            model = VitalsOutlierForest(n_estimators=200, random_state=seed).fit(X)
            got["forest"].append(roc_auc_score(labels, model.score_samples(X)))
            got["max_abs_z"].append(roc_auc_score(labels, np.abs(X).max(axis=1)))
            mcd = MinCovDet(random_state=seed).fit(X)
            got["mahalanobis"].append(roc_auc_score(labels, mcd.mahalanobis(X)))
        key = "subtle" if subtle else "extreme"
        outliers[key] = {f"auroc_{k}_mean": round(float(np.mean(v)), 3) for k, v in got.items()}

    # State and speed per resident.
    model = ResidentBaseline()
    stream = baseline_stream(0)
    started = time.perf_counter()
    for x, _ in stream:
        model.score_one(x)
        model.learn_one(x)
    per_reading_us = (time.perf_counter() - started) / len(stream) * 1e6
    decliner = DeclineDetector()
    for x, _ in decline_stream(0):
        decliner.learn_one(x)
    import tracemalloc

    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    many = [ResidentBaseline() for _ in range(2000)]
    for m in many:
        m.learn_one(stream[0][0])
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    in_memory = sum(d.size_diff for d in after.compare_to(before, "filename")) / len(many)
    state = {
        "baseline_state_bytes": model.state_nbytes(),
        "baseline_bytes_in_memory": round(in_memory),
        "baseline_snapshot_bytes": len(model.snapshot()),
        "baseline_us_per_reading": round(per_reading_us, 1),
        "decline_state_bytes": decliner.state_nbytes(),
        "decline_snapshot_bytes": len(decliner.snapshot()),
    }
    return {
        "baseline": baseline,
        "decline": decline,
        "decline_on_simulator": simulator_decline(),
        "outliers": outliers,
        "state": state,
    }


def simulator_decline(n: int = 12, seed: int = 3, days: int = 16) -> dict[str, Any]:
    """The decline detector on careloop's own simulator (``simulators``, 1-minute steps):
    every other resident gets ``slow_decline`` from day 8, the rest none."""
    from simulators.episodes import Assignment
    from simulators.home import CareHome

    ids = [p.id for p in CareHome(n, seed=seed, scenarios="none").profiles]
    declining = set(ids[1::2])
    home = CareHome(
        n,
        seed=seed,
        interval_s=60,
        scenarios=[Assignment(rid, "slow_decline", day=8) for rid in sorted(declining)],
    )
    models = {rid: DeclineDetector() for rid in ids}
    daily: dict[str, list[float]] = {rid: [] for rid in ids}
    for step, emissions in home.iter_emissions(0, days * 1440):
        for e in emissions:
            if e.kind == "vitals":
                if step % 1440 == 0:
                    daily[e.resident].append(models[e.resident].score_one(e.reading))
                models[e.resident].learn_one(e.reading)
    delays = [next((d - 8 for d, v in enumerate(daily[rid]) if v > 4.0), 99) for rid in declining]
    return {
        "declining_crossing_h4": f"{sum(d < 99 for d in delays)}/{len(declining)}",
        "delay_days_h4": sorted(delays),
        "steady_max_score": round(max(max(daily[r]) for r in ids if r not in declining), 2),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(synthetic_figures(), indent=1))

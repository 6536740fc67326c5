"""A fleet of thousands of cheap vitals devices, for load-testing ingest and the broker.

Unlike :class:`~simulators.home.CareHome` there are no routines or scenarios: each device has a
seeded baseline plus per-step hashed noise, and payloads are formatted straight to JSON bytes
with f-strings (no pydantic on the hot path). Topics are built once per device with
:class:`careloop.wire.Topic`; the tests check that :func:`careloop.wire.decode` accepts every
payload shape produced here.
"""

from __future__ import annotations

import numpy as np

from careloop.wire import POSTURES, Topic, check_id
from simulators.home import DEFAULT_START_MS
from simulators.noise import keyed, resident_keys, uniforms

_FLEET_STREAM = 0xF1EE7
_STEP_CH = 51


class Fleet:
    """``n_devices`` terminals at ``site``, each sending one vitals message per step.

    Device ``i`` is ``term-<prefix><i>`` for resident ``<prefix><i>``; its ``seq`` is the
    step number, which increases by one with every message that device sends.
    """

    def __init__(
        self,
        n_devices: int,
        *,
        seed: int,
        site: str = "load-test",
        start_ms: int = DEFAULT_START_MS,
        interval_s: float = 10.0,
        prefix: str = "f",
    ) -> None:
        if n_devices < 1:
            raise ValueError("a fleet needs at least one device")
        check_id(site, "site")
        self.seed = seed
        self.site = site
        self.start_ms = int(start_ms)
        self.interval_ms = round(interval_s * 1000)
        width = max(5, len(str(n_devices - 1)))
        self.residents = [f"{prefix}{i:0{width}d}" for i in range(n_devices)]
        self.devices = [f"term-{r}" for r in self.residents]
        self.topics = [str(Topic(site, d, "vitals")) for d in self.devices]
        self._heads = [
            f'{{"v":1,"device":"{d}","resident":"{r}","seq":'
            for d, r in zip(self.devices, self.residents, strict=True)
        ]
        rng = np.random.default_rng([seed & (2**64 - 1), _FLEET_STREAM])
        self._hr = rng.uniform(58.0, 95.0, n_devices)
        self._spo2 = rng.uniform(94.0, 98.5, n_devices)
        self._rr = rng.uniform(12.5, 18.5, n_devices)
        self._keys = resident_keys(seed ^ _FLEET_STREAM, n_devices)

    def __len__(self) -> int:
        return len(self.devices)

    def time_ms(self, step: int) -> int:
        """Timestamp of ``step`` (Unix epoch ms)."""
        return self.start_ms + step * self.interval_ms

    def payloads(self, step: int) -> list[tuple[str, bytes]]:
        """``(topic, JSON payload)`` for every device at ``step``."""
        u = uniforms(keyed(self._keys, step, _STEP_CH), 5)
        walking = u[:, 3] < 0.08
        hr = np.round(self._hr + 6.0 * (u[:, 0] - 0.5) + np.where(walking, 18.0, 0.0), 1)
        spo2 = np.rint(np.minimum(self._spo2 + 2.0 * (u[:, 1] - 0.5), 100.0))
        rr = np.round(self._rr + 2.0 * (u[:, 2] - 0.5) + np.where(walking, 4.0, 0.0), 1)
        steps = np.where(walking, np.rint(10.0 + 8.0 * u[:, 4]), 0.0).astype(np.int64)
        posture = np.where(walking, 3, 1)
        ts = self.time_ms(step)
        out = []
        for topic, head, h, s, r, st, p in zip(
            self.topics,
            self._heads,
            hr.tolist(),
            spo2.tolist(),
            rr.tolist(),
            steps.tolist(),
            posture.tolist(),
            strict=True,
        ):
            body = (
                f'{head}{step},"ts":{ts},"readings":[{{"ts":{ts},"heart_rate":{h},'
                f'"spo2":{s},"respiration_rate":{r},"steps":{st},"posture":"{POSTURES[p]}"}}]}}'
            )
            out.append((topic, body.encode()))
        return out

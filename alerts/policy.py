"""The tier policy: deadlines and escalation chains per tier, kind and site, from one TOML file.

The defaults (``alerts/policy.toml``, documented in docs/alerts.md) follow our care standard;
a deployment passes its own file with ``careloop alerts --policy FILE``. Resolution order for
one alert, later wins: ``[tiers.<tier>]``, ``[kinds.<kind>]``, ``[sites.<site>.tiers.<tier>]``,
``[sites.<site>.kinds.<kind>]``. Everything is validated at start-up, so a typo stops the
service instead of silently paging nobody.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from alerts.errors import PolicyError
from careloop.units import duration_ms
from careloop.wire.needs import NEED_KINDS, TIERS
from people.profile import EscalationStep

#: A step of an escalation chain: "family", "volunteers", "coordinator", "webhook". The names
#: are people's (a care plan's own chain, :attr:`people.Expectation.escalate`, uses them too).
ChainStep = EscalationStep
CHAIN_STEPS: tuple[str, ...] = get_args(ChainStep)
DEFAULT_POLICY = Path(__file__).with_name("policy.toml")

_TIER_KEYS = {"respond", "step", "resolve", "expire", "parallel", "chain", "skills"}


def parse_duration(value: object, where: str) -> int:
    """``"90s"``, ``"5m"``, ``"12h"``, ``"7d"`` or a number of seconds -> milliseconds."""
    try:
        return duration_ms(value)
    except ValueError as exc:
        raise PolicyError(where, str(exc)) from exc


@dataclass(frozen=True, slots=True)
class TierRule:
    """The resolved rule for one alert: deadlines (ms), chain, parallelism, skills."""

    respond_ms: int
    step_ms: int
    resolve_ms: int
    expire_ms: int
    parallel: int
    chain: tuple[ChainStep, ...]
    skills: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Routing:
    """Fairness and handover knobs."""

    fair_window_ms: int
    owned_weight: int
    handover_ms: int


class Policy:
    """A loaded, validated policy; :meth:`rule` resolves one (site, tier, kind)."""

    def __init__(self, data: dict[str, Any], source: str = "<dict>") -> None:
        self.source = source
        self._data = data
        self._check(data)
        routing = data.get("routing", {})
        self.routing = Routing(
            fair_window_ms=parse_duration(routing.get("fair_window", "8h"), "routing.fair_window"),
            owned_weight=int(routing.get("owned_weight", 3)),
            handover_ms=parse_duration(routing.get("handover", "10m"), "routing.handover"),
        )
        self._cache: dict[tuple[str, str, str], TierRule] = {}
        for tier in TIERS:  # resolve every default once, so an error shows at start-up
            for kind in NEED_KINDS:
                self.rule("", tier, kind)
        for site in data.get("sites", {}):
            for tier in TIERS:
                for kind in NEED_KINDS:
                    self.rule(site, tier, kind)

    @classmethod
    def load(cls, path: Path | None = None) -> Policy:
        """Read a policy file (default: the shipped ``alerts/policy.toml``)."""
        path = Path(path) if path is not None else DEFAULT_POLICY
        try:
            with path.open("rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError as exc:
            raise PolicyError(str(path), "file not found") from exc
        except tomllib.TOMLDecodeError as exc:
            raise PolicyError(str(path), f"not valid TOML: {exc}") from exc
        return cls(data, str(path))

    def rule(self, site: str, tier: str, kind: str) -> TierRule:
        """The rule for an alert of ``kind`` at ``tier`` and ``site``."""
        key = (site, tier, kind)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        d = self._data
        site_d = d.get("sites", {}).get(site, {})
        merged: dict[str, Any] = {}
        for layer in (
            d.get("tiers", {}).get(tier, {}),
            d.get("kinds", {}).get(kind, {}),
            site_d.get("tiers", {}).get(tier, {}),
            site_d.get("kinds", {}).get(kind, {}),
        ):
            merged.update(layer)
        where = f"{site or '*'}/{tier}/{kind}"
        for need in ("respond", "step", "resolve", "expire", "chain"):
            if need not in merged:
                raise PolicyError(where, f"no {need!r} for this tier")
        chain = tuple(merged["chain"])
        bad = [s for s in chain if s not in CHAIN_STEPS]
        if not chain or bad:
            raise PolicyError(f"{where}.chain", f"steps must be among {CHAIN_STEPS}: {bad}")
        parallel = merged.get("parallel", 2)
        if not isinstance(parallel, int) or isinstance(parallel, bool) or parallel < 1:
            raise PolicyError(f"{where}.parallel", "must be an integer >= 1")
        rule = TierRule(
            respond_ms=parse_duration(merged["respond"], f"{where}.respond"),
            step_ms=parse_duration(merged["step"], f"{where}.step"),
            resolve_ms=parse_duration(merged["resolve"], f"{where}.resolve"),
            expire_ms=parse_duration(merged["expire"], f"{where}.expire"),
            parallel=parallel,
            chain=chain,
            skills=tuple(str(s) for s in merged.get("skills", ())),
        )
        if rule.expire_ms < rule.respond_ms:
            raise PolicyError(where, "expire must not be shorter than respond")
        self._cache[key] = rule
        return rule

    def webhook(self, site: str) -> str | None:
        """The site's emergency webhook URL, if any (``[sites.<site>] emergency_webhook``)."""
        url = self._data.get("sites", {}).get(site, {}).get("emergency_webhook")
        if url is None:
            url = self._data.get("emergency_webhook")
        return str(url) if url else None

    @staticmethod
    def _check(data: dict[str, Any]) -> None:
        known = {"tiers", "kinds", "routing", "sites", "emergency_webhook"}
        for key in data:
            if key not in known:
                raise PolicyError(key, f"unknown section; expected one of {sorted(known)}")
        Policy._check_layers(data, "")
        for site, sd in data.get("sites", {}).items():
            if not isinstance(sd, dict):
                raise PolicyError(f"sites.{site}", "must be a table")
            for key in sd:
                if key not in {"tiers", "kinds", "emergency_webhook"}:
                    raise PolicyError(f"sites.{site}.{key}", "unknown key")
            Policy._check_layers(sd, f"sites.{site}.")

    @staticmethod
    def _check_layers(data: dict[str, Any], prefix: str) -> None:
        for section, names in (("tiers", TIERS), ("kinds", NEED_KINDS)):
            for name, body in data.get(section, {}).items():
                if name not in names:
                    raise PolicyError(f"{prefix}{section}.{name}", f"unknown {section[:-1]}")
                if not isinstance(body, dict):
                    raise PolicyError(f"{prefix}{section}.{name}", "must be a table")
                for key in body:
                    if key not in _TIER_KEYS:
                        raise PolicyError(f"{prefix}{section}.{name}.{key}", "unknown key")

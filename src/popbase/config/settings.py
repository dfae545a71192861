"""The project file's other sections: the area, output, resolution, quality and access."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from popbase.config._base import _Strict


class ProjectInfo(_Strict):
    """What the base covers."""

    name: str
    region_code: str = Field(description="Division code of the area the base covers")
    as_of: dt.date | None = None

    @field_validator("region_code", mode="before")
    @classmethod
    def _region_code_digits(cls, v: str) -> str:
        if not isinstance(v, str) or not v.isdigit() or len(v) not in (2, 4, 6, 9, 12):
            raise ValueError(
                f"was {v!r}, expected a statistical division code of 2, 4, 6, 9 or 12 "
                "digits (e.g. '310112' for a district); quote it so YAML keeps it a string"
            )
        return v


class OutputConfig(_Strict):
    """Where builds write their snapshots."""

    dir: Path = Path(".")
    keep_snapshots: int = Field(default=3, ge=1)


class ResolutionConfig(_Strict):
    """Probabilistic resolution of person records without a reliable ID number.

    A record set aside for its ID (missing, mistyped, impossible) joins the known person
    whose records it most probably belongs to when that probability reaches
    ``match_threshold`` and no other person reaches ``review_threshold``; between the two
    it waits in the review queue; below, it founds a person of its own when it lists a
    resident (``unidentified_residents``), or stays in quarantine.
    """

    probabilistic: bool = Field(
        default=True, description="Link records without a reliable ID to known persons"
    )
    match_threshold: float = Field(default=0.9, gt=0.0, lt=1.0)
    review_threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    training_pairs: int = Field(
        default=1_000_000,
        ge=10_000,
        description="Record pairs sampled for training (u by random pairs, m by EM)",
    )
    unidentified_residents: bool = Field(
        default=True,
        description="A row without a usable ID that matches no known person, with a name, "
        "a birth date and a residence linked to a room, founds a person of its own "
        "(身份待核实); false keeps such rows in quarantine",
    )

    @model_validator(mode="after")
    def _ordered(self) -> ResolutionConfig:
        if self.review_threshold > self.match_threshold:
            raise ValueError(
                f"review_threshold ({self.review_threshold}) is above match_threshold "
                f"({self.match_threshold}); the review band lies below the match threshold"
            )
        return self


class PortraitConfig(_Strict):
    """The "1+9+X" portrait rules."""

    rules: Path | None = Field(
        default=None,
        description="A YAML file of tag rules; the shipped defaults when omitted",
    )


class QualityConfig(_Strict):
    """Thresholds of the quality report: a value beyond one is flagged."""

    min_validation_rate: float = Field(default=0.95, ge=0, le=1)
    min_link_rate: float = Field(default=0.95, ge=0, le=1)
    min_completeness: float = Field(default=0.9, ge=0, le=1)
    min_consistency: float = Field(default=0.98, ge=0, le=1)
    max_age_days: int = Field(default=90, ge=0, description="Days since a source's as-of date")
    max_change_pct: float = Field(
        default=5.0, ge=0, description="Change in a community's residents since the last build"
    )


class IngestConfig(_Strict):
    """What a delivery must hold for its rows to be read and its build to be published.

    ``max_length`` raises (or lowers) the characters a value of a field may have before
    its row is quarantined as ``value_too_long`` (defaults and their reasons in
    :mod:`popbase.ops.value_limits`; ``other`` for every field not listed there).
    ``min_delivery_share``: a source whose usable rows (accepted or merged) fall below
    this share of those of the snapshot being served stops publication, like one that
    delivers none, unless the build is told to accept it (``--accept-partial``).
    """

    max_length: dict[str, int] = Field(
        default_factory=dict,
        description="Characters a value of a canonical field (or `other`) may have",
    )
    min_delivery_share: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="A source delivering fewer usable rows than this share of its last "
        "published delivery stops publication",
    )

    @field_validator("max_length")
    @classmethod
    def _known_fields(cls, v: dict[str, int]) -> dict[str, int]:
        from popbase.config.sources import CANONICAL_FIELDS

        known = {f for fields in CANONICAL_FIELDS.values() for f in fields} | {"other"}
        problems = [f"unknown field {f!r}" for f in v if f not in known]
        problems += [f"{f}: {n} is below 1" for f, n in v.items() if n < 1]
        if problems:
            raise ValueError(
                "; ".join(problems) + "; give canonical field names (as under a source's "
                "`columns:`) or `other`, each with a number of characters"
            )
        return v


class PasswordHashConfig(_Strict):
    """Argon2id cost: RFC 9106's second recommended setting by default.

    Lower costs suit only machines that cannot spare 64 MiB per sign-in; OWASP's floor is
    ``memory_kib: 19456, time_cost: 2, parallelism: 1``.
    """

    time_cost: int = Field(default=3, ge=2, le=20)
    memory_kib: int = Field(default=65536, ge=19456, le=4 * 1024 * 1024)
    parallelism: int = Field(default=4, ge=1, le=16)


class ThrottleConfig(_Strict):
    """Limits on sign-in and on exact lookups, shared by the server's worker processes."""

    store: Path = Field(
        default=Path("throttle.sqlite"),
        description="The SQLite file of the counters, shared by every server process",
    )
    sign_in_failures: int = Field(
        default=5, ge=1, description="Wrong passwords of a user before it is locked"
    )
    lock_seconds: float = Field(
        default=30.0, gt=0, description="The first lock; each further failure doubles it"
    )
    max_lock_seconds: float = Field(default=3600.0, gt=0, description="The longest lock")
    failure_memory_seconds: float = Field(
        default=3600.0, gt=0, description="A user's failures are forgotten after this long"
    )
    address_burst: int = Field(
        default=10, ge=1, description="Wrong passwords an address may send at once (bucket)"
    )
    address_refill_seconds: float = Field(
        default=6.0, gt=0, description="Seconds for an address to earn one more sign-in"
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Reverse proxies whose X-Forwarded-For names the client address",
    )
    hashing_queue: int = Field(
        default=4,
        ge=0,
        description="Sign-ins that may wait for the password hasher per process; more: 503",
    )
    lookup_misses: int = Field(
        default=10, ge=1, description="Exact lookups finding no one a user may make per window"
    )
    lookup_window_seconds: float = Field(
        default=900.0, gt=0, description="The window of lookup_misses"
    )
    lookup_misses_per_day: int = Field(
        default=50,
        ge=1,
        description=(
            "Exact lookups finding no one a user may make in 24 hours: the short window "
            "alone would let a patient user try ~1,000 numbers a day, all the candidates "
            "a masked ID leaves given a birth date and a sex"
        ),
    )


class AccessConfig(_Strict):
    """Who may use the API: users, roles, tokens and the audit trail."""

    users: Path = Field(
        default=Path("users.json"),
        description="The users file that `popbase users` keeps (Argon2id password hashes)",
    )
    roles: Path | None = Field(
        default=None, description="A roles file; the shipped security/roles.yaml when unset"
    )
    token_hours: float = Field(default=8.0, gt=0, le=24 * 30, description="Bearer token life")
    password_hash: PasswordHashConfig = Field(
        default_factory=lambda: PasswordHashConfig(),
        description="Argon2id cost of new password hashes",
    )
    audit_log: Path = Field(
        default=Path("audit/audit.log"),
        description="The keyed, chained audit log of every API request",
    )
    audit_key: Path | None = Field(
        default=None,
        description=(
            "The audit key file, outside the audit folder; `.popbase-keys/audit.key` in the "
            "output folder when unset (POPBASE_AUDIT_KEY overrides the file)"
        ),
    )
    mask_candidates: int = Field(
        default=1000,
        ge=1,
        description="Values a mask must leave possible, given all else the role sees",
    )
    throttle: ThrottleConfig = Field(
        default_factory=lambda: ThrottleConfig(),
        description="Sign-in lockout and limits, and the limit on lookups that miss",
    )

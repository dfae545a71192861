"""The measures of a unit's population, and what each is called.

Shared by the roll-up stage that counts them, the publish stage, suppression, the exports
and the API.
"""

from __future__ import annotations

MEASURES = ("resident", "usual_resident", "floating", "registered", "absent", "unknown")
# What each measure is called, in Chinese and in English, for the API and the exports.
MEASURE_LABELS: dict[str, dict[str, str]] = {
    "resident": {"zh": "实有人口", "en": "residents"},
    "usual_resident": {"zh": "常住人口", "en": "usual residents"},
    "floating": {"zh": "流动人口", "en": "floating"},
    "registered": {"zh": "户籍人口", "en": "registered (hukou)"},
    "absent": {"zh": "人不在户在", "en": "registered, living elsewhere"},
    "unknown": {"zh": "待核实", "en": "registered, residence to be verified"},
    "households": {"zh": "户数", "en": "households"},
}

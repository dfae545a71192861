"""Score the address parser, and cpca beside it, on an annotated public corpus.

``popbase eval address --corpus FILE --format naacl|bmes|ccks`` runs
:func:`evaluate_corpus`; its result has a stable JSON shape::

    {"corpus", "format", "lines", "tags": {tag: {"precision", "recall", "f1", "support"}},
     "exact_match", "shanghai": {"lines", "tags", "exact_match"},
     "cpca": {tag: {...}}, "shanghai_cpca": {tag: {...}},
     "parser_by_text": {tag: {...}}, "shanghai_parser_by_text": {tag: {...}}}

``parser_by_text`` scores the parser's prov/city/district exactly as cpca is scored (by
the text of the gold component), so that the two compare like with like.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from popbase.address.corpus import CorpusFormat, GoldAddress, read_corpus
from popbase.address.gazetteer import Gazetteer, bundled_places
from popbase.address.parse import Address, AddressParser
from popbase.address.scoring import (
    CPCA_TAGS,
    Counts,
    cpca_counts,
    exact_match,
    is_shanghai,
    name_stem,
    report,
    span_counts,
    total_counts,
)
from popbase.errors import PopbaseError

Progress = Callable[[int, int], None]


class MissingDependencyError(PopbaseError, ImportError):
    """An optional package the command needs is not installed."""


def predicted_spans(address: Address) -> list[tuple[str, int, int]]:
    """The parser's components as ``(tag, start, end)`` in the original text."""
    return [(tag, a, b) for tag, (a, b) in address.spans.items()] + address.others


def cpca_names(texts: Sequence[str]) -> list[dict[str, str]]:
    """The province, city and district cpca reads in each text (``""`` for none)."""
    try:
        import cpca  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "cpca is not installed; the corpus evaluation compares with it. "
            "Fix: pip install 'popbase[eval]' (or pip install cpca==0.5.5)"
        ) from None
    frame = cpca.transform(list(texts))
    columns = {"prov": "省", "city": "市", "district": "区"}
    # cpca writes NaN where it found nothing.
    values = {t: [v if isinstance(v, str) else "" for v in frame[c]] for t, c in columns.items()}
    return [{t: values[t][i] for t in columns} for i in range(len(frame))]


def _gold_text(g: GoldAddress) -> dict[str, str]:
    return {t: v for t in CPCA_TAGS if (v := g.component(t)) is not None}


def _block(
    gold: Sequence[GoldAddress],
    parsed: Sequence[Address],
    cpca: Sequence[dict[str, str]],
) -> dict[str, Any]:
    per_tag = []
    exact = 0
    by_text = []
    by_cpca = []
    for g, a, c in zip(gold, parsed, cpca, strict=True):
        pred = predicted_spans(a)
        per_tag.append(span_counts(g.spans, pred))
        exact += exact_match(g.spans, pred)
        truth = _gold_text(g)
        mine = {t: a.components[t] for t in CPCA_TAGS if t in a.components}
        by_text.append(_by_text(g.text, truth, mine))
        by_cpca.append(cpca_counts(g.text, truth, c))
    return {
        "lines": len(gold),
        "tags": report(total_counts(per_tag)),
        "exact_match": round(exact / len(gold), 4) if gold else 0.0,
        "cpca": report(total_counts(by_cpca), CPCA_TAGS),
        "parser_by_text": report(total_counts(by_text), CPCA_TAGS),
    }


def _by_text(text: str, truth: dict[str, str], mine: dict[str, str]) -> dict[str, Counts]:
    # The parser's components are readings of the text by construction; score them as
    # cpca's are: right when the stems agree.
    out = {t: Counts() for t in CPCA_TAGS}
    for tag in CPCA_TAGS:
        value, gold = mine.get(tag), truth.get(tag)
        if value is not None and gold is not None and name_stem(value) == name_stem(gold):
            out[tag].tp += 1
            continue
        if value is not None:
            out[tag].fp += 1
        if gold is not None:
            out[tag].fn += 1
    return out


def evaluate_corpus(
    path: Path | str,
    format: CorpusFormat,
    *,
    parser: AddressParser | None = None,
    with_cpca: bool = True,
) -> dict[str, Any]:
    """Score the parser (and cpca) on a corpus file.

    Parameters
    ----------
    path
        The corpus file, read at run time (the corpora may not be copied).
    format
        ``naacl``, ``bmes`` or ``ccks``.
    parser
        The parser to score; by default one over the bundled divisions.
    with_cpca
        Also score cpca on prov, city and district.

    Returns
    -------
    dict
        The shape described in the module docstring.
    """
    gold = read_corpus(path, format)
    parser = parser or AddressParser(Gazetteer(bundled_places()))
    cache: dict[str, Address] = {}
    parsed = []
    for g in gold:
        if g.text not in cache:
            cache[g.text] = parser.parse(g.text)
        parsed.append(cache[g.text])
    cpca = cpca_names([g.text for g in gold]) if with_cpca else [{} for _ in gold]
    everything = _block(gold, parsed, cpca)
    sh = [i for i, g in enumerate(gold) if is_shanghai(g.text)]
    shanghai = _block([gold[i] for i in sh], [parsed[i] for i in sh], [cpca[i] for i in sh])
    out: dict[str, Any] = {
        "corpus": str(path),
        "format": format,
        "lines": everything["lines"],
        "tags": everything["tags"],
        "exact_match": everything["exact_match"],
        "shanghai": {k: shanghai[k] for k in ("lines", "tags", "exact_match")},
        "cpca": everything["cpca"] if with_cpca else {},
        "shanghai_cpca": shanghai["cpca"] if with_cpca else {},
        "parser_by_text": everything["parser_by_text"],
        "shanghai_parser_by_text": shanghai["parser_by_text"],
    }
    return out

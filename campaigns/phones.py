"""Phone number normalisation: raw list values -> E.164, validity, line type, region, zones.

:func:`normalise` is the reference: it asks phonenumbers and nothing else.
:class:`Normaliser` gives the same answers faster for the common case, a
North American (NANP) number written in one of the usual ways, and hands every
other value to :func:`normalise`.

The fast path has two parts.

* A strict parse of ``+1 (212) 555-1234``-like strings (digits, spaces, dots,
  dashes, one pair of brackets around the area code, an ``x12`` or ``ext. 12``
  extension, which E.164 leaves out).  It accepts only shapes
  for which phonenumbers' own parser is known to yield country code 1 and the
  ten digits as the national number; anything else (letters, extensions, IDD
  prefixes, other regions' defaults) goes to phonenumbers.
* :class:`NanpTable`, derived at start-up from phonenumbers' metadata.  What
  phonenumbers answers for a NANP number (region, validity, type, zones) is a
  function of regular expressions over its ten digits and of a zone table
  keyed by prefixes.  Each expression is compiled here into an automaton over
  the digits, and the ten-digit space is walked as a prefix tree: a prefix is
  *decided* once every expression either matches all of its completions or
  none of them and no zone prefix is longer.  For a decided prefix, the answer
  is the same for every completion, so it is taken from phonenumbers itself on
  one representative.  The lookup tries the prefixes of a number from short to
  long; decided prefixes form an antichain, so the first hit is the answer.
  The derivation takes seconds, so its result is cached as JSON under
  ``$XDG_CACHE_HOME/campaign-dialer/``, keyed by phonenumbers' version and this
  module's text: every list-parsing worker reads it in a fraction of that.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import json
import os
import re
import tempfile
from pathlib import Path
from re import _constants as sre_constants  # the stable parser behind `re` (no warning)
from re import _parser as sre_parse
from typing import Any, Callable, Iterable, NamedTuple

import phonenumbers
from phonenumbers import phonenumberutil, timezone as pn_timezone, tzdata
from phonenumbers.phonemetadata import PhoneMetadata

NANP_COUNTRY_CODE = 1
NANP_LENGTH = 10
#: the number-description fields phonenumbers' ``_number_type_helper`` consults.
DESC_FIELDS = ("general_desc", "premium_rate", "toll_free", "shared_cost", "voip",
               "personal_number", "pager", "uan", "voicemail", "fixed_line", "mobile")
#: default regions whose national shapes the fast parser accepts (others: ``+1`` only).
FAST_NATIONAL_REGIONS = frozenset({"US", "CA"})
#: exchanges whose answer a :class:`Normaliser` remembers (then it starts again).
HEADS_MEMO_SIZE = 100_000

#: builds a Number from a tuple at C level (the generated ``__new__`` is Python code).
_new_tuple = tuple.__new__
_TYPE_NAMES = {value: name.lower() for name, value in vars(phonenumbers.PhoneNumberType).items()
               if name.isupper()}

# Runs of separators and leading spaces are possessive (``*+``, Python 3.11): what follows
# them never starts with one, so giving characters back never finds a match; the
# regex engine does not try (a quarter less time per value, same matches).
_SEP = r"[ .\-]*+"
_AREA = r"(?:\(([2-9][0-9]{2})\)|([2-9][0-9]{2}))"
# An extension phonenumbers would split off and E.164 leaves out ("x12", " ext. 345").
_EXTENSION = r"(?: ?(?:x|ext\.?) ?[0-9]{1,6})?"
_TAIL = rf"{_SEP}([0-9]{{3}}){_SEP}([0-9]{{4}}){_EXTENSION} *"
_PLUS_ONE_RE = re.compile(rf" *+\+1{_SEP}{_AREA}{_TAIL}")
_NATIONAL_RE = re.compile(rf" *+(?:\+?1{_SEP})?{_AREA}{_TAIL}")


class Number(NamedTuple):
    """A parsed phone number (a NamedTuple: built a million times per load, cheaply)."""

    #: ``+12125551234``
    e164: str
    is_valid: bool
    #: phonenumbers' PhoneNumberType name in lowercase: ``fixed_line_or_mobile``, ``toll_free``...
    line_type: str
    #: ISO 3166-1 region, ``""`` when phonenumbers knows none.
    region: str
    #: phonenumbers' candidate IANA zones (``("Etc/Unknown",)`` when it has none).
    zones: tuple[str, ...]

    def __reduce__(self) -> tuple[Any, ...]:
        # Unpickle with C-level tuple.__new__, not the generated Python __new__:
        # parsing workers send a million of these back.
        return tuple.__new__, (type(self), tuple(self))


def normalise(raw: str, default_region: str = "US") -> Number | None:
    """Parse ``raw`` with phonenumbers alone; None when it is not a phone number at all.

    Extensions are dropped; vanity letters are read as digits.

    Parameters
    ----------
    raw:
        The value as it came (``(212) 555-1234``, ``+44 20 7946 0958``, ``1-800-FLOWERS``).
    default_region:
        The region assumed when the value carries no country code.

    Returns
    -------
    Number or None
        None when phonenumbers cannot parse the value or it is blank.

    >>> normalise("(202) 456-1111 ext. 12")
    Number(e164='+12024561111', is_valid=True, line_type='fixed_line_or_mobile', region='US', zones=('America/New_York',))
    >>> normalise("0207 946 0958", "GB").e164
    '+442079460958'
    >>> normalise("not a number") is None
    True
    """
    if not raw or not raw.strip():
        return None
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        return None
    return describe(parsed)


def describe(parsed: phonenumbers.PhoneNumber) -> Number:
    """The :class:`Number` phonenumbers gives for a parsed number."""
    kind = phonenumbers.number_type(parsed)
    return Number(
        e164=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        is_valid=phonenumbers.is_valid_number(parsed),
        line_type=_TYPE_NAMES[kind],
        region=phonenumbers.region_code_for_number(parsed) or "",
        zones=tuple(pn_timezone.time_zones_for_number(parsed)),
    )


def last_digits(e164: str, keep: int = 4) -> str:
    """A number masked for logs: only its last digits.

    >>> last_digits("+12125551234")
    '***1234'
    """
    return "***" + e164[-keep:]


# --------------------------------------------------------------------------- automata

class UnsupportedPattern(ValueError):
    """A metadata pattern uses a construct the automaton builder does not know."""


_DIGITS = "0123456789"
_ALL, _NONE, _MIXED = 1, 0, 2


class DigitAutomaton:
    """A regular expression over ASCII digits as an NFA, run as a lazily built DFA.

    ``is_prefix`` makes it accept every string that *starts* with a match
    (``re.match`` semantics, used for ``leading_digits``); otherwise a match
    must cover the whole string (``re.fullmatch``).
    """

    def __init__(self, pattern: str, *, is_prefix: bool = False) -> None:
        self.pattern = pattern
        self._eps: list[list[int]] = []
        self._edges: list[list[tuple[frozenset[str], int]]] = []
        start = self._new()
        self._accept = self._sequence(sre_parse.parse(pattern), start)
        if is_prefix:
            self._edges[self._accept].append((frozenset(_DIGITS), self._accept))
        self.start = self._closure({start})
        self._steps: dict[tuple[frozenset[int], str], frozenset[int]] = {}
        self._classes: dict[tuple[frozenset[int], int], int] = {}

    def _new(self) -> int:
        self._eps.append([])
        self._edges.append([])
        return len(self._eps) - 1

    def _sequence(self, items: Iterable[tuple[object, object]], state: int) -> int:
        for op, av in items:
            state = self._node(op, av, state)
        return state

    def _node(self, op: object, av: object, state: int) -> int:
        c = sre_constants
        if op in (c.LITERAL, c.NOT_LITERAL, c.IN, c.ANY):
            target = self._new()
            self._edges[state].append((self._charset(op, av), target))
            return target
        if op is c.SUBPATTERN:
            return self._sequence(av[3], state)  # type: ignore[index]
        if op is c.BRANCH:
            end = self._new()
            for alternative in av[1]:  # type: ignore[index]
                self._eps[self._sequence(alternative, state)].append(end)
            return end
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            low, high, body = av  # type: ignore[misc]
            for _ in range(low):
                state = self._sequence(body, state)
            if high is c.MAXREPEAT:
                loop = self._new()
                self._eps[state].append(loop)
                self._eps[self._sequence(body, loop)].append(loop)
                return loop
            for _ in range(high - low):
                end = self._new()
                self._eps[state].append(end)
                self._eps[self._sequence(body, state)].append(end)
                state = end
            return state
        raise UnsupportedPattern(f"{op} in {self.pattern!r}")

    def _charset(self, op: object, av: object) -> frozenset[str]:
        c = sre_constants
        if op is c.ANY:
            return frozenset(_DIGITS)
        if op is c.LITERAL:
            return frozenset(_DIGITS) & {chr(av)}  # type: ignore[arg-type]
        if op is c.NOT_LITERAL:
            return frozenset(_DIGITS) - {chr(av)}  # type: ignore[arg-type]
        chars: set[str] = set()
        negate = False
        for item_op, item_av in av:  # type: ignore[union-attr]
            if item_op is c.LITERAL:
                chars.add(chr(item_av))
            elif item_op is c.RANGE:
                chars.update(chr(code) for code in range(item_av[0], item_av[1] + 1))
            elif item_op is c.CATEGORY and item_av is c.CATEGORY_DIGIT:
                chars.update(_DIGITS)
            elif item_op is c.NEGATE:
                negate = True
            else:
                raise UnsupportedPattern(f"{item_op} in {self.pattern!r}")
        digits = frozenset(_DIGITS) & chars
        return frozenset(_DIGITS) - digits if negate else digits

    def _closure(self, states: Iterable[int]) -> frozenset[int]:
        seen = set(states)
        todo = list(seen)
        while todo:
            for nxt in self._eps[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return frozenset(seen)

    def step(self, states: frozenset[int], digit: str) -> frozenset[int]:
        """The states after reading ``digit``."""
        key = (states, digit)
        found = self._steps.get(key)
        if found is None:
            found = self._closure(t for s in states for chars, t in self._edges[s] if digit in chars)
            self._steps[key] = found
        return found

    def run(self, digits: str) -> bool:
        """Does the automaton accept ``digits``?  (Used to check it against ``re``.)"""
        states = self.start
        for digit in digits:
            states = self.step(states, digit)
        return self._accept in states

    def classify(self, states: frozenset[int], remaining: int) -> int:
        """Whether all (1), none (0) or some (2) of the completions of ``remaining`` digits match."""
        key = (states, remaining)
        found = self._classes.get(key)
        if found is None:
            if remaining == 0:
                found = _ALL if self._accept in states else _NONE
            elif not states:
                found = _NONE
            else:
                seen = {self.classify(self.step(states, d), remaining - 1) for d in _DIGITS}
                found = seen.pop() if len(seen) == 1 else _MIXED
            self._classes[key] = found
        return found


# --------------------------------------------------------------------------- NANP table

def nanp_patterns() -> list[tuple[str, str, str]]:
    """Every expression phonenumbers consults for a ten-digit NANP number.

    Returns
    -------
    list of (region, field, pattern)
        ``field`` is a :data:`DESC_FIELDS` name or ``leading_digits``.  Descriptions
        whose possible lengths exclude ten digits never match and are left out.
    """
    found = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[NANP_COUNTRY_CODE]:
        metadata = PhoneMetadata.metadata_for_region(region)
        if metadata.leading_digits:
            found.append((region, "leading_digits", metadata.leading_digits))
        for field in DESC_FIELDS:
            desc = getattr(metadata, field)
            if desc is None or not desc.national_number_pattern:
                continue
            if desc.possible_length and NANP_LENGTH not in desc.possible_length:
                continue
            found.append((region, field, desc.national_number_pattern))
    return found


def consulted_desc_fields() -> set[str]:
    """The metadata fields read by phonenumbers' type helper (for the structural test)."""
    source = inspect.getsource(phonenumberutil._number_type_helper)
    return set(re.findall(r"metadata\.(\w+)", source)) - {"same_mobile_and_fixed_line_pattern"}


class NanpTable:
    """Answers for ten-digit NANP national numbers, keyed by their shortest decided prefix.

    Parameters
    ----------
    evaluate:
        Gives the answer for one ten-digit national number; phonenumbers by default.
    """

    def __init__(self, evaluate: Callable[[str], tuple[bool, str, str, tuple[str, ...]]]
                 | None = None) -> None:
        self._evaluate = evaluate or _evaluate_nanp
        self.automata = [DigitAutomaton(pattern, is_prefix=field == "leading_digits")
                         for _region, field, pattern in nanp_patterns()]
        keys = [key[1:] for key in tzdata.TIMEZONE_DATA if key.startswith("1")]
        #: national prefixes under which a longer zone prefix exists.
        self.open_zone_prefixes = {key[:i] for key in keys for i in range(len(key))}
        self.entries: dict[str, tuple[bool, str, str, tuple[str, ...]]] = {}
        self._by_outcome: dict[tuple[object, ...], tuple[bool, str, str, tuple[str, ...]]] = {}
        live = [(i, a.start) for i, a in enumerate(self.automata)]
        self._walk("", live, ())
        # The automata and their memos are only needed for the derivation (tens of MB).
        self.automata = []
        self._by_outcome.clear()
        self.depths = _depths(self.entries)

    @classmethod
    def from_entries(cls, entries: dict[str, tuple[bool, str, str, tuple[str, ...]]]
                     ) -> NanpTable:
        """A table with entries derived before (see :func:`nanp_table`)."""
        table = cls.__new__(cls)
        table.automata, table.entries, table.depths = [], entries, _depths(entries)
        return table

    def _walk(self, prefix: str, live: list[tuple[int, frozenset[int]]],
              decided: tuple[tuple[int, int], ...]) -> None:
        remaining = NANP_LENGTH - len(prefix)
        still = []
        for index, states in live:
            outcome = self.automata[index].classify(states, remaining)
            if outcome == _MIXED:
                still.append((index, states))
            else:
                decided += ((index, outcome),)
        if not still and prefix not in self.open_zone_prefixes:
            self.entries[prefix] = self._answer(prefix, decided)
            return
        for digit in _DIGITS:
            self._walk(prefix + digit,
                       [(i, self.automata[i].step(s, digit)) for i, s in still], decided)

    def _answer(self, prefix: str,
                decided: tuple[tuple[int, int], ...]) -> tuple[bool, str, str, tuple[str, ...]]:
        # Every completion of `prefix` gets the same answer; numbers whose
        # expressions all agree (and share the zone prefix) do too, so one
        # evaluation serves each distinct outcome.
        zone_key = next((prefix[:i] for i in range(len(prefix), -1, -1)
                         if "1" + prefix[:i] in tzdata.TIMEZONE_DATA), None)
        key = (tuple(sorted(decided)), zone_key)
        answer = self._by_outcome.get(key)
        if answer is None:
            answer = self._evaluate(prefix.ljust(NANP_LENGTH, "0"))
            self._by_outcome[key] = answer
        return answer

    def lookup(self, national: str) -> tuple[bool, str, str, tuple[str, ...]] | None:
        """The answer for a ten-digit national number, or None when the table has none."""
        entries = self.entries
        for depth in self.depths:
            found = entries.get(national[:depth])
            if found is not None:
                return found
        return None


def _depths(entries: dict[str, Any]) -> tuple[int, ...]:
    """Prefix lengths to probe, those covering most numbers first.

    Decided prefixes form an antichain, so any probing order finds the one
    entry of a number.
    """
    coverage: dict[int, int] = {}
    for prefix in entries:
        coverage[len(prefix)] = coverage.get(len(prefix), 0) + 10 ** (NANP_LENGTH - len(prefix))
    return tuple(sorted(coverage, key=coverage.__getitem__, reverse=True))


def _evaluate_nanp(national: str) -> tuple[bool, str, str, tuple[str, ...]]:
    number = describe(phonenumbers.PhoneNumber(country_code=NANP_COUNTRY_CODE,
                                               national_number=int(national)))
    return number.is_valid, number.line_type, number.region, number.zones


_TABLE: NanpTable | None = None


def nanp_table() -> NanpTable:
    """The process-wide table: read from the cache, else derived (a few seconds) and cached."""
    global _TABLE
    if _TABLE is None:
        path = cache_path()
        entries = read_cache(path)
        if entries is None:
            _TABLE = NanpTable()
            write_cache(path, _TABLE.entries)
        else:
            _TABLE = NanpTable.from_entries(entries)
    return _TABLE


def cache_path() -> Path:
    """Where the derived table is kept: per phonenumbers version and per version of this module.

    Every list-parsing worker process needs the table; reading it takes a
    fraction of the time deriving it does.
    """
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    return root / "campaign-dialer" / f"nanp-{phonenumbers.__version__}-{digest}.json"


def read_cache(path: Path) -> dict[str, tuple[bool, str, str, tuple[str, ...]]] | None:
    """The entries kept at ``path``; None when there are none or they are not well-formed."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        entries = {prefix: (valid, kind, region, tuple(zones))
                   for prefix, valid, kind, region, zones in rows}
    except (OSError, ValueError, TypeError):
        return None
    for prefix, (valid, kind, region, zones) in entries.items():
        if not (isinstance(prefix, str) and prefix.isdigit() and len(prefix) <= NANP_LENGTH
                and isinstance(valid, bool) and isinstance(kind, str)
                and isinstance(region, str) and all(isinstance(z, str) for z in zones)):
            return None
    return entries or None


def write_cache(path: Path, entries: dict[str, tuple[bool, str, str, tuple[str, ...]]]) -> None:
    """Keep the entries at ``path`` (atomically; an unwritable place is left alone).

    Tables kept beside it for other versions are removed.
    """
    rows = [[prefix, *answer[:3], list(answer[3])] for prefix, answer in entries.items()]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent,
                                         suffix=".tmp", delete=False) as handle:
            json.dump(rows, handle)
        os.replace(handle.name, path)
    except OSError:
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(handle.name)
        return
    # Tables of other versions are not read again.
    for stale in path.parent.glob("nanp-*.json"):
        if stale != path:
            with contextlib.suppress(OSError):
                stale.unlink()


class Normaliser:
    """:func:`normalise` with the NANP fast path; same answers, several times faster.

    Parameters
    ----------
    default_region:
        The region assumed for numbers without a country code.
    table:
        The NANP table; the process-wide one by default.

    >>> Normaliser("US")("+1 (202) 456-1111").e164
    '+12024561111'
    """

    def __init__(self, default_region: str = "US", table: NanpTable | None = None) -> None:
        self.default_region = default_region.upper()
        self.table = table or nanp_table()
        self._shape = (_NATIONAL_RE if self.default_region in FAST_NATIONAL_REGIONS
                       else _PLUS_ONE_RE)
        self._fullmatch = self._shape.fullmatch
        #: answers by exchange (area code and next three digits), for exchanges
        #: whose numbers all share one (nearly all of them).
        self._heads: dict[str, tuple[bool, str, str, tuple[str, ...]]] = {}
        #: how many values took the fast path and how many went to phonenumbers.
        self.fast = 0
        self.slow = 0
        # Lists repeat their odd values ("n/a", a switchboard number): ask once.
        self._slow_path = functools.lru_cache(maxsize=4096)(self._ask_phonenumbers)

    def __call__(self, raw: str) -> Number | None:
        match = self._fullmatch(raw)
        if match is not None:
            area, area_plain, exchange, line = match.groups()
            head = (area or area_plain) + exchange
            found = self._heads.get(head)
            if found is None:
                found = self._look_up(head, line)
            if found is not None:
                self.fast += 1
                return _new_tuple(Number, ("+1" + head + line, *found))
        self.slow += 1
        return self._slow_path(raw)

    def _look_up(self, head: str, line: str) -> tuple[bool, str, str, tuple[str, ...]] | None:
        """The table's answer; remembered for the exchange when the exchange decides it."""
        entries, national = self.table.entries, head + line
        for depth in self.table.depths:
            found = entries.get(national[:depth])
            if found is not None:
                if depth <= len(head):
                    if len(self._heads) >= HEADS_MEMO_SIZE:
                        self._heads.clear()
                    self._heads[head] = found
                return found
        return None

    def _ask_phonenumbers(self, raw: str) -> Number | None:
        return normalise(raw, self.default_region)

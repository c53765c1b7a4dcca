"""Number normalisation: phonenumbers' answers, and the NANP fast path giving the same ones."""

from __future__ import annotations

import random
import re

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns import phones

NANP_REGIONS = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]


@pytest.fixture(scope="module")
def table() -> phones.NanpTable:
    return phones.nanp_table()


def _formats(rng: random.Random, national: str) -> str:
    a, b, c = national[:3], national[3:6], national[6:]
    shapes = [f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"{a} {b} {c}", national,
              f"1{national}", f"+1{national}", f"+1 {a} {b} {c}", f"+1-{a}-{b}-{c}",
              f"1 ({a}) {b}-{c}", f"1-{a}-{b}-{c}", f" {a}{b}{c} ", f"+1 ({a}) {b} {c}",
              f"({a}){b}-{c}", f"{a}-{b}-{c} x{rng.randint(1, 999)}",
              f"{a}-{b}-{c} ext. {rng.randint(1, 99)}", f"{a}{b}{c}x{rng.randint(1, 10**7)}",
              f"{a}-{b}-{c} ext {rng.randint(1, 99)}", f"{a}-{b}-{c} # {rng.randint(1, 99)}", f"011 1 {a} {b} {c}", f"001-{a}-{b}-{c}",
              f"{a}/{b}-{c}", f"({a} {b}-{c}", f"{a}--{b}--{c}"]
    return rng.choice(shapes)


def _sample(rng: random.Random, count: int) -> list[str]:
    """Many shapes: NANP over every area code, invalid values, international, vanity."""
    values = []
    for _ in range(count):
        pick = rng.random()
        if pick < 0.70:
            national = f"{rng.randint(200, 999)}{rng.randint(0, 999):03d}{rng.randint(0, 9999):04d}"
            values.append(_formats(rng, national))
        elif pick < 0.78:
            national = f"{rng.randint(0, 199):03d}{rng.randint(0, 999):03d}{rng.randint(0, 9999):04d}"
            values.append(_formats(rng, national))
        elif pick < 0.86:
            values.append(rng.choice(["+44 20 7946 0958", "+44 7700 900123", "+61 2 9374 4000",
                                      "+61 412 345 678", "+52 55 1234 5678", "+33 1 42 68 53 00",
                                      "020 7946 0958", "+49 30 901820", "+81 3-1234-5678"]))
        elif pick < 0.92:
            digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 14)))
            values.append(digits)
        else:
            values.append(rng.choice(["1-800-FLOWERS", "1 (800) GOT-JUNK", "n/a", "", "  ",
                                      "tel:+1-212-555-0100", "+1 212 555 0100;ext=7",
                                      "２１２５５５０１００", "212 555 0100 / 212 555 0101",
                                      "+1 (212) 555-01OO", "(212) 555-0100 (home)"]))
    return values


@pytest.mark.req("A15")
@pytest.mark.parametrize("raw, e164, is_valid, line_type, region", [
    ("(202) 456-1111", "+12024561111", True, "fixed_line_or_mobile", "US"),
    ("202.456.1111 ext. 12", "+12024561111", True, "fixed_line_or_mobile", "US"),
    ("+1 416 555 0123", "+14165550123", True, "fixed_line_or_mobile", "CA"),
    ("(212) 155-0100", "+12121550100", False, "unknown", ""),
    ("1-800-FLOWERS", "+18003569377", True, "toll_free", "US"),
    ("+44 20 7946 0958", "+442079460958", True, "fixed_line", "GB"),
    ("+61 412 345 678", "+61412345678", True, "mobile", "AU"),
    ("123", "+1123", False, "unknown", ""),
])
def test_normalise_gives_phonenumbers_answers(raw, e164, is_valid, line_type, region):
    number = phones.normalise(raw, "US")
    assert (number.e164, number.is_valid, number.line_type, number.region) == (
        e164, is_valid, line_type, region)


@pytest.mark.req("A15")
def test_normalise_keeps_candidate_zones():
    assert phones.normalise("(212) 555-0100", "US").zones == ("America/New_York",)
    assert phones.normalise("+1 800 555 0100", "US").zones == tuple(
        phonenumbers.timezone.time_zones_for_number(phonenumbers.parse("+18005550100")))


@pytest.mark.req("A15")
@pytest.mark.parametrize("raw", ["", "   ", "hello", "++"])
def test_normalise_returns_none_for_non_numbers(raw):
    assert phones.normalise(raw, "US") is None


@pytest.mark.req("A20")
def test_type_helper_reads_exactly_the_fields_the_table_tracks():
    assert phones.consulted_desc_fields() == set(phones.DESC_FIELDS)


@pytest.mark.req("A20")
def test_automata_agree_with_re_on_every_nanp_pattern():
    rng = random.Random(7)
    for _region, field, pattern in phones.nanp_patterns():
        automaton = phones.DigitAutomaton(pattern, is_prefix=field == "leading_digits")
        compiled = re.compile(pattern)
        for _ in range(300):
            digits = "".join(rng.choice("0123456789") for _ in range(10))
            # Bias half the samples towards the pattern's own area codes.
            if rng.random() < 0.5:
                digits = _matching_prefix(rng, compiled) + digits[3:]
            expected = (compiled.match(digits) if field == "leading_digits"
                        else compiled.fullmatch(digits)) is not None
            assert automaton.run(digits) is expected, (pattern, digits)


def _matching_prefix(rng: random.Random, compiled: re.Pattern[str]) -> str:
    for _ in range(50):
        prefix = f"{rng.randint(200, 999)}"
        if compiled.match(prefix + "5550100") or compiled.match(prefix):
            return prefix
    return f"{rng.randint(200, 999)}"


@pytest.mark.req("A20")
def test_table_prefixes_cover_every_number_exactly_once(table):
    entries = table.entries
    assert sum(10 ** (10 - len(prefix)) for prefix in entries) == 10 ** 10
    for prefix in entries:
        assert not any(prefix[:i] in entries for i in range(len(prefix))), prefix


@pytest.mark.req("A20")
def test_every_table_entry_matches_phonenumbers_on_its_completions(table):
    rng = random.Random(11)
    for prefix, answer in table.entries.items():
        free = 10 - len(prefix)
        for tail in (rng.randrange(10 ** free) if free else 0, 10 ** free - 1):
            national = prefix + (f"{tail:0{free}d}" if free else "")
            number = phonenumbers.PhoneNumber(country_code=1, national_number=int(national))
            got = phones.describe(number)
            assert (got.is_valid, got.line_type, got.region, got.zones) == answer, national


@pytest.mark.req("A15", "A20")
@pytest.mark.parametrize("region", ["US", "CA", "GB"])
def test_fast_path_equals_phonenumbers_on_a_large_sample(region):
    rng = random.Random(region)
    normaliser = phones.Normaliser(region)
    for raw in _sample(rng, 8_000 if region == "US" else 3_000):
        assert normaliser(raw) == phones.normalise(raw, region), raw
    if region == "US":
        assert normaliser.fast > normaliser.slow


@pytest.mark.req("A20")
def test_fast_path_equals_phonenumbers_on_every_area_code():
    normaliser = phones.Normaliser("US")
    rng = random.Random(3)
    for area in range(200, 1000):
        national = f"{area}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        for raw in (national, f"+1 ({area}) {national[3:6]}-{national[6:]}"):
            assert normaliser(raw) == phones.normalise(raw, "US"), raw


@pytest.mark.req("A20")
@given(st.from_regex(r"\A *(\+?1[ .\-]?)?\(?[0-9]{3}\)?[ .\-]?[0-9]{3}[ .\-]?[0-9]{4}"
                    r"( ?(x|ext\.?|#) ?[0-9]{1,8})? *\Z"))
def test_fast_path_equals_phonenumbers_on_generated_shapes(raw):
    assert phones.Normaliser("US")(raw) == phones.normalise(raw, "US")


@pytest.mark.req("A20")
@pytest.mark.parametrize("raw", ["1-800-FLOWERS", "212-555-0100 #12", "011 1 212 555 0100",
                                 "２１２５５５０１００", "(212 555-0100", "+44 20 7946 0958"])
def test_uncommon_shapes_go_to_phonenumbers(raw):
    normaliser = phones.Normaliser("US")
    assert normaliser(raw) == phones.normalise(raw, "US")
    assert (normaliser.fast, normaliser.slow) == (0, 1)


def test_last_digits_masks_all_but_four():
    assert phones.last_digits("+442079460958") == "***0958"


@pytest.mark.req("A20")
def test_the_cached_table_gives_the_derived_answers(table, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = phones.cache_path()
    assert path.is_relative_to(tmp_path) and phones.read_cache(path) is None
    stale = path.with_name("nanp-0.0-0.json")
    phones.write_cache(stale, table.entries)
    phones.write_cache(path, table.entries)
    assert not stale.exists()
    cached = phones.NanpTable.from_entries(phones.read_cache(path))
    assert cached.entries == table.entries and cached.depths == table.depths
    rng = random.Random(7)
    for _ in range(2000):
        national = f"{rng.randint(200, 999)}{rng.randint(0, 999):03d}{rng.randint(0, 9999):04d}"
        assert cached.lookup(national) == table.lookup(national)


@pytest.mark.parametrize("text", ["", "{", '[["212", "yes", "x", "US", []]]',
                                  '[["21a", true, "x", "US", []]]', "[]"])
def test_a_damaged_cache_is_ignored(tmp_path, text):
    path = tmp_path / "nanp.json"
    path.write_text(text)
    assert phones.read_cache(path) is None


@pytest.mark.req("A15", "A20")
def test_exchanges_remembered_by_the_normaliser_keep_phonenumbers_answers(table):
    # Exchanges split by a seventh digit are never remembered whole; the others are.
    split = sorted({prefix[:6] for prefix in table.entries if len(prefix) == 7})
    whole = sorted({prefix[:6] for prefix in table.entries if len(prefix) == 6})[:40]
    assert split
    normaliser = phones.Normaliser("US", table)
    for head in split + whole:
        for seventh in "0123456789":
            for raw in (f"({head[:3]}) {head[3:]}-{seventh}123", f"+1 {head}{seventh}999"):
                assert normaliser(raw) == phones.normalise(raw, "US"), raw
    assert normaliser.fast > 0


def _backtracking(pattern: re.Pattern[str]) -> re.Pattern[str]:
    return re.compile(pattern.pattern.replace("*+", "*"))


@pytest.mark.req("A20")
@given(st.one_of(st.text(alphabet=" .-()+0123456789xet", max_size=24),
                 st.from_regex(_backtracking(phones._NATIONAL_RE), fullmatch=True),
                 st.from_regex(_backtracking(phones._PLUS_ONE_RE), fullmatch=True)))
def test_possessive_separators_match_what_backtracking_ones_would(value):
    """The fast path's shapes give every value the same match (and groups) as without ``*+``."""
    for fast in (phones._NATIONAL_RE, phones._PLUS_ONE_RE):
        plain = _backtracking(fast)
        assert "*+" in fast.pattern and "*+" not in plain.pattern
        found, expected = fast.fullmatch(value), plain.fullmatch(value)
        assert (found and found.groups()) == (expected and expected.groups())

"""Where a callee is: candidate time zones and jurisdictions of a number and an address.

This is the only module that derives zones (requirement B1).  The rules, in order:

1. an explicit zone on the record wins (IANA names, plus a few common list spellings
   such as ``Eastern`` or ``PST``);
2. otherwise the address narrows the number's zones: the US ZIP's zone (offline,
   from the ``zipcodes`` data), else the state's zones (the ``us`` package) or the
   Canadian province's (postal code or province field); when address and number
   zones overlap the intersection counts, when they do not (a mobile from another
   region, a ported number) both count;
3. toll-free and other non-geographic numbers take zones from the address only;
   with no address there is no zone and the callee is not dialable
   (``zone_unknown``).

The number's zones are phonenumbers' zones, widened by :data:`SPLIT_AREA_CODES`
for the NANP area codes that span two zones (phonenumbers lists one zone for
several of them, e.g. 850).

Jurisdictions (B2) are all of: the number's country; the state(s) or
province(s) of its area code (US and Canada, from ``data/nanp-area-codes.csv``,
derived from phonenumbers' geocoding data by :func:`derive_area_codes`); the
state or province of the address.  A state adds its country (``US-FL`` adds
``US``).  Nothing here ever falls back to the server's local time.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import re
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
import us
from phonenumbers import PhoneNumberType
from phonenumbers import timezone as pn_timezone

from campaigns import errors

#: NANP area codes spanning two or more zones (compliance notes, section 4): zones added
#: to phonenumbers' own, so that every zone of the area counts.
SPLIT_AREA_CODES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("850", "448"), ("America/New_York", "America/Chicago")),
    **dict.fromkeys(("812", "930", "574", "219"),
                    ("America/Indiana/Indianapolis", "America/Chicago")),
    **dict.fromkeys(("270", "364", "606", "423"), ("America/New_York", "America/Chicago")),
    **dict.fromkeys(("915", "432", "620", "785", "308", "701", "605"),
                    ("America/Chicago", "America/Denver")),
    **dict.fromkeys(("541", "458", "208", "986"), ("America/Los_Angeles", "America/Boise")),
    "906": ("America/Detroit", "America/Menominee"),
    "928": ("America/Phoenix", "America/Denver"),
    "907": ("America/Anchorage", "America/Adak"),
    **dict.fromkeys(("250", "236", "778", "672"),
                    ("America/Vancouver", "America/Edmonton", "America/Creston")),
    "709": ("America/St_Johns", "America/Goose_Bay"),
    "807": ("America/Toronto", "America/Winnipeg"),
    **dict.fromkeys(("418", "581", "367"), ("America/Toronto", "America/Halifax")),
    "867": ("America/Whitehorse", "America/Edmonton", "America/Winnipeg", "America/Iqaluit"),
}

#: Canadian provinces and territories: names and zones.
PROVINCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "AB": ("Alberta", ("America/Edmonton",)),
    "BC": ("British Columbia", ("America/Vancouver", "America/Edmonton", "America/Creston")),
    "MB": ("Manitoba", ("America/Winnipeg",)),
    "NB": ("New Brunswick", ("America/Moncton",)),
    "NL": ("Newfoundland and Labrador", ("America/St_Johns", "America/Goose_Bay")),
    "NS": ("Nova Scotia", ("America/Halifax",)),
    "NT": ("Northwest Territories", ("America/Edmonton",)),
    "NU": ("Nunavut", ("America/Iqaluit", "America/Winnipeg", "America/Edmonton")),
    "ON": ("Ontario", ("America/Toronto", "America/Winnipeg")),
    "PE": ("Prince Edward Island", ("America/Halifax",)),
    "QC": ("Quebec", ("America/Toronto", "America/Halifax")),
    "SK": ("Saskatchewan", ("America/Regina",)),
    "YT": ("Yukon", ("America/Whitehorse",)),
}
_POSTAL_PREFIX = {"A": "NL", "B": "NS", "C": "PE", "E": "NB", "G": "QC", "H": "QC", "J": "QC",
                  "K": "ON", "L": "ON", "M": "ON", "N": "ON", "P": "ON", "R": "MB", "S": "SK",
                  "T": "AB", "V": "BC", "Y": "YT"}
#: common list spellings of zones that are not IANA names.
ZONE_ALIASES = {
    **dict.fromkeys(("eastern", "et", "est", "edt", "us/eastern"), "America/New_York"),
    **dict.fromkeys(("central", "ct", "cst", "cdt", "us/central"), "America/Chicago"),
    **dict.fromkeys(("mountain", "mt", "mst", "mdt", "us/mountain"), "America/Denver"),
    **dict.fromkeys(("pacific", "pt", "pst", "pdt", "us/pacific"), "America/Los_Angeles"),
    **dict.fromkeys(("alaska", "akst", "akdt"), "America/Anchorage"),
    **dict.fromkeys(("hawaii", "hst"), "Pacific/Honolulu"),
    **dict.fromkeys(("arizona",), "America/Phoenix"),
    **dict.fromkeys(("atlantic", "ast", "adt"), "America/Halifax"),
    **dict.fromkeys(("newfoundland", "nst", "ndt"), "America/St_Johns"),
}
#: NANP regions that are US territories: their jurisdiction is the US and the territory.
US_TERRITORIES = frozenset({"PR", "VI", "GU", "AS", "MP"})
_NON_GEOGRAPHIC = frozenset({PhoneNumberType.TOLL_FREE, PhoneNumberType.PREMIUM_RATE,
                             PhoneNumberType.SHARED_COST, PhoneNumberType.UAN,
                             PhoneNumberType.VOICEMAIL, PhoneNumberType.PERSONAL_NUMBER,
                             PhoneNumberType.PAGER, PhoneNumberType.VOIP})


@dataclasses.dataclass(frozen=True)
class Location:
    """The candidate zones and jurisdictions of one callee."""

    e164: str
    #: ISO 3166-1 region of the number ("US", "CA", "GB", "PR"...), "" when unknown.
    country: str
    #: candidate IANA zones, sorted; empty = the zone cannot be derived.
    zones: tuple[str, ...]
    #: jurisdiction codes, sorted ("US", "US-FL", "CA", "CA-ON"...).
    jurisdictions: tuple[str, ...]
    #: how the zones were found: "explicit", "narrowed", "union", "number", "address", "none".
    method: str = "none"


def parse_number(number: str, default_region: str = "US") -> phonenumbers.PhoneNumber:
    """Parse ``number`` (E.164 or national in ``default_region``).

    Raises
    ------
    campaigns.errors.InvalidInput
        When it cannot be parsed or is not a valid number (the message names it).

    >>> phonenumbers.format_number(parse_number("(305) 555-0123"), phonenumbers.PhoneNumberFormat.E164)
    '+13055550123'
    """
    try:
        parsed = phonenumbers.parse(number, default_region or None)
    except phonenumbers.NumberParseException as exc:
        raise errors.InvalidInput(f"number {number!r} cannot be parsed: {exc}",
                                  fields={"number": "cannot be parsed"},
                                  error_id="invalid-number") from exc
    region = phonenumbers.region_code_for_number(parsed)
    if not phonenumbers.is_valid_number_for_region(parsed, region) \
            and not _is_plausible_nanp(parsed):
        raise errors.InvalidInput(f"number {number!r} is not a valid phone number",
                                  fields={"number": "not a valid number"},
                                  error_id="invalid-number")
    return parsed


def _is_plausible_nanp(parsed: phonenumbers.PhoneNumber) -> bool:
    # NANP numbers with a 555 exchange are fictional but well formed; phonenumbers
    # validates most of them, and lists use them in examples and tests.
    national = str(parsed.national_number)
    return parsed.country_code == 1 and len(national) == 10 and national[3:6] == "555" \
        and national[0] not in "01" and national[:3] in area_codes()


def zone_name(name: str) -> str:
    """The IANA zone for a name given as input (aliases such as ``Eastern`` accepted).

    Raises
    ------
    campaigns.errors.InvalidInput
        When it names no zone.

    >>> zone_name("eastern"), zone_name("Europe/Paris")
    ('America/New_York', 'Europe/Paris')
    """
    text = name.strip()
    alias = ZONE_ALIASES.get(text.lower())
    if alias:
        return alias
    if text in _zone_names():
        return text
    raise errors.InvalidInput(f"time zone {name!r} is not an IANA zone name",
                              fields={"tz": "unknown zone"}, error_id="unknown-zone")


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


@functools.lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The ``ZoneInfo`` for an IANA name (cached).

    >>> zone("Pacific/Honolulu").key
    'Pacific/Honolulu'
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise errors.InvalidInput(f"time zone {name!r} is not an IANA zone name",
                                  fields={"tz": "unknown zone"}, error_id="unknown-zone") from exc


def subdivision(state: str) -> str:
    """The jurisdiction code of a US state/territory or Canadian province name or code.

    Raises
    ------
    campaigns.errors.InvalidInput
        When it names neither.

    >>> subdivision("fl"), subdivision("Ontario"), subdivision("Washington D.C.")
    ('US-FL', 'CA-ON', 'US-DC')
    """
    text = " ".join(state.replace(".", " ").split())
    upper = text.upper()
    if upper in PROVINCES:
        return f"CA-{upper}"
    for code, (name, _zones) in PROVINCES.items():
        if name.upper() == upper:
            return f"CA-{code}"
    if upper in ("WASHINGTON D C", "WASHINGTON DC", "DISTRICT OF COLUMBIA"):
        return "US-DC"
    if upper == "WASHINGTON STATE":
        return "US-WA"
    found = us.states.lookup(text) if text else None
    if found is None:
        raise errors.InvalidInput(f"state {state!r} is not a US state or Canadian province",
                                  fields={"state": "unknown state"}, error_id="unknown-state")
    return f"US-{found.abbr}"


def subdivision_zones(code: str) -> tuple[str, ...]:
    """The zones of a jurisdiction code from :func:`subdivision`.

    >>> subdivision_zones("US-AZ"), subdivision_zones("CA-SK")
    (('America/Phoenix',), ('America/Regina',))
    """
    country, _, sub = code.partition("-")
    if country == "CA":
        return PROVINCES[sub][1]
    found = us.states.lookup(sub)
    return tuple(z for z in found.time_zones if z in _zone_names()) if found else ()


@functools.cache
def _zip_index() -> dict[str, tuple[str, str]]:
    """ZIP -> (state, zone), from the ``zipcodes`` package's offline data."""
    import zipcodes

    return {row["zip_code"]: (row["state"], row["timezone"]) for row in zipcodes.list_all()}


def zip_location(zip_code: str) -> tuple[str, str] | None:
    """(jurisdiction, zone or "") of a US ZIP or Canadian postal code, or None if unknown.

    >>> zip_location("32501")
    ('US-FL', 'America/Chicago')
    >>> zip_location("M5V 2T6")
    ('CA-ON', '')
    """
    text = zip_code.strip().upper()
    if re.fullmatch(r"\d{5}(-?\d{4})?", text):
        found = _zip_index().get(text[:5])
        if found is None:
            return None
        state, tz = found
        return f"US-{state}", tz if tz in _zone_names() else ""
    if re.fullmatch(r"[A-Z]\d[A-Z] ?\d[A-Z]\d", text) and text[0] in _POSTAL_PREFIX:
        return f"CA-{_POSTAL_PREFIX[text[0]]}", ""
    if re.fullmatch(r"X\d[A-Z] ?\d[A-Z]\d", text):
        return "CA-NT", ""
    return None


@functools.cache
def area_codes() -> dict[str, tuple[str, tuple[str, ...]]]:
    """NANP area code -> (region, subdivision codes), from ``data/nanp-area-codes.csv``."""
    text = resources.files("campaigns").joinpath("data/nanp-area-codes.csv").read_text("utf-8")
    return {row["npa"]: (row["region"], tuple(row["subdivisions"].split()))
            for row in csv.DictReader(io.StringIO(text))}


def derive_area_codes() -> str:
    """The CSV text of ``data/nanp-area-codes.csv``, derived from phonenumbers' geocoding data.

    A four-digit prefix entry names the state or province of the area code;
    without one, the states of its longer prefixes (``"City, XX"``) with at least
    10% of them count.  A test compares this with the shipped file.
    """
    from collections import Counter, defaultdict

    from phonenumbers.geodata import GEOCODE_DATA

    tops: dict[str, str] = {}
    subs: dict[str, Counter[str]] = defaultdict(Counter)
    for prefix, names in GEOCODE_DATA.items():
        if not prefix.startswith("1") or len(prefix) < 4:
            continue
        text = names.get("en", "")
        if len(prefix) == 4:
            tops[prefix[1:]] = text
            continue
        match = re.search(r", ([A-Z]{2})$", text)
        if match:
            subs[prefix[1:4]][match.group(1)] += 1
    out = io.StringIO()
    out.write("npa,region,subdivisions\n")
    for npa in sorted(set(tops) | set(subs)):
        region = phonenumbers.region_code_for_number(
            phonenumbers.parse(f"+1{npa}2000000")) or ""
        codes = _subdivisions(tops.get(npa, ""), subs[npa], region)
        out.write(f"{npa},{region},{' '.join(codes)}\n")
    return out.getvalue()


def _subdivisions(top: str, counts: dict[str, int], region: str) -> list[str]:
    if region not in ("US", "CA"):
        return []
    names: list[str] = []
    if top:
        match = re.search(r", ([A-Z]{2})$", top)
        names = [match.group(1)] if match else [n.strip() for n in top.split("/")]
    else:
        total = sum(counts.values())
        names = [code for code, n in counts.items() if n * 10 >= total]
    found = []
    for name in names:
        name = "British Columbia" if name == "British Colombia" else name
        try:
            code = subdivision(name)
        except errors.InvalidInput:
            continue
        if code.startswith(region):
            found.append(code)
    return sorted(set(found))


def number_zones(parsed: phonenumbers.PhoneNumber,
                 number_type: int | None = None) -> tuple[str, ...]:
    """phonenumbers' zones of a geographic number, widened for split area codes; () otherwise."""
    if number_type is None:
        number_type = phonenumbers.number_type(parsed)
    if number_type in _NON_GEOGRAPHIC:
        return ()
    if phonenumbers.is_number_type_geographical(number_type, parsed.country_code):
        found = set(pn_timezone.time_zones_for_geographical_number(parsed))
    else:
        found = set(pn_timezone.time_zones_for_number(parsed))
    found.discard("Etc/Unknown")
    if parsed.country_code == 1:
        npa = str(parsed.national_number)[:3]
        found.update(SPLIT_AREA_CODES.get(npa, ()))
    return tuple(sorted(z for z in found if z in _zone_names()))


def number_jurisdictions(parsed: phonenumbers.PhoneNumber, region: str | None = None,
                         number_type: int | None = None) -> tuple[str, ...]:
    """The number's country and, for NANP numbers, its area code's states or provinces."""
    if region is None:
        region = phonenumbers.region_code_for_number(parsed) or ""
    if number_type is None:
        number_type = phonenumbers.number_type(parsed)
    if parsed.country_code == 1:
        npa = str(parsed.national_number)[:3]
        region_npa, subs = area_codes().get(npa, (region, ()))
        region = region or region_npa
        if region in US_TERRITORIES:
            return ("US", f"US-{region}")
        if number_type in _NON_GEOGRAPHIC:
            return (region,) if region and region != "001" else ()
        return tuple(sorted({region, *subs})) if region else tuple(subs)
    return (region,) if region and region != "001" else ()


def locate(number: str | phonenumbers.PhoneNumber, *, tz: str = "", zip_code: str = "",
           state: str = "", default_region: str = "US", is_strict: bool = True) -> Location:
    """Candidate zones and jurisdictions of a number and an address (see the module doc).

    Parameters
    ----------
    number
        E.164 or national text, or a parsed number.
    tz, zip_code, state
        The record's explicit zone, ZIP/postal code and state/province ("" = none).
    is_strict
        True for values given as input (a bad zone, state or ZIP is an error);
        False for a stored record: an unreadable ZIP or state is ignored and an
        unreadable explicit zone leaves no zone (``zone_unknown``).

    Raises
    ------
    campaigns.errors.InvalidInput
        For an unparsable number, or (strict) an unknown zone, state or ZIP.

    >>> loc = locate("+18505550100", state="FL")
    >>> loc.zones, loc.jurisdictions
    (('America/Chicago', 'America/New_York'), ('US', 'US-FL'))
    >>> locate("+18505550100", zip_code="32501").zones
    ('America/Chicago',)
    """
    parsed = number if isinstance(number, phonenumbers.PhoneNumber) \
        else parse_number(number, default_region)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    country = phonenumbers.region_code_for_number(parsed) or ""
    kind = phonenumbers.number_type(parsed)
    jurisdictions = set(number_jurisdictions(parsed, country, kind))
    address_codes, address_zones = _address(zip_code, state, is_strict)
    for code in address_codes:
        jurisdictions.update((code, code.split("-")[0]))
    ordered = tuple(sorted(jurisdictions))
    if tz.strip():
        try:
            return Location(e164, country, (zone_name(tz),), ordered, "explicit")
        except errors.InvalidInput:
            if is_strict:
                raise
            return Location(e164, country, (), ordered, "none")
    own = set(number_zones(parsed, kind))
    if own and address_zones:
        common = own & address_zones
        zones, method = (common, "narrowed") if common else (own | address_zones, "union")
    elif own:
        zones, method = own, "number"
    elif address_zones:
        zones, method = address_zones, "address"
    else:
        zones, method = set(), "none"
    return Location(e164, country, tuple(sorted(zones)), ordered, method)


def _address(zip_code: str, state: str, is_strict: bool) -> tuple[list[str], set[str]]:
    """(jurisdiction codes, zones) of the address: the ZIP's zone wins over the state's."""
    codes: list[str] = []
    zones: set[str] = set()
    if zip_code.strip():
        found = zip_location(zip_code)
        if found is None and is_strict:
            raise errors.InvalidInput(f"ZIP/postal code {zip_code!r} is not known",
                                      fields={"zip": "unknown ZIP"}, error_id="unknown-zip")
        if found is not None:
            codes.append(found[0])
            if found[1]:
                zones.add(found[1])
    if state.strip():
        try:
            code = subdivision(state)
        except errors.InvalidInput:
            if is_strict:
                raise
            code = ""
        if code:
            codes.append(code)
            if not zones:
                zones.update(subdivision_zones(code))
    if codes and not zones:
        zones.update(subdivision_zones(codes[0]))
    return codes, zones


def candidate_zones(number: str | phonenumbers.PhoneNumber, *, tz: str = "", zip_code: str = "",
                    state: str = "", default_region: str = "US",
                    is_strict: bool = True) -> tuple[str, ...]:
    """The candidate IANA zones of a callee; () when they cannot be derived.

    The one place zones are derived (see :func:`locate` for the parameters).

    >>> candidate_zones("+18005550100")
    ()
    >>> candidate_zones("+18005550100", state="AZ")
    ('America/Phoenix',)
    >>> candidate_zones("+12125550100", tz="Europe/London")
    ('Europe/London',)
    """
    return locate(number, tz=tz, zip_code=zip_code, state=state, default_region=default_region,
                  is_strict=is_strict).zones

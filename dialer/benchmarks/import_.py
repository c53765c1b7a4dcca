"""``dialer bench import``: load a generated list into SQLite and compare with two baselines.

One run generates a realistic list in a temporary directory (mixed formats,
about 5% invalid values, 2% duplicates, 1% numbers on the DNC list; mostly US
numbers over every area code, some Canadian, British, Australian and Mexican),
imports the DNC numbers, then measures:

* the full load, through ``dialer list load`` itself (in-process);
* ``csv.reader`` alone over the same file;
* the naive per-row phonenumbers pipeline (parse, is_valid, E.164, time zones)
  on a sample of the rows (it is two orders of magnitude slower than the load).

Memory is the peak of the summed resident set of this process and its worker
processes, sampled from ``/proc`` while the load runs.
"""

from __future__ import annotations

import collections
import contextlib
import csv
import io
import json
import os
import random
import resource
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import click
import phonenumbers
from phonenumbers import timezone as pn_timezone

from campaigns import phones

#: rows of the naive pipeline's sample (enough for a stable rate).
NAIVE_SAMPLE = 20_000
FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "José",
         "María", "Wei", "Aisha", "Olivier", "Chloé", "Liam", "Noah", "Emma", "Ava", "Sofía"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "García", "Miller", "Davis", "Nguyen",
        "O'Brien", "Martínez", "Lee", "Walker", "Hall", "Young", "King", "Wright", "López"]
STATES = ["AL", "AK", "AZ", "CA", "CO", "FL", "GA", "IL", "NY", "TX", "WA", "ON", "BC", "QC"]
INVALID = ["555-0100", "(123) 456-7890", "n/a", "000-000-0000", "unknown", "12345",
           "(212) 155-0100", "+1 999 555 0100", "tbd", "0"]


class ListGenerator:
    """Rows of a realistic calling list (numbers drawn with ``rng``, checked with phonenumbers)."""

    HEADER = ["First Name", "Last Name", "Phone", "Alt Phone", "Email", "Address", "City",
              "State", "Zip", "Language", "Account ID", "Balance"]

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.table = phones.nanp_table()
        self.us, self.ca = self._nanp_pool("US", 4000), self._nanp_pool("CA", 1000)
        self.foreign = {region: self._foreign_pool(region, prefix, digits, 200)
                        for region, prefix, digits in (("GB", "07", 11), ("AU", "04", 10),
                                                       ("MX", "55", 10))}
        self.recent: collections.deque[str] = collections.deque(maxlen=5000)
        self.dnc: list[str] = []

    def _nanp_pool(self, region: str, size: int) -> list[str]:
        """Valid exchanges (NPA-NXX) of a region, over all its area codes."""
        pool: set[str] = set()
        while len(pool) < size:
            exchange = f"{self.rng.randint(200, 999)}{self.rng.randint(200, 999)}"
            found = self.table.lookup(exchange + "5555")
            if found and found[0] and found[2] == region:
                pool.add(exchange)
        return sorted(pool)

    def _foreign_pool(self, region: str, prefix: str, length: int, size: int) -> list[str]:
        """Valid numbers of a region written nationally as ``prefix`` then random digits."""
        pool: list[str] = []
        for _ in range(size * 100):
            if len(pool) >= size:
                break
            national = prefix + "".join(self.rng.choice("0123456789")
                                        for _ in range(length - len(prefix)))
            number = phones.normalise(national, region)
            if number and number.is_valid:
                pool.append(number.e164)
        return pool

    def number(self) -> str:
        """One phone value: its shape and country vary; 2% repeat a recent one."""
        rng = self.rng
        pick = rng.random()
        if pick < 0.05:
            return rng.choice(INVALID)
        if pick < 0.07 and self.recent:
            return self._shape(rng.choice(self.recent))
        if pick < 0.08:
            value = "+1" + rng.choice(self.us) + f"{rng.randint(0, 9999):04d}"
            self.dnc.append(value)
            return self._shape(value)
        if pick < 0.95:
            value = "+1" + rng.choice(self.us) + f"{rng.randint(0, 9999):04d}"
        elif pick < 0.98:
            value = "+1" + rng.choice(self.ca) + f"{rng.randint(0, 9999):04d}"
        else:
            value = rng.choice(self.foreign[rng.choice(["GB", "AU", "MX"])])
        self.recent.append(value)
        return self._shape(value)

    def _shape(self, e164: str) -> str:
        if not e164.startswith("+1"):
            return e164 if self.rng.random() < 0.5 else e164[:3] + " " + e164[3:]
        n = e164[2:]
        a, b, c = n[:3], n[3:6], n[6:]
        return self.rng.choice([f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", n, f"1{n}",
                                f"+1 {a} {b} {c}", f"1-{a}-{b}-{c}", f"+1{n}",
                                f"{a}-{b}-{c} x{self.rng.randint(1, 999)}"])

    def rows(self, count: int) -> Iterator[list[str]]:
        rng = self.rng
        for i in range(count):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            alt = self.number() if rng.random() < 0.3 else ""
            yield [first, last, self.number(), alt, f"{first[0].lower()}{i}@example.com",
                   f"{rng.randint(1, 9999)} {rng.choice(LAST)} St", rng.choice(LAST) + "ville",
                   rng.choice(STATES), f"{rng.randint(501, 99950):05d}",
                   rng.choice(["en", "en", "en", "es", "fr"]), f"AC-{i:08d}",
                   f"{rng.uniform(0, 5000):.2f}"]


def write_list(path: Path, count: int, rng: random.Random) -> list[str]:
    """Write the list; returns the numbers meant for the DNC list."""
    generator = ListGenerator(rng)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(ListGenerator.HEADER)
        writer.writerows(generator.rows(count))
    return generator.dnc


def csv_reader_rate(path: Path) -> float:
    """Rows per second of ``csv.reader`` alone."""
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as handle:
        rows = sum(1 for _ in csv.reader(handle)) - 1
    return rows / (time.perf_counter() - started)


def naive_rate(path: Path, sample: int) -> float:
    """Rows per second of parse + is_valid + E.164 + time zones on every phone of a row."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        rows = [row for _, row in zip(range(sample), reader)]
    started = time.perf_counter()
    for row in rows:
        for raw in (row[2], row[3]):
            if not raw:
                continue
            try:
                number = phonenumbers.parse(raw, "US")
            except phonenumbers.NumberParseException:
                continue
            phonenumbers.is_valid_number(number)
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            pn_timezone.time_zones_for_number(number)
    return len(rows) / (time.perf_counter() - started)


class MemorySampler:
    """Peak summed RSS (and PSS) of this process and its descendants, from ``/proc``."""

    def __init__(self, interval_s: float = 0.05) -> None:
        self.interval_s = interval_s
        self.peak_rss_kb = self.peak_pss_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "MemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        self._thread.join()
        # the load's own peak, also when it happened between two samples
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.peak_rss_kb = max(self.peak_rss_kb, own)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            rss = pss = 0
            for pid in _family(os.getpid()):
                found = _rollup(pid)
                rss += found.get("Rss", 0)
                pss += found.get("Pss", 0)
            self.peak_rss_kb = max(self.peak_rss_kb, rss)
            self.peak_pss_kb = max(self.peak_pss_kb, pss)


def _family(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    todo += [int(child) for child in handle.read().split()]
    return found


def _rollup(pid: int) -> dict[str, int]:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return {}
    return {parts[0].rstrip(":"): int(parts[1]) for parts in map(str.split, lines[1:])
            if len(parts) >= 2 and parts[1].isdigit()}


def _dialer(*argv: str) -> dict[str, Any]:
    from dialer import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.run(list(argv))
    if code != 0:
        raise click.ClickException(f"dialer {' '.join(argv[:2])} failed (exit {code})")
    return json.loads(out.getvalue())


@click.command("import")
@click.option("--rows", type=click.IntRange(min=100), default=1_000_000, show_default=True,
              help="Rows of the generated list.")
@click.option("--seed", type=int, default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the default).")
@click.option("--keep", type=click.Path(file_okay=False), help="Keep the list and the database "
              "in this directory instead of a temporary one.")
def command(rows: int, seed: int, as_json: bool, keep: str | None) -> None:
    """Load a generated list of ROWS rows into SQLite; compare with csv.reader and phonenumbers."""
    with contextlib.ExitStack() as stack:
        where = Path(keep) if keep else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        where.mkdir(parents=True, exist_ok=True)
        result = run(where, rows, random.Random(seed))
    click.echo(json.dumps(result))


def run(where: Path, rows: int, rng: random.Random) -> dict[str, Any]:
    """Generate, load and measure in ``where``; returns the figures."""
    path, dnc_path = where / "bench-list.csv", where / "bench-dnc.txt"
    dnc_numbers = write_list(path, rows, rng)
    dnc_path.write_text("".join(f"{number}\n" for number in dnc_numbers))
    url = f"sqlite:///{where / 'bench.db'}"
    (where / "bench.db").unlink(missing_ok=True)
    _dialer("campaign", "create", "bench", "--db", url, "--json")
    _dialer("dnc", "import", str(dnc_path), "--campaign", "bench", "--db", url, "--json")
    with MemorySampler() as memory:
        started = time.perf_counter()
        summary = _dialer("list", "load", str(path), "--campaign", "bench", "--db", url, "--json")
        load_s = time.perf_counter() - started
    csv_rate = csv_reader_rate(path)
    naive = naive_rate(path, min(rows, NAIVE_SAMPLE))
    load_rate = rows / load_s
    return {"rows": rows, "load_rows_per_s": round(load_rate),
            "csv_reader_rows_per_s": round(csv_rate),
            "naive_phonenumbers_rows_per_s": round(naive),
            "ratio_to_csv_reader": round(load_rate / csv_rate, 6),
            "ratio_to_naive_phonenumbers": round(load_rate / naive, 2),
            "peak_rss_mb": round(memory.peak_rss_kb / 1024, 1),
            "peak_pss_mb": round(memory.peak_pss_kb / 1024, 1),
            "load_s": round(load_s, 2), "file_mb": round(path.stat().st_size / 2 ** 20, 1),
            "imported": summary["imported"], "rejected": summary["rejected"]}

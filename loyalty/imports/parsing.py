"""Reading other loyalty apps' CSV files: pure functions, no database.

`read_csv` turns the uploaded bytes into a table; `detect_source` names the app that exported it
(from its header, or by position for LoyaltyLion's header-less files); `propose_mapping` maps the
columns to what Setia imports; `parse_rows` reads every row into values and the problems found
in it, each with its row number as a spreadsheet shows it (the header is row 1). A bad row is
reported, never raised. What the apps publish is in /work/shared/docs/imports.md.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

# What a column can be imported as.
EMAIL = "email"
CUSTOMER_ID = "customer_id"
POINTS = "points"
FIRST_NAME = "first_name"
LAST_NAME = "last_name"
FULL_NAME = "full_name"
BIRTHDAY = "birthday"
TIER = "tier"
POINTS_SPENT = "points_spent"
POINTS_PENDING = "points_pending"
ENROLLED = "enrolled"
ROLES = (
    EMAIL,
    CUSTOMER_ID,
    POINTS,
    FIRST_NAME,
    LAST_NAME,
    FULL_NAME,
    BIRTHDAY,
    TIER,
    POINTS_SPENT,
    POINTS_PENDING,
    ENROLLED,
)

ADD = "add"
REPLACE = "replace"

GENERIC = "generic"
# Smile.io's API writes a birthday without a year with the year 1004.
NO_YEAR_SENTINELS = frozenset({1004})


class CsvError(Exception):
    """The file as a whole cannot be read (not UTF-8, empty)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclasses.dataclass(frozen=True)
class Table:
    rows: list[list[str]]  # every non-blank record, the header (if any) included
    delimiter: str

    @property
    def width(self) -> int:
        return max((len(row) for row in self.rows), default=0)


@dataclasses.dataclass(frozen=True)
class Preset:
    """One app's file: which headers mean what. `by_position` files have no fixed headers."""

    key: str
    label: str  # or a lazily translated string
    columns: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    required: tuple[str, ...] = ()  # headers that must all be there for the preset to match
    by_position: tuple[str, ...] = ()  # roles of columns A, B, C... (header-less files)
    transactions: bool = False  # one row per movement: a member may appear on several rows

    def known_headers(self) -> set[str]:
        return {normalize_header(h) for aliases in self.columns.values() for h in aliases}


def normalize_header(header: str) -> str:
    return re.sub(r"[\s_]+", "", header.strip().lstrip("\ufeff").lower())


# In order of preference when two presets recognise a header equally well.
PRESETS: dict[str, Preset] = {
    preset.key: preset
    for preset in (
        Preset(
            key="smile",
            label="Smile.io",
            columns={EMAIL: ("email",), POINTS: ("points",), TIER: ("vip_tier",)},
            required=("email",),
        ),
        Preset(
            key="yotpo",
            label="Yotpo (Swell)",
            columns={
                EMAIL: ("Email", "Emails"),
                POINTS: ("Points Balance", "Points"),
                POINTS_SPENT: ("Points Spent",),
                FULL_NAME: ("Full Name",),
                FIRST_NAME: ("First Name",),
                LAST_NAME: ("Last Name",),
                BIRTHDAY: ("Birthday (MM/DD)", "Birthday (MM/DD/YYYY)"),
            },
        ),
        Preset(
            key="rivo",
            label="Rivo",
            columns={
                EMAIL: ("Email",),
                POINTS: ("Points Balance",),
                BIRTHDAY: ("Birthdate",),
                TIER: ("VIP Tier",),
                ENROLLED: ("Activation Date",),
            },
            required=("Email", "Points Balance"),
        ),
        Preset(
            key="rivo_history",
            label=_("Rivo (points history)"),
            columns={
                CUSTOMER_ID: ("customer_id",),
                EMAIL: ("email",),
                POINTS: ("points_amount",),
            },
            required=("points_amount",),
            transactions=True,
        ),
        Preset(
            key="growave",
            label="Growave",
            columns={
                CUSTOMER_ID: ("Customer ID",),
                EMAIL: ("Email",),
                POINTS: ("Points",),
                FIRST_NAME: ("First Name",),
                LAST_NAME: ("Last Name",),
                BIRTHDAY: ("Birthdate",),
            },
            required=("Customer ID", "Email", "Points"),
        ),
        Preset(
            key="bon",
            label="BON Loyalty",
            columns={
                CUSTOMER_ID: ("Shopify Customer ID", "Shopify ID"),
                EMAIL: ("Email",),
                POINTS: ("Points", "Points Balance"),
            },
        ),
        Preset(
            key="joy",
            label="Joy",
            columns={
                EMAIL: ("Email",),
                POINTS: ("Points", "Points Balance"),
                FULL_NAME: ("Name", "Customer Name"),
                TIER: ("Membership Type", "VIP Tier Name"),
                BIRTHDAY: ("Birthday(MM/DD)", "Birthday"),
                ENROLLED: ("Created Date",),
            },
        ),
        Preset(
            key="loyaltylion",
            label=_("LoyaltyLion (Shopify: A email, B points)"),
            by_position=(EMAIL, POINTS),
        ),
        Preset(
            key="loyaltylion_custom",
            label=_("LoyaltyLion (A customer id, B email, C points, D enrolled)"),
            by_position=(CUSTOMER_ID, EMAIL, POINTS, ENROLLED),
        ),
        Preset(key=GENERIC, label=_("Other (choose the columns)")),
    )
}


@dataclasses.dataclass(frozen=True)
class Detection:
    preset: Preset
    has_header: bool


@dataclasses.dataclass(frozen=True)
class Problem:
    """Stored as a code and its values; the page words it in the merchant's language."""

    code: str
    params: dict = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"code": self.code, **self.params}


@dataclasses.dataclass(frozen=True)
class Birthday:
    month: int
    day: int
    year: int | None = None


@dataclasses.dataclass
class Row:
    number: int  # as a spreadsheet shows it: the header is row 1
    email: str = ""  # lowercased: members match on email case-insensitively
    customer_id: str = ""
    points: int | None = None  # None: the row says nothing about the balance
    points_rounded_from: str = ""  # a decimal balance, rounded half up
    first_name: str = ""
    last_name: str = ""
    birthday: Birthday | None = None
    tier_name: str = ""
    points_spent: int | None = None
    points_pending: int | None = None
    enrolled: date | None = None
    problems: list[Problem] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# --- reading the file -------------------------------------------------------------------------


def read_csv(data: bytes) -> Table:
    """UTF-8 with or without a byte order mark, comma or semicolon separated, quoted fields."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CsvError("not_utf8") from None
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    try:
        rows = [[cell.strip() for cell in row] for row in reader if any(c.strip() for c in row)]
    except csv.Error:
        raise CsvError("malformed") from None
    if not rows:
        raise CsvError("empty")
    return Table(rows=rows, delimiter=delimiter)


def _delimiter(text: str) -> str:
    """The separator of the first line: whichever of `,` and `;` it has more of, outside quotes."""
    first = text.split("\n", 1)[0]
    unquoted = re.sub(r'"[^"]*"', "", first)
    return ";" if unquoted.count(";") > unquoted.count(",") else ","


# --- detecting the source and proposing a mapping ---------------------------------------------


def detect_source(table: Table) -> Detection:
    header = {normalize_header(h) for h in table.rows[0]}
    best, best_score = None, 0
    for preset in PRESETS.values():
        if not preset.columns:
            continue
        known = preset.known_headers()
        required = {normalize_header(h) for h in preset.required}
        # A preset matches when its required headers are there and a column naming the member.
        keys = {
            normalize_header(h)
            for role in (EMAIL, CUSTOMER_ID)
            for h in preset.columns.get(role, ())
        }
        if not required <= header or not keys & header:
            continue
        score = len(header & known)
        if score > best_score:
            best, best_score = preset, score
    if best is not None:
        return Detection(best, has_header=True)
    return _detect_by_position(table)


def _detect_by_position(table: Table) -> Detection:
    """LoyaltyLion's files are read by position; the first row may be a header of any words."""
    first = table.rows[0]
    has_header = not any(_looks_like_email(cell) for cell in first)
    sample = table.rows[1] if has_header and len(table.rows) > 1 else first
    if len(sample) >= 3 and _looks_like_email(sample[1]) and not _looks_like_email(sample[0]):
        return Detection(PRESETS["loyaltylion_custom"], has_header=has_header)
    if len(sample) >= 2 and _looks_like_email(sample[0]):
        return Detection(PRESETS["loyaltylion"], has_header=has_header)
    return Detection(PRESETS[GENERIC], has_header=has_header)


def _looks_like_email(value: str) -> bool:
    return re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value.strip()) is not None


def propose_mapping(*, preset: Preset, table: Table, has_header: bool) -> dict[str, int | None]:
    """Role -> column index (None: not imported), from the preset's headers or positions."""
    mapping: dict[str, int | None] = dict.fromkeys(ROLES)
    if preset.by_position:
        for index, role in enumerate(preset.by_position):
            if index < table.width:
                mapping[role] = index
        return mapping
    if not has_header:
        return mapping
    header = [normalize_header(h) for h in table.rows[0]]
    for role, aliases in preset.columns.items():
        for alias in aliases:
            name = normalize_header(alias)
            if name in header:
                mapping[role] = header.index(name)
                break
    if mapping[FULL_NAME] is not None and (mapping[FIRST_NAME] is not None):
        mapping[FULL_NAME] = None  # the separate first and last names say it better
    return mapping


def column_labels(table: Table, *, has_header: bool) -> list[str]:
    """How the mapping form names each column: its header, or its spreadsheet letter."""
    labels = []
    for index in range(table.width):
        letter = _column_letter(index)
        header = table.rows[0][index] if has_header and index < len(table.rows[0]) else ""
        labels.append(f"{letter}: {header}" if header else letter)
    return labels


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


# --- reading rows -----------------------------------------------------------------------------


def parse_rows(
    *,
    table: Table,
    mapping: dict[str, int | None],
    has_header: bool,
    mode: str,
    transactions: bool = False,
    tiers: dict[str, int | None] | None = None,
) -> list[Row]:
    """Every data row with its values and problems.

    `tiers`: the file's tier names (lowercased) -> a Setia tier id, or None to ignore that name;
    a name it does not know is a problem. Without `transactions`, a member named on two rows
    (same email or customer id) is a problem on each of them: which one is right is unknown.
    """
    tiers = tiers or {}
    start = 1 if has_header else 0
    rows = [
        _parse_row(cells, number=index + 1, mapping=mapping, mode=mode, tiers=tiers)
        for index, cells in enumerate(table.rows)
        if index >= start
    ]
    if not transactions or mode == REPLACE:
        _flag_duplicates(rows)
    return rows


def _cell(cells: list[str], mapping: dict[str, int | None], role: str) -> str:
    index = mapping.get(role)
    if index is None or index >= len(cells):
        return ""
    return cells[index].strip()


def _parse_row(
    cells: list[str],
    *,
    number: int,
    mapping: dict[str, int | None],
    mode: str,
    tiers: dict[str, int | None],
) -> Row:
    row = Row(number=number)
    problems = row.problems

    email = _cell(cells, mapping, EMAIL)
    if email:
        try:
            validate_email(email)
            row.email = email.lower()
        except ValidationError:
            problems.append(Problem("bad_email", {"value": email}))
    row.customer_id = normalize_customer_id(_cell(cells, mapping, CUSTOMER_ID))
    if not row.customer_id and not email:
        problems.append(Problem("no_member_key"))
    elif row.customer_id and not row.customer_id.isdigit():
        problems.append(Problem("bad_customer_id", {"value": _cell(cells, mapping, CUSTOMER_ID)}))

    raw_points = _cell(cells, mapping, POINTS)
    if raw_points:
        points, rounded = parse_points(raw_points)
        if points is None:
            problems.append(Problem("bad_points", {"value": raw_points}))
        elif points < 0 and mode == REPLACE:
            problems.append(Problem("negative_balance", {"value": raw_points}))
        else:
            row.points = points
            row.points_rounded_from = raw_points if rounded else ""

    for role, field in ((POINTS_SPENT, "points_spent"), (POINTS_PENDING, "points_pending")):
        raw = _cell(cells, mapping, role)
        if raw:
            value, _ = parse_points(raw)
            if value is None or value < 0:
                problems.append(Problem("bad_points", {"value": raw}))
            else:
                setattr(row, field, value)

    row.first_name = _cell(cells, mapping, FIRST_NAME)[:255]
    row.last_name = _cell(cells, mapping, LAST_NAME)[:255]
    full_name = _cell(cells, mapping, FULL_NAME)
    if full_name and not (row.first_name or row.last_name):
        first, _, last = full_name.partition(" ")
        row.first_name, row.last_name = first[:255], last.strip()[:255]

    raw_birthday = _cell(cells, mapping, BIRTHDAY)
    if raw_birthday:
        row.birthday = parse_birthday(raw_birthday)
        if row.birthday is None:
            problems.append(Problem("bad_birthday", {"value": raw_birthday}))

    raw_enrolled = _cell(cells, mapping, ENROLLED)
    if raw_enrolled:
        row.enrolled = parse_date(raw_enrolled)
        if row.enrolled is None:
            problems.append(Problem("bad_date", {"value": raw_enrolled}))

    tier_name = _cell(cells, mapping, TIER)
    if tier_name:
        key = tier_name.lower()
        if key not in tiers:
            problems.append(Problem("unknown_tier", {"value": tier_name}))
        elif tiers[key] is not None:
            row.tier_name = tier_name
    return row


def _flag_duplicates(rows: list[Row]) -> None:
    first_seen: dict[tuple[str, str], Row] = {}
    for row in rows:
        for kind, value in (("email", row.email), ("customer_id", row.customer_id)):
            if not value:
                continue
            first = first_seen.setdefault((kind, value), row)
            if first is row:
                continue
            code = f"duplicate_{kind}"
            row.problems.append(Problem(code, {"row": first.number, "value": value}))
            if not any(p.code == code for p in first.problems):
                first.problems.append(Problem(code, {"row": row.number, "value": value}))


def normalize_customer_id(value: str) -> str:
    """Shopify's numeric customer id, also from its GraphQL id (gid://shopify/Customer/123)."""
    value = value.strip()
    match = re.fullmatch(r"gid://shopify/Customer/(\d+)", value)
    return match.group(1) if match else value


def parse_points(value: str) -> tuple[int | None, bool]:
    """A whole number without thousands separators; up to 2 decimals (Growave) are rounded half
    up to a whole point (12.50 -> 13, 12.49 -> 12, -2.5 -> -3). Returns (points, rounded)."""
    value = value.strip().replace("\u2212", "-")
    if not re.fullmatch(r"[+-]?\d+(\.\d{1,2})?", value):
        return None, False
    try:
        number = Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern above admits only numbers
        return None, False
    whole = int(number.quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    return whole, number != whole


def parse_birthday(value: str) -> Birthday | None:
    """YYYY-MM-DD (also with a time after it), MM/DD/YYYY, MM/DD, --MM-DD. A year of 1004 (Smile's
    API) or none at all leaves the birthday without a year."""
    value = value.strip()
    patterns = (
        (r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?", ("year", "month", "day")),
        (r"(\d{1,2})/(\d{1,2})/(\d{4})", ("month", "day", "year")),
        (r"(\d{1,2})/(\d{1,2})", ("month", "day")),
        (r"--(\d{1,2})-(\d{1,2})", ("month", "day")),
    )
    for pattern, names in patterns:
        match = re.fullmatch(pattern, value)
        if match:
            parts = {name: int(part) for name, part in zip(names, match.groups(), strict=True)}
            year = parts.get("year")
            if year in NO_YEAR_SENTINELS:
                year = None
            # A year-less date is checked against a leap year: 02/29 is a real birthday.
            try:
                date(year or 2000, parts["month"], parts["day"])
            except ValueError:
                return None
            if year is not None and not 1900 <= year <= datetime.now(UTC).year:
                return None
            return Birthday(month=parts["month"], day=parts["day"], year=year)
    return None


def parse_date(value: str) -> date | None:
    """A full date (enrolment): YYYY-MM-DD (a time may follow) or MM/DD/YYYY."""
    birthday = parse_birthday(value)
    if birthday is None or birthday.year is None:
        return None
    return date(birthday.year, birthday.month, birthday.day)

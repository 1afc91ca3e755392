"""Reading the files (no database): detection, mapping, values and row problems."""

from pathlib import Path

import pytest

from loyalty.imports.parsing import (
    ADD,
    BIRTHDAY,
    CUSTOMER_ID,
    EMAIL,
    FIRST_NAME,
    FULL_NAME,
    LAST_NAME,
    POINTS,
    POINTS_SPENT,
    PRESETS,
    REPLACE,
    TIER,
    Birthday,
    CsvError,
    Problem,
    Table,
    column_labels,
    detect_source,
    parse_birthday,
    parse_points,
    parse_rows,
    propose_mapping,
    read_csv,
)

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Table:
    return read_csv((FIXTURES / name).read_bytes())


def parsed(table: Table, *, mode=ADD, tiers=None):
    detection = detect_source(table)
    mapping = propose_mapping(preset=detection.preset, table=table, has_header=detection.has_header)
    return parse_rows(
        table=table,
        mapping=mapping,
        has_header=detection.has_header,
        mode=mode,
        transactions=detection.preset.transactions,
        tiers=tiers,
    )


def test_smile_points_file_is_detected_and_mapped_by_its_header():
    table = fixture("smile_points.csv")

    detection = detect_source(table)
    mapping = propose_mapping(preset=detection.preset, table=table, has_header=True)

    assert detection.preset.key == "smile"
    assert detection.has_header is True
    assert mapping[EMAIL] == 0
    assert mapping[POINTS] == 1
    assert {role for role, index in mapping.items() if index is not None} == {EMAIL, POINTS}


def test_smile_rows_read_with_lowercased_emails_and_whole_points():
    rows = parsed(fixture("smile_points.csv"))

    assert [(r.number, r.email, r.points, r.problems) for r in rows] == [
        (2, "siti.aminah@example.com", 1200, []),
        (3, "john.tan@example.com", 350, []),
        (4, "mei.ling@example.com", 0, []),
        (5, "rajesh.k@example.com", 75, []),
    ]


def test_smile_tier_file_needs_every_tier_name_known():
    table = fixture("smile_vip_tiers.csv")

    rows = parsed(table, tiers={"gold": 7})

    assert detect_source(table).preset.key == "smile"
    assert rows[0].tier_name == "Gold"
    assert rows[0].problems == []
    assert rows[1].problems == [Problem("unknown_tier", {"value": "Silver"})]


def test_a_tier_name_mapped_to_nothing_is_ignored_not_a_problem():
    rows = parsed(fixture("smile_vip_tiers.csv"), tiers={"gold": 7, "silver": None})

    assert rows[1].problems == []
    assert rows[1].tier_name == ""


def test_loyaltylion_file_without_a_header_is_read_by_position():
    table = fixture("loyaltylion_shopify.csv")

    detection = detect_source(table)
    rows = parsed(table)

    assert detection.preset.key == "loyaltylion"
    assert detection.has_header is False
    assert [(r.number, r.email, r.points) for r in rows] == [
        (1, "siti.aminah@example.com", 1200),
        (2, "john.tan@example.com", 350),
        (3, "rajesh.k@example.com", 75),
    ]


def test_loyaltylion_file_with_renamed_headers_is_read_by_position_after_the_header():
    table = read_csv(b"Customer email,Approved points\nsiti@example.com,40\n")

    detection = detect_source(table)

    assert detection.preset.key == "loyaltylion"
    assert detection.has_header is True
    assert [(r.number, r.email, r.points) for r in parsed(table)] == [(2, "siti@example.com", 40)]


def test_loyaltylion_non_shopify_layout_has_the_customer_id_first():
    table = read_csv(b"6011,siti@example.com,40,2024-02-01\n")

    detection = detect_source(table)
    rows = parsed(table)

    assert detection.preset.key == "loyaltylion_custom"
    assert (rows[0].customer_id, rows[0].email, rows[0].points) == ("6011", "siti@example.com", 40)
    assert rows[0].enrolled.isoformat() == "2024-02-01"


def test_yotpo_export_with_bom_and_crlf_is_detected_and_mapped():
    table = fixture("yotpo_customers.csv")

    detection = detect_source(table)
    mapping = propose_mapping(preset=detection.preset, table=table, has_header=True)

    assert detection.preset.key == "yotpo"
    assert table.rows[0][0] == "Full Name"  # the byte order mark is gone
    assert mapping[EMAIL] == 3
    assert mapping[POINTS] == 4
    assert mapping[POINTS_SPENT] == 5
    assert mapping[FIRST_NAME] == 1
    assert mapping[LAST_NAME] == 2
    assert mapping[FULL_NAME] is None  # first and last names are there
    assert mapping[BIRTHDAY] == 6


def test_yotpo_rows_report_their_problems_by_row_number():
    rows = parsed(fixture("yotpo_customers.csv"))

    assert rows[0].birthday == Birthday(month=5, day=17, year=None)
    assert rows[0].points_spent == 300
    assert (rows[0].first_name, rows[0].last_name) == ("Siti", "Aminah")
    assert [(r.number, r.problems) for r in rows if r.problems] == [
        (3, [Problem("bad_email", {"value": "john.tan@example"})]),
        (5, [Problem("bad_birthday", {"value": "13/45"})]),
    ]
    assert rows[2].birthday == Birthday(month=2, day=29, year=None)


def test_semicolons_quotes_decimal_points_and_graphql_ids():
    table = fixture("growave_semicolon.csv")

    detection = detect_source(table)
    rows = parsed(table)

    assert table.delimiter == ";"
    assert detection.preset.key == "growave"
    assert [(r.customer_id, r.points, r.points_rounded_from) for r in rows] == [
        ("6011111111", 151, "150.50"),
        ("6022222222", 99, "99.49"),
    ]
    assert rows[0].birthday == Birthday(month=8, day=21, year=1994)
    assert rows[1].birthday == Birthday(month=3, day=9, year=None)  # Smile's year 1004


@pytest.mark.parametrize(
    ("header", "preset"),
    [
        (b"Email,Points Balance,Birthdate,VIP Tier,Activation Date,Credits Balance", "rivo"),
        (b"customer_id,points_amount,source,applied_at,expires_at,order_id", "rivo_history"),
        (b"Shopify Customer ID,Email,Points", "bon"),
        (b"Email,Points Balance,Shopify ID", "bon"),
        (b"Email,Name,Membership Type,Points,Birthday,Created Date", "joy"),
        (b"Customer Name,VIP Tier Name,Points Balance,Email", "joy"),
        (b"Emails,Points", "yotpo"),
    ],
)
def test_other_apps_are_detected_by_their_published_headers(header, preset):
    table = read_csv(header + b"\n")

    assert detect_source(table).preset.key == preset


def test_joy_customer_name_is_split_into_first_and_last_names():
    table = read_csv(
        b"Customer Name,VIP Tier Name,Points Balance,Email\nNur Aisyah Binti Ali,,5,n@x.co\n"
    )

    rows = parsed(table)

    assert (rows[0].first_name, rows[0].last_name) == ("Nur", "Aisyah Binti Ali")


def test_the_same_email_on_two_rows_is_a_problem_on_both():
    table = read_csv(b"email,points\na@example.com,1\nb@example.com,2\nA@Example.com,3\n")

    rows = parsed(table)

    assert [(r.number, r.problems) for r in rows] == [
        (2, [Problem("duplicate_email", {"row": 4, "value": "a@example.com"})]),
        (3, []),
        (4, [Problem("duplicate_email", {"row": 2, "value": "a@example.com"})]),
    ]


def test_a_points_history_file_may_name_a_member_twice_when_adding():
    table = read_csv(b"customer_id,points_amount\n6011,10\n6011,-4\n")

    add_rows = parsed(table, mode=ADD)
    replace_rows = parsed(table, mode=REPLACE)

    assert [r.problems for r in add_rows] == [[], []]
    assert [r.points for r in add_rows] == [10, -4]
    assert [p.code for r in replace_rows for p in r.problems] == [
        "duplicate_customer_id",
        "negative_balance",
        "duplicate_customer_id",
    ]


def test_a_negative_balance_is_refused_in_replace_mode_only():
    table = read_csv(b"email,points\na@example.com,-20\n")

    assert parsed(table, mode=ADD)[0].points == -20
    assert parsed(table, mode=REPLACE)[0].problems == [
        Problem("negative_balance", {"value": "-20"})
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1200", (1200, False)),
        ("+15", (15, False)),
        ("-7", (-7, False)),
        ("12.50", (13, True)),
        ("12.49", (12, True)),
        ("-2.5", (-3, True)),
        ("1,200", (None, False)),
        ("1.200.000", (None, False)),
        ("1 200", (None, False)),
        ("12.345", (None, False)),
        ("abc", (None, False)),
    ],
)
def test_points_are_whole_numbers_without_separators(value, expected):
    assert parse_points(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1990-05-17", Birthday(5, 17, 1990)),
        ("1990-05-17T00:00:00Z", Birthday(5, 17, 1990)),
        ("1004-05-17", Birthday(5, 17, None)),
        ("05/17/1990", Birthday(5, 17, 1990)),
        ("05/17", Birthday(5, 17, None)),
        ("5/7", Birthday(5, 7, None)),
        ("--05-17", Birthday(5, 17, None)),
        ("02/29", Birthday(2, 29, None)),
        ("02/29/1991", None),
        ("17/05/1990", None),
        ("1800-01-01", None),
        ("May 17", None),
    ],
)
def test_birthdays_keep_no_year_when_the_file_gives_none(value, expected):
    assert parse_birthday(value) == expected


def test_a_row_without_email_or_customer_id_is_a_problem():
    table = read_csv(b"email,points\n,20\n")

    assert parsed(table)[0].problems == [Problem("no_member_key")]


def test_a_bad_points_value_is_a_problem_with_its_row_number():
    table = read_csv(b'email,points\na@example.com,10\nb@example.com,"1,000"\n')

    rows = parsed(table)

    assert rows[1].number == 3
    assert rows[1].points is None
    assert rows[1].problems == [Problem("bad_points", {"value": "1,000"})]


def test_an_empty_points_cell_says_nothing_about_the_balance():
    table = read_csv(b"email,points,vip_tier\na@example.com,,Gold\n")

    rows = parsed(table, tiers={"gold": 1})

    assert rows[0].points is None
    assert rows[0].problems == []


def test_file_level_errors():
    with pytest.raises(CsvError) as not_utf8:
        read_csv("email,points\nzoë@example.com,1\n".encode("latin-1"))
    with pytest.raises(CsvError) as empty:
        read_csv(b"\n \n")

    assert not_utf8.value.code == "not_utf8"
    assert empty.value.code == "empty"


def test_an_unknown_header_maps_nothing_and_columns_are_labelled():
    table = read_csv(b"Kunde;Punkte\nx;1\n")

    detection = detect_source(table)

    assert detection.preset.key == "generic"
    assert set(propose_mapping(preset=detection.preset, table=table, has_header=True).values()) == {
        None
    }
    assert column_labels(table, has_header=True) == ["A: Kunde", "B: Punkte"]
    assert column_labels(table, has_header=False) == ["A", "B"]


def test_every_preset_maps_a_member_key_and_points():
    for preset in PRESETS.values():
        if preset.key == "generic":
            continue
        roles = set(preset.columns) | set(preset.by_position)
        assert roles & {EMAIL, CUSTOMER_ID}, preset.key
        assert POINTS in roles or TIER in roles, preset.key

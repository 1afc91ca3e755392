"""The member's link code and the email spelling: pure functions."""

import pytest

from loyalty.referrals.codes import email_normalised, referral_code, referral_code_member_id


def test_a_code_names_its_member_for_its_shop_only():
    code = referral_code(shop_id=3, member_id=123456)

    assert referral_code_member_id(shop_id=3, code=code) == 123456
    assert referral_code_member_id(shop_id=3, code=code.upper()) == 123456  # typed in capitals
    assert referral_code_member_id(shop_id=4, code=code) is None  # another shop's
    assert referral_code(shop_id=3, member_id=123456) == code  # stable


@pytest.mark.parametrize(
    "forged",
    [
        "",
        "abc",
        "1" + "a" * 10,
        "zz" + "a" * 10,
        "3f" + "a" * 9 + "é",
        "1" * 40,
        "../../etc",
    ],
)
def test_a_forged_or_mangled_code_names_nobody(forged):
    assert referral_code_member_id(shop_id=3, code=forged) is None


def test_changing_the_member_part_of_a_real_code_breaks_it():
    code = referral_code(shop_id=3, member_id=41)
    other = referral_code(shop_id=3, member_id=42)

    assert referral_code_member_id(shop_id=3, code=other[:-10] + code[-10:]) is None


@pytest.mark.parametrize(
    ("email", "normal"),
    [
        ("Siti.Aminah+shop@Gmail.com", "sitiaminah@gmail.com"),
        (" siti.aminah@googlemail.com ", "sitiaminah@gmail.com"),
        ("ali.b+x@example.com", "ali.b@example.com"),
        ("ALI@EXAMPLE.COM", "ali@example.com"),
        ("not-an-email", "not-an-email"),
    ],
)
def test_emails_are_compared_as_one_inbox(email, normal):
    assert email_normalised(email) == normal

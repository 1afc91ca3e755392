"""Reminder emails before points expire: once per member and expiry date, only to members who
can and may be written to, failures kept and retried."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings

from loyalty.expiry import services, tasks
from loyalty.expiry.models import ExpiryReminder
from loyalty.ledger.services import ledger_credit, ledger_debit
from tests.expiry.conftest import day, set_program
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def earn(member, points, key, at, **kwargs):
    return ledger_credit(
        member=member, points=points, idempotency_key=key, source_type="test", now=at, **kwargs
    ).entry


def remind(at):
    return tasks.send_expiry_reminders.delay(now=at.isoformat()).get()


def reminders():
    return list(
        ExpiryReminder.objects.order_by("pk").values_list(
            "member_id", "expires_on", "points", "state", "attempts"
        )
    )


# --- per lot --------------------------------------------------------------------------------


def test_lots_expiring_within_the_reminder_days_are_announced_once(per_lot, shopper):
    earn(shopper, 100, "order:1", day(0), expires_at=day(90))

    remind(day(75))  # day 90 is 15 days away: not yet
    assert mail.outbox == []

    remind(day(77))
    remind(day(78))

    (email,) = mail.outbox
    assert email.to == ["aisyah@example.com"]
    assert email.subject == "100 points at Aisyah Batik expire on 30 May 2026"
    assert "100 of your points at Aisyah Batik expire on 30 May 2026." in email.body
    assert f"https://{per_lot.shop.domain}" in email.body
    html, mimetype = email.alternatives[0]
    assert mimetype == "text/html"
    assert "<strong>100 points</strong> at Aisyah Batik" in html
    assert reminders() == [(shopper.pk, day(90).date(), 100, "sent", 1)]


def test_one_email_covers_every_lot_in_the_window_and_later_lots_get_their_own(per_lot, shopper):
    earn(shopper, 100, "order:1", day(0), expires_at=day(90))
    earn(shopper, 50, "order:2", day(5), expires_at=day(95))
    earn(shopper, 30, "order:3", day(40), expires_at=day(130))

    remind(day(85))  # window to day 99: the first two lots
    remind(day(91))  # the first has expired; the second was announced already
    remind(day(120))  # the third

    assert [m.subject for m in mail.outbox] == [
        "150 points at Aisyah Batik expire on 30 May 2026",
        "30 points at Aisyah Batik expire on 09 July 2026",
    ]
    assert "(the last of them on 4 June 2026)" in mail.outbox[0].body
    assert reminders() == [
        (shopper.pk, day(90).date(), 150, "sent", 1),
        (shopper.pk, day(130).date(), 30, "sent", 1),
    ]


def test_spent_points_are_not_announced(per_lot, shopper):
    earn(shopper, 100, "order:1", day(0), expires_at=day(90))
    ledger_debit(
        member=shopper, points=100, idempotency_key="redeem:1", source_type="test", now=day(10)
    )

    remind(day(80))

    assert mail.outbox == []
    assert reminders() == []


def test_members_without_email_redacted_or_excluded_get_no_reminder(per_lot):
    no_email = MemberFactory(shop=per_lot.shop, email="")
    redacted = MemberFactory(shop=per_lot.shop, status="redacted")
    excluded = MemberFactory(shop=per_lot.shop, status="excluded")
    for member in (no_email, redacted, excluded):
        earn(member, 100, f"order:{member.pk}", day(0), expires_at=day(90))

    remind(day(80))

    assert mail.outbox == []
    assert reminders() == []


def test_no_reminders_when_reminder_days_is_zero(shop, shopper):
    set_program(shop, expiry_mode="per_lot", expiry_days=90, expiry_reminder_days=0)
    earn(shopper, 100, "order:1", day(0), expires_at=day(90))

    remind(day(89))

    assert mail.outbox == []


def test_no_reminders_for_an_uninstalled_shop(per_lot, shopper):
    per_lot.shop.uninstalled_at = day(1)
    per_lot.shop.save()
    earn(shopper, 100, "order:1", day(0), expires_at=day(90))

    remind(day(80))

    assert mail.outbox == []


@override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend")
def test_without_an_email_backend_nothing_is_recorded_as_sent(per_lot, shopper):
    earn(shopper, 100, "order:1", day(0), expires_at=day(90))

    assert remind(day(80)) == 0

    assert reminders() == []


# --- inactivity -----------------------------------------------------------------------------


def test_idle_members_are_reminded_of_their_balance_before_it_expires(inactivity, shopper):
    tasks.expire_inactive_balances.delay(now=day(-365).isoformat()).get()  # the mode applies
    earn(shopper, 100, "order:1", day(0))

    remind(day(149))  # expiry on day 180 is 31 days away
    assert mail.outbox == []
    remind(day(151))
    remind(day(152))

    (email,) = mail.outbox
    assert email.subject == "100 points at Aisyah Batik expire on 28 August 2026"
    assert reminders() == [(shopper.pk, day(180).date(), 100, "sent", 1)]


def test_activity_moves_the_expiry_and_a_new_reminder_follows(inactivity, shopper):
    tasks.expire_inactive_balances.delay(now=day(-365).isoformat()).get()
    earn(shopper, 100, "order:1", day(0))
    remind(day(151))
    ledger_debit(
        member=shopper, points=20, idempotency_key="redeem:1", source_type="test", now=day(160)
    )

    remind(day(311))  # expiry now on day 340

    assert [m.subject for m in mail.outbox] == [
        "100 points at Aisyah Batik expire on 28 August 2026",
        "80 points at Aisyah Batik expire on 04 February 2027",
    ]


def test_a_program_just_switched_to_inactivity_reminds_no_one_early(inactivity, shopper):
    earn(shopper, 100, "order:1", day(-400))

    remind(day(0))  # first seen now: balance expires on day 180 at the earliest

    assert mail.outbox == []
    remind(day(151))
    assert [m.subject for m in mail.outbox] == [
        "100 points at Aisyah Batik expire on 28 August 2026"
    ]


# --- failures -------------------------------------------------------------------------------


def test_a_failed_send_is_recorded_and_retried_up_to_the_limit(per_lot, shopper, monkeypatch):
    earn(shopper, 100, "order:1", day(0), expires_at=day(90))

    def refused(**kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr(services, "send_mail", refused)
    remind(day(80))
    remind(day(81))
    remind(day(82))
    remind(day(83))  # the third attempt was the last

    reminder = ExpiryReminder.objects.get()
    assert (reminder.state, reminder.attempts) == ("failed", 3)
    assert reminder.last_error == "ConnectionRefusedError('smtp down')"
    assert mail.outbox == []


def test_a_failed_send_goes_out_on_the_next_run(per_lot, shopper, monkeypatch):
    earn(shopper, 100, "order:1", day(0), expires_at=day(90))
    real = services.send_mail

    def refused(**kwargs):
        raise TimeoutError("timed out")

    monkeypatch.setattr(services, "send_mail", refused)
    remind(day(80))
    monkeypatch.setattr(services, "send_mail", real)

    remind(day(80) + timedelta(hours=1))

    assert len(mail.outbox) == 1
    assert reminders() == [(shopper.pk, day(90).date(), 100, "sent", 2)]


def test_reminders_go_through_every_batch(inactivity, monkeypatch):
    monkeypatch.setattr(tasks, "BATCH", 1)
    remind(day(-365))  # the mode applies from here
    dated = [MemberFactory(shop=inactivity.shop, enrolled_at=day(-1)) for _ in range(2)]
    for member in dated:
        earn(member, 10, f"import:{member.pk}", day(100), expires_at=day(200))
    idle = [MemberFactory(shop=inactivity.shop, enrolled_at=day(-1)) for _ in range(3)]
    for member in idle:
        earn(member, 100, f"order:{member.pk}", day(0))

    remind(day(175))  # lots expiring on day 200; idle balances on day 180

    assert sorted(m.to[0] for m in mail.outbox) == sorted(m.email for m in dated + idle)
    assert sorted(ExpiryReminder.objects.values_list("expires_on", "points")) == [
        (day(180).date(), 100),
        (day(180).date(), 100),
        (day(180).date(), 100),
        (day(200).date(), 10),
        (day(200).date(), 10),
    ]


def test_the_expiry_date_is_the_shops_local_day(per_lot, shopper):
    per_lot.shop.iana_timezone = "America/New_York"
    per_lot.shop.save()
    # 30 May 02:00 UTC is still 29 May in New York.
    earn(shopper, 100, "order:1", day(0), expires_at=day(89) + timedelta(hours=14))

    remind(day(80))

    assert [m.subject for m in mail.outbox] == ["100 points at Aisyah Batik expire on 29 May 2026"]
    assert ExpiryReminder.objects.get().expires_on.isoformat() == "2026-05-29"

"""How a row's problems and notes read on the page, in the merchant's language.

Problems are stored as a code and its values (`{"code": "bad_email", "value": "x@"}`), so a
report saved in one language reads in another."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

MESSAGES = {
    # problems in the file
    "bad_email": _("“%(value)s” is not an email address."),
    "bad_customer_id": _("“%(value)s” is not a customer id (digits only)."),
    "no_member_key": _("No email and no customer id: the row names no one."),
    "bad_points": _(
        "“%(value)s” is not a number of points (whole numbers, no thousands separators)."
    ),
    "negative_balance": _("A balance cannot be negative (%(value)s) when replacing balances."),
    "bad_birthday": _("“%(value)s” is not a birthday (YYYY-MM-DD, MM/DD/YYYY or MM/DD)."),
    "bad_date": _("“%(value)s” is not a date (YYYY-MM-DD or MM/DD/YYYY)."),
    "unknown_tier": _("The tier “%(value)s” is not mapped to a Setia tier."),
    "duplicate_email": _("%(value)s is also on row %(row)s: which row is right is unclear."),
    "duplicate_customer_id": _(
        "Customer %(value)s is also on row %(row)s: which row is right is unclear."
    ),
    # rows that are fine but cannot be applied
    "no_member": _(
        "No member has this email, and without the store's customer id Setia cannot enrol "
        "the customer (add a customer id column)."
    ),
    "not_in_store": _(
        "No customer with this email in your store: nothing is imported for this row."
    ),
    "several_members": _("%(count)s members have this email: add a customer id column."),
    "email_taken": _(
        "This email belongs to customer %(customer_id)s, not the customer id in the file."
    ),
    "member_not_active": _("The member is excluded or erased."),
    "overdraw": _("Would take %(points)s points from a balance of %(balance)s."),
    "already_applied": _("Already imported from this file."),
    # notes
    "rounded": _("%(value)s rounded half up to %(points)s."),
    "spent_not_imported": _("%(value)s points spent: shown, not imported."),
    "pending_not_imported": _("%(value)s points pending: shown, not imported."),
}


def describe(item: dict) -> str:
    """One problem or note, worded; an unknown code shows as itself."""
    template = MESSAGES.get(item.get("code", ""))
    if template is None:
        return str(item.get("code", ""))
    params = {k: v for k, v in item.items() if k != "code"}
    return str(template) % params if params else str(template)

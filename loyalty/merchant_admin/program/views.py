"""The program pages: overview, editors, audit log, onboarding. Views only orchestrate: the
forms check, the services change (with their audit rows), every query is scoped by
`request.shop`, and a valid POST answers 303 to the next page."""

from __future__ import annotations

from copy import copy

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse

from loyalty.audit.selectors import audit_entries
from loyalty.earning.models import ActionRule, EarnRule
from loyalty.merchant_admin.pages import admin_view, request_actor, see_other
from loyalty.merchant_admin.program import forms, services
from loyalty.merchant_admin.program.selectors import (
    EXAMPLE_ORDER,
    audit_action_label,
    audit_changes,
    audit_target_label,
    example_points,
    money,
    onboarding_done,
    onboarding_next_step,
    starter_rewards_plan,
)
from loyalty.merchant_admin.shell import theme_editor_url
from loyalty.referrals.models import ReferralClaim
from loyalty.referrals.selectors import (
    friend_offer_text,
    referral_claims_recent,
    referral_program,
)
from loyalty.referrals.services import referral_program_update
from loyalty.rewards.models import Reward, RewardKind
from loyalty.tiers.models import Tier

AUDIT_PAGE_SIZE = 50
# How the audit log names a changed field: by what was changed, the editor's label.
FIELD_LABELS = {
    "shops.program": {
        **forms.ProgramSettingsForm.Meta.labels,
        **forms.ExpiryForm.Meta.labels,
        **forms.TierSettingsForm.Meta.labels,
    },
    "earning.earnrule": {
        **forms.EarnRuleForm.Meta.labels,
        **{name: field.label for name, field in forms.EarnRuleForm.declared_fields.items()},
    },
    "earning.actionrule": {
        **forms.ActionRuleForm.Meta.labels,
        **{name: field.label for name, field in forms.ActionRuleForm.declared_fields.items()},
    },
    "tiers.tier": {
        **forms.TierForm.Meta.labels,
        "perks": forms.TierForm.declared_fields["perks"].label,
    },
    "rewards.reward": {
        **forms.RewardForm.Meta.labels,
        **{name: field.label for name, field in forms.RewardForm.declared_fields.items()},
    },
    "referrals.referralprogram": forms.ReferralProgramForm.Meta.labels,
}


def _page(request, template: str, context: dict, *, form=None) -> HttpResponse:
    """Render; a bound, invalid form answers 400 with its messages by the fields."""
    status = 400 if form is not None and form.is_bound and form.errors else 200
    context = {"shop": request.shop, "program": request.shop.program, **context}
    if form is not None:
        context.setdefault("form", form)
    return render(request, f"merchant_admin/program/{template}", context, status=status)


def _data(request: HttpRequest):
    """The submitted form data on POST (even when empty: an empty form is checked too)."""
    return request.POST if request.method == "POST" else None


def _changes(form) -> dict:
    return {name: form.cleaned_data[name] for name in form.fields}


# --- overview ---------------------------------------------------------------------------------


@admin_view()
def overview(request: HttpRequest) -> HttpResponse:
    shop = request.shop
    if not onboarding_done(shop=shop):
        return HttpResponseRedirect(reverse(onboarding_next_step(shop=shop)))
    program = shop.program
    rewards = Reward.objects.filter(shop=shop).order_by("-enabled", "points_cost", "pk")
    referrals = referral_program(shop=shop)
    return _page(
        request,
        "overview.html",
        {
            "example_amount": money(EXAMPLE_ORDER, shop.currency),
            "example_points": example_points(program=program),
            "minimum_order": money(program.minimum_order, shop.currency),
            "rules": EarnRule.objects.filter(shop=shop).order_by("-enabled", "kind", "pk"),
            "actions": ActionRule.objects.filter(shop=shop).order_by("-enabled", "action", "pk"),
            "tiers": Tier.objects.filter(shop=shop).order_by("hidden", "threshold", "pk"),
            "rewards": [_reward_row(r, shop.currency) for r in rewards],
            "referrals": referrals,
            "friend_offer": friend_offer_text(program=referrals, currency=shop.currency),
        },
    )


def _reward_row(reward: Reward, currency: str) -> dict:
    if reward.kind == RewardKind.PERCENT_OFF:
        value = f"{reward.value.normalize():f} %"
    elif reward.kind == RewardKind.FREE_SHIPPING or (
        reward.kind == RewardKind.FREE_PRODUCT and not reward.value
    ):
        value = ""
    else:
        value = money(reward.value, currency)
    return {"reward": reward, "value": value}


# --- program settings and expiry --------------------------------------------------------------


def _program_form_page(request, *, form_class, template: str, action: str):
    shop = request.shop
    program = shop.program
    form = form_class(_data(request), instance=copy(program))
    if request.method == "POST" and form.is_valid():
        services.program_update(
            shop=shop, actor=request_actor(request), changes=_changes(form), action=action
        )
        return see_other("admin-program")
    return _page(
        request,
        template,
        {
            "example_amount": money(EXAMPLE_ORDER, shop.currency),
            "example_points": example_points(program=program),
        },
        form=form,
    )


@admin_view(methods=("GET", "POST"))
def settings_edit(request: HttpRequest) -> HttpResponse:
    return _program_form_page(
        request,
        form_class=forms.ProgramSettingsForm,
        template="settings.html",
        action="program.update",
    )


@admin_view(methods=("GET", "POST"))
def expiry_edit(request: HttpRequest) -> HttpResponse:
    return _program_form_page(
        request, form_class=forms.ExpiryForm, template="expiry.html", action="program.expiry_update"
    )


# --- earn rules -------------------------------------------------------------------------------


@admin_view()
def rules(request: HttpRequest) -> HttpResponse:
    shop = request.shop
    return _page(
        request,
        "rules.html",
        {
            "rules": EarnRule.objects.filter(shop=shop).order_by("-enabled", "kind", "pk"),
            "actions": ActionRule.objects.filter(shop=shop).order_by("-enabled", "action", "pk"),
        },
    )


@admin_view(methods=("GET", "POST"))
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    return _edit_page(
        request,
        pk,
        model=EarnRule,
        form_class=forms.EarnRuleForm,
        create=services.earn_rule_create,
        update=services.earn_rule_update,
        target="rule",
        done="admin-program-rules",
    )


@admin_view(methods=("POST",))
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    return _toggle(request, pk, model=EarnRule, update=services.earn_rule_update, target="rule")


@admin_view(methods=("GET", "POST"))
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    return _delete_page(request, pk, model=EarnRule, delete=services.earn_rule_delete)


# --- actions ----------------------------------------------------------------------------------


@admin_view(methods=("GET", "POST"))
def action_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    return _edit_page(
        request,
        pk,
        model=ActionRule,
        form_class=forms.ActionRuleForm,
        create=services.action_rule_create,
        update=services.action_rule_update,
        target="rule",
        done="admin-program-rules",
        template="action_form.html",
    )


@admin_view(methods=("POST",))
def action_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    return _toggle(request, pk, model=ActionRule, update=services.action_rule_update, target="rule")


@admin_view(methods=("GET", "POST"))
def action_delete(request: HttpRequest, pk: int) -> HttpResponse:
    return _delete_page(request, pk, model=ActionRule, delete=services.action_rule_delete)


def _edit_page(
    request, pk, *, model, form_class, create, update, target, done, template="", **form_kwargs
) -> HttpResponse:
    """Create (no `pk`) or edit one of the shop's objects: another shop's id is 404; a valid
    form goes to the service, an invalid one is shown again with its messages (400)."""
    shop = request.shop
    obj = get_object_or_404(model, pk=pk, shop=shop) if pk else model(shop=shop)
    form = form_class(_data(request), instance=copy(obj), shop=shop, **form_kwargs)
    if request.method == "POST" and form.is_valid():
        if obj.pk:
            update(shop=shop, actor=request_actor(request), changes=_changes(form), **{target: obj})
        else:
            create(shop=shop, actor=request_actor(request), values=_changes(form))
        return see_other(done)
    return _page(request, template or f"{target}_form.html", {target: obj}, form=form)


def _toggle(request, pk, *, model, update, target) -> HttpResponse:
    """Switch a rule off, or on again."""
    obj = get_object_or_404(model, pk=pk, shop=request.shop)
    update(
        shop=request.shop,
        actor=request_actor(request),
        changes={"enabled": not obj.enabled},
        **{target: obj},
    )
    return see_other("admin-program-rules")


def _delete_page(request, pk, *, model, delete) -> HttpResponse:
    """GET asks to confirm; POST deletes."""
    obj = get_object_or_404(model, pk=pk, shop=request.shop)
    if request.method == "POST":
        delete(shop=request.shop, actor=request_actor(request), rule=obj)
        return see_other("admin-program-rules")
    return _page(request, "confirm_delete.html", {"object": obj, "back": "admin-program-rules"})


# --- tiers ------------------------------------------------------------------------------------


@admin_view(methods=("GET", "POST"))
def tiers(request: HttpRequest) -> HttpResponse:
    """The ladder, and how members qualify (the program's tier settings)."""
    shop = request.shop
    form = forms.TierSettingsForm(_data(request), instance=copy(shop.program))
    if request.method == "POST" and form.is_valid():
        services.program_tier_settings_update(
            shop=shop, actor=request_actor(request), changes=_changes(form)
        )
        return see_other("admin-program-tiers")
    ladder = Tier.objects.filter(shop=shop).order_by("hidden", "threshold", "pk")
    return _page(request, "tiers.html", {"tiers": ladder}, form=form)


@admin_view(methods=("GET", "POST"))
def tier_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    return _edit_page(
        request,
        pk,
        model=Tier,
        form_class=forms.TierForm,
        create=services.program_tier_create,
        update=services.program_tier_update,
        target="tier",
        done="admin-program-tiers",
        program=request.shop.program,
    )


# --- rewards ----------------------------------------------------------------------------------


@admin_view()
def rewards(request: HttpRequest) -> HttpResponse:
    shop = request.shop
    catalogue = Reward.objects.filter(shop=shop).order_by("-enabled", "points_cost", "pk")
    return _page(
        request, "rewards.html", {"rewards": [_reward_row(r, shop.currency) for r in catalogue]}
    )


@admin_view(methods=("GET", "POST"))
def reward_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    return _edit_page(
        request,
        pk,
        model=Reward,
        form_class=forms.RewardForm,
        create=services.reward_create,
        update=services.reward_update,
        target="reward",
        done="admin-program-rewards",
    )


@admin_view(methods=("POST",))
def reward_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    reward = get_object_or_404(Reward, pk=pk, shop=request.shop)
    services.reward_set_enabled(
        shop=request.shop, actor=request_actor(request), reward=reward, enabled=not reward.enabled
    )
    return see_other("admin-program-rewards")


# --- referrals --------------------------------------------------------------------------------


@admin_view(methods=("GET", "POST"))
def referrals_edit(request: HttpRequest) -> HttpResponse:
    shop = request.shop
    form = forms.ReferralProgramForm(_data(request), instance=copy(referral_program(shop=shop)))
    if request.method == "POST" and form.is_valid():
        referral_program_update(shop=shop, actor=request_actor(request), changes=_changes(form))
        return see_other("admin-program-referrals")
    return _page(
        request, "referrals.html", {"claims": referral_claims_recent(shop=shop)}, form=form
    )


@admin_view()
def referral_claim(request: HttpRequest, pk: int) -> HttpResponse:
    claim = get_object_or_404(
        ReferralClaim.objects.select_related("referrer"), pk=pk, shop=request.shop
    )
    return _page(request, "referral_claim.html", {"claim": claim})


# --- audit log --------------------------------------------------------------------------------


@admin_view()
def audit(request: HttpRequest) -> HttpResponse:
    paginator = Paginator(audit_entries(shop=request.shop), AUDIT_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    rows = [
        {
            "entry": e,
            "label": audit_action_label(e.action),
            "target": audit_target_label(e),
            "changes": audit_changes(e, labels=FIELD_LABELS.get(e.target_type)),
        }
        for e in page.object_list
    ]
    return _page(request, "audit.html", {"page": page, "rows": rows})


# --- onboarding -------------------------------------------------------------------------------


@admin_view(methods=("GET", "POST"))
def onboarding(request: HttpRequest) -> HttpResponse:
    """Step 1: the earn rate, with what an order earns."""
    shop = request.shop
    form = forms.EarnRateForm(_data(request), instance=copy(shop.program))
    if request.method == "POST" and form.is_valid():
        services.onboarding_set_rate(
            shop=shop, actor=request_actor(request), changes=_changes(form)
        )
        return see_other("admin-program-onboarding-rewards")
    return _page(
        request,
        "onboarding_rate.html",
        {
            "step": 1,
            "example_amount": money(EXAMPLE_ORDER, shop.currency),
            "example_points": example_points(program=shop.program),
        },
        form=form,
    )


@admin_view(methods=("GET", "POST"))
def onboarding_rewards(request: HttpRequest) -> HttpResponse:
    """Step 2: a starter reward set."""
    shop = request.shop
    form = forms.StarterRewardsForm(_data(request))
    if request.method == "POST" and form.is_valid():
        services.onboarding_add_rewards(
            shop=shop, actor=request_actor(request), preset=form.cleaned_data["preset"]
        )
        return see_other("admin-program-onboarding-widget")
    presets = [
        {"key": key, "label": label, "rewards": starter_rewards_plan(shop=shop, preset=key)}
        for key, label in forms.ONBOARDING_PRESETS
    ]
    return _page(request, "onboarding_rewards.html", {"step": 2, "presets": presets}, form=form)


def _widget_url() -> str:
    try:
        return reverse("admin-widget")
    except NoReverseMatch:  # the widget area's page is not there yet
        return "/app/widget/"


@admin_view(methods=("GET", "POST"))
def onboarding_widget(request: HttpRequest) -> HttpResponse:
    """Step 3: the widget's look and the app embed; finishing makes the program page home."""
    shop = request.shop
    if request.method == "POST":
        services.onboarding_finish(shop=shop, actor=request_actor(request))
        return see_other("admin-program")
    return _page(
        request,
        "onboarding_widget.html",
        {
            "step": 3,
            "widget_url": _widget_url(),
            "theme_editor_url": theme_editor_url(shop_domain=shop.domain),
            # The program as members will meet it: what an order earns, what points buy.
            "example_amount": money(EXAMPLE_ORDER, shop.currency),
            "example_points": example_points(program=shop.program),
            "rewards": Reward.objects.filter(shop=shop, enabled=True).order_by("points_cost", "pk"),
        },
    )


@admin_view(methods=("POST",))
def onboarding_skip(request: HttpRequest) -> HttpResponse:
    services.onboarding_finish(shop=request.shop, actor=request_actor(request), skipped=True)
    return see_other("admin-program")

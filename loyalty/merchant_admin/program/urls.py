"""Admin pages for the program (`/app/program/`), mounted by loyalty.merchant_admin.urls."""

from django.urls import path

from loyalty.merchant_admin.program import views

urlpatterns = [
    path("", views.overview, name="admin-program"),
    path("settings/", views.settings_edit, name="admin-program-settings"),
    path("expiry/", views.expiry_edit, name="admin-program-expiry"),
    path("rules/", views.rules, name="admin-program-rules"),
    path("rules/new/", views.rule_edit, name="admin-program-rule-create"),
    path("rules/<int:pk>/", views.rule_edit, name="admin-program-rule-edit"),
    path("rules/<int:pk>/toggle/", views.rule_toggle, name="admin-program-rule-toggle"),
    path("rules/<int:pk>/delete/", views.rule_delete, name="admin-program-rule-delete"),
    path("actions/new/", views.action_edit, name="admin-program-action-create"),
    path("actions/<int:pk>/", views.action_edit, name="admin-program-action-edit"),
    path("actions/<int:pk>/toggle/", views.action_toggle, name="admin-program-action-toggle"),
    path("actions/<int:pk>/delete/", views.action_delete, name="admin-program-action-delete"),
    path("tiers/", views.tiers, name="admin-program-tiers"),
    path("tiers/new/", views.tier_edit, name="admin-program-tier-create"),
    path("tiers/<int:pk>/", views.tier_edit, name="admin-program-tier-edit"),
    path("rewards/", views.rewards, name="admin-program-rewards"),
    path("rewards/new/", views.reward_edit, name="admin-program-reward-create"),
    path("rewards/<int:pk>/", views.reward_edit, name="admin-program-reward-edit"),
    path("rewards/<int:pk>/toggle/", views.reward_toggle, name="admin-program-reward-toggle"),
    path("referrals/", views.referrals_edit, name="admin-program-referrals"),
    path("referrals/claims/<int:pk>/", views.referral_claim, name="admin-program-referral-claim"),
    path("audit/", views.audit, name="admin-program-audit"),
    path("onboarding/", views.onboarding, name="admin-program-onboarding"),
    path("onboarding/rewards/", views.onboarding_rewards, name="admin-program-onboarding-rewards"),
    path("onboarding/widget/", views.onboarding_widget, name="admin-program-onboarding-widget"),
    path("onboarding/skip/", views.onboarding_skip, name="admin-program-onboarding-skip"),
]

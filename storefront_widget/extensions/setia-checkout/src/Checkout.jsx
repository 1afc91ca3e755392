// Setia at checkout (purchase.checkout.block.render), Preact with Shopify's checkout web
// components (API 2026-07, @shopify/ui-extensions 2026.7.x). Asks Setia
// (storefront_widget/checkout.py) with the checkout session token for the balance, the points
// this order earns and the rewards the shopper can redeem now; a redemption answers a discount
// code, which is applied to this checkout.
import "@shopify/ui-extensions/preact";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";

export default async () => {
  render(<SetiaCheckout />, document.body);
};

function randomKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The merchant's setting without a trailing slash; "" until it is set in the checkout editor. */
function apiOrigin() {
  return String(shopify.settings.value.setia_api_url || "").replace(/\/+$/, "");
}

/**
 * @param {string} path Setia's path, from its origin
 * @param {RequestInit} [init]
 */
async function callSetia(path, init = {}) {
  // A fresh token each call: Shopify caches it while it is valid and renews it when not.
  const token = await shopify.sessionToken.get();
  const answer = await fetch(apiOrigin() + path, {
    ...init,
    headers: {
      Authorization: `Bearer ${token}`,
      "Content-Type": "application/json",
      Accept: "application/json",
    },
  });
  const body = await answer.json().catch(() => null);
  if (!answer.ok) throw new Error(body?.error?.message || String(answer.status));
  return body;
}

function SetiaCheckout() {
  // Reading .value inside the component subscribes it: a new subtotal re-renders and re-asks.
  const subtotal = shopify.cost.subtotalAmount.value;
  const canApplyCodes = shopify.instructions.value.discounts.canUpdateDiscountCodes;
  const origin = apiOrigin();
  const [state, setState] = useState(/** @type {any} */ (null));
  // {reward, key, failed} while a redemption is in flight or after it failed (the retry key).
  const [busy, setBusy] = useState(/** @type {any} */ (null));
  const [applied, setApplied] = useState(/** @type {string | null} */ (null));
  const [error, setError] = useState(/** @type {string | null} */ (null));
  const t = shopify.i18n.translate;

  useEffect(() => {
    if (!origin) return;
    const query = new URLSearchParams({
      subtotal: String(subtotal?.amount ?? ""),
      currency: String(subtotal?.currencyCode ?? ""),
    });
    callSetia(`/storefront/api/checkout/state?${query}`).then(setState, () => setState(null));
  }, [origin, subtotal?.amount, subtotal?.currencyCode]);

  // Not configured, unreachable or loading: no block rather than an error in the checkout.
  if (!origin || !state) return null;

  /**
   * @param {{id: number, name: string, points_cost: number}} reward
   * @param {string} key
   */
  async function redeem(reward, key) {
    setBusy({ reward, key, failed: false });
    setError(null);
    try {
      const body = await callSetia("/storefront/api/checkout/redeem", {
        method: "POST",
        // One key per chosen reward, reused by a retry: the points are spent once, and a retry
        // after the code failed to apply answers the same code again.
        body: JSON.stringify({ reward_id: reward.id, idempotency_key: key }),
      });
      const code = body.redemption.code;
      const result = await shopify.applyDiscountCodeChange({ type: "addDiscountCode", code });
      // Shopify's message is for developers, not shoppers: the shopper sees our own text.
      if (result.type === "error") throw new Error(result.message);
      setApplied(code);
      setState({ ...state, balance: body.balance, rewards: [] });
      setBusy(null);
    } catch {
      setError(t("failed"));
      setBusy({ reward, key, failed: true });
    }
  }

  /** @param {number} n */
  const format = (n) => shopify.i18n.formatNumber(n);
  // Points are only spent where the code can land (not in an accelerated checkout that forbids
  // discount code changes).
  const rewards = state.signed_in && canApplyCodes && !applied ? state.rewards : [];
  return (
    <s-section heading={state.program?.name || t("title")}>
      <s-stack gap="small-200">
        {state.signed_in ? (
          <s-text>{t("balance", { points: format(state.balance) })}</s-text>
        ) : (
          <s-text>{t("signIn")}</s-text>
        )}
        {state.earn > 0 && (
          <s-text type="strong">{t("earn", { points: format(state.earn) })}</s-text>
        )}
        {applied && <s-banner tone="success">{t("applied", { code: applied })}</s-banner>}
        {error && <s-banner tone="critical">{error}</s-banner>}
        {rewards.map((/** @type {any} */ reward) => {
          const mine = busy?.reward.id === reward.id;
          return (
            <s-button
              key={reward.id}
              variant="secondary"
              loading={mine && !busy.failed}
              // After a failure only the same reward (same key) can be retried: its points may be spent.
              disabled={busy != null && !mine}
              accessibilityLabel={mine && !busy.failed ? t("redeeming") : undefined}
              onClick={() => redeem(reward, mine ? busy.key : randomKey())}
            >
              {t("redeem", { points: format(reward.points_cost), reward: reward.name })}
            </s-button>
          );
        })}
      </s-stack>
    </s-section>
  );
}

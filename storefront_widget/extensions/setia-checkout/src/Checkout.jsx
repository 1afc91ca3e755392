// Setia at checkout (purchase.checkout.block.render), Preact with Shopify's checkout web
// components. Asks Setia (storefront_widget/checkout.py) with the checkout session token for the
// balance, the points this order earns and the rewards the shopper can redeem now; a redemption
// answers a discount code, which is applied to this checkout.
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

async function callSetia(path, init = {}) {
  const origin = String(shopify.settings.value.setia_api_url || "").replace(/\/$/, "");
  const token = await shopify.sessionToken.get();
  const answer = await fetch(`${origin}/storefront/api/checkout/${path}`, {
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
  const subtotal = shopify.cost.subtotalAmount.value;
  const [state, setState] = useState(null);
  const [busy, setBusy] = useState(null); // {reward, key} while a redemption is in flight
  const [applied, setApplied] = useState(null);
  const [error, setError] = useState(null);
  const t = shopify.i18n.translate;

  useEffect(() => {
    const query = new URLSearchParams({
      subtotal: String(subtotal?.amount ?? ""),
      currency: String(subtotal?.currencyCode ?? ""),
    });
    callSetia(`state?${query}`).then(setState, () => setState(null));
  }, [subtotal?.amount, subtotal?.currencyCode]);

  if (!state) return null; // unreachable or loading: no block rather than an error in checkout

  async function redeem(reward, key) {
    setBusy({ reward, key });
    setError(null);
    try {
      const body = await callSetia("redeem", {
        method: "POST",
        // One key per chosen reward, reused by a retry: the points are spent once.
        body: JSON.stringify({ reward_id: reward.id, idempotency_key: key }),
      });
      const code = body.redemption.code;
      const result = await shopify.applyDiscountCodeChange({ type: "addDiscountCode", code });
      if (result.type === "error") throw new Error(result.message);
      setApplied(code);
      setState({ ...state, balance: body.balance, rewards: [] });
      setBusy(null);
    } catch {
      setError(t("failed"));
      setBusy({ reward, key, failed: true });
    }
  }

  const format = (n) => shopify.i18n.formatNumber(n);
  return (
    <s-section heading={state.program.name || t("title")}>
      <s-stack gap="small-200">
        {state.signed_in ? (
          <s-text>{t("balance", { points: format(state.balance) })}</s-text>
        ) : (
          <s-text>{t("signIn")}</s-text>
        )}
        {state.earn > 0 && <s-text type="strong">{t("earn", { points: format(state.earn) })}</s-text>}
        {applied && <s-banner tone="success">{t("applied", { code: applied })}</s-banner>}
        {error && <s-banner tone="critical">{error}</s-banner>}
        {!applied &&
          state.rewards.map((reward) => (
            <s-button
              key={reward.id}
              variant="secondary"
              loading={busy?.reward.id === reward.id && !busy.failed}
              disabled={busy != null && busy.reward.id !== reward.id}
              onClick={() =>
                redeem(reward, busy?.reward.id === reward.id ? busy.key : randomKey())
              }
            >
              {t("redeem", { points: format(reward.points_cost), reward: reward.name })}
            </s-button>
          ))}
      </s-stack>
    </s-section>
  );
}

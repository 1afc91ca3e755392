// <setia-points>: the theme's inline blocks. `data-mode="earn"` on product pages ("earn N points
// with this purchase", from GET /apps/setia/api/earn), `data-mode="balance"` on the account page
// (the shopper's balance and tier, from the state answer, and a button that opens the launcher).
// Texts come from the block's Liquid translations (data-text, data-action), `{n}` filled in
// here. A classic script of its own, loaded with `defer`; it never imports the panel.

const API = "/apps/setia/api/";

class SetiaPoints extends HTMLElement {
  connectedCallback(): void {
    if (this.dataset.done) return;
    this.dataset.done = "1";
    const data = this.dataset;
    const earn = data.mode !== "balance";
    const url = earn
      ? `${API}earn?${new URLSearchParams({
          price_cents: data.priceCents || "",
          quantity: "1",
          product_id: data.productId || "",
          sku: data.sku || "",
        })}`
      : `${API}state`;
    // After the page has loaded, at low priority: never in the way of the theme's own content.
    const loaded =
      document.readyState === "complete"
        ? Promise.resolve()
        : new Promise((done) => addEventListener("load", done, { once: true }));
    loaded
      .then(() =>
        fetch(url, {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
          priority: "low",
        } as RequestInit),
      )
      .then((answer) => (answer.ok ? answer.json() : null))
      .then((body) => {
        const points = earn ? body?.points : body?.customer?.points?.balance;
        if (typeof points !== "number" || (earn && points <= 0)) return;
        // Intl only now, with a number to show: its first use costs main-thread time.
        const locale = data.locale || document.documentElement.lang || "en";
        const text = (data.text || "{n}").replace("{n}", points.toLocaleString(locale));
        const line = document.createElement("span");
        line.textContent = text;
        this.replaceChildren(line);
        const launcher = document.querySelector("setia-launcher");
        if (!earn && data.action && launcher) {
          const open = document.createElement("button");
          open.type = "button";
          open.className = "setia-points__open";
          open.textContent = data.action;
          // The launcher's button joins its shadow root once its own state is in: a click
          // before that opens the panel as soon as the button is there.
          open.addEventListener("click", () => {
            const root = launcher.shadowRoot;
            const press = () => root?.querySelector<HTMLButtonElement>("button.b")?.click();
            if (!root || root.querySelector("button.b")) return press();
            const watch = new MutationObserver(() => {
              if (!root.querySelector("button.b")) return;
              watch.disconnect();
              press();
            });
            watch.observe(root, { childList: true });
          });
          this.append(" ", open);
        }
      })
      .catch(() => undefined); // unreachable: the block stays empty, as if there were no points
  }
}

if (!customElements.get("setia-points")) customElements.define("setia-points", SetiaPoints);

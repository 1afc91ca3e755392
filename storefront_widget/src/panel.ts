// The panel: loaded with import() the first time the shopper opens the launcher. A modal dialog
// inside the launcher's shadow root, rebuilt from the state on every change.
import { WORDS, type Words } from "./strings";
import type { Context, Customer, Redemption, Reward, State, Way } from "./types";

const CSS = `.p{all:initial;box-sizing:border-box;position:fixed;z-index:2147483001;bottom:84px;right:20px;width:min(384px,calc(100vw - 24px));max-height:min(640px,calc(100vh - 104px));overflow:auto;overscroll-behavior:contain;display:flex;flex-direction:column;background:var(--setia-surface,#fff);color:var(--setia-text,#1c1c1c);border-radius:var(--setia-panel-radius,16px);box-shadow:0 12px 40px rgba(0,0,0,.28);font:400 15px/1.45 var(--setia-font,system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans Thai","Noto Sans Arabic",sans-serif);text-align:start;animation:setia-in .18s ease-out}
.p.left{right:auto;left:20px}
.p[hidden]{display:none}
.p *{box-sizing:border-box}
@keyframes setia-in{from{opacity:0;transform:translateY(12px)}}
@media (max-width:480px){.p,.p.left{left:8px;right:8px;bottom:76px;width:auto}}
@media (prefers-reduced-motion:reduce){.p,.p *{animation:none!important;transition:none!important}}
header{display:flex;align-items:center;justify-content:space-between;gap:8px;padding:8px 8px 8px 20px;padding-inline:20px 8px;background:var(--setia-accent,#1f4f46);color:var(--setia-on-accent,#fff)}
h2{margin:0;font-size:18px;font-weight:700}
h3{margin:0 0 8px;font-size:15px;font-weight:700}
section{padding:14px 20px;border-top:1px solid var(--setia-line,#e6e6e6)}
section:first-of-type{border-top:0}
ul{list-style:none;margin:0;padding:0}
li{display:flex;align-items:center;justify-content:space-between;gap:12px;padding:6px 0;flex-wrap:wrap}
p{margin:0 0 8px}
button,a{display:inline-flex;align-items:center;justify-content:center;min-height:44px;min-width:44px;padding:0 16px;border-radius:22px;border:2px solid var(--setia-accent,#1f4f46);background:var(--setia-accent,#1f4f46);color:var(--setia-on-accent,#fff);font:600 15px/1.2 inherit;font-family:inherit;text-decoration:none;cursor:pointer}
button.q,a.q{background:transparent;color:var(--setia-accent,#1f4f46)}
button[disabled]{opacity:.6;cursor:progress}
header button{background:transparent;border-color:transparent;color:inherit;font-size:24px;padding:0}
button:focus-visible,a:focus-visible,.p:focus-visible{outline:3px solid var(--setia-focus,#f5b700);outline-offset:2px}
.big{font-size:32px;font-weight:700;line-height:1.1}
.m{color:var(--setia-muted,#5c5c5c);font-size:14px}
.bar{height:10px;border-radius:5px;background:var(--setia-line,#e6e6e6);overflow:hidden;margin:8px 0}
.bar>div{height:100%;background:var(--setia-accent,#1f4f46)}
.ok{background:var(--setia-success-bg,#eaf6ef);border-radius:12px;padding:12px;margin:0}
code{font:700 18px/1.3 ui-monospace,Menlo,Consolas,monospace;letter-spacing:.04em;word-break:break-all}
.row{display:flex;gap:8px;flex-wrap:wrap;margin-top:8px;align-items:end}
li>.row,li>.ok{flex-basis:100%}
label{display:flex;flex-direction:column;font-size:13px}
input{min-height:44px;width:72px;padding:0 8px;border:2px solid var(--setia-line,#bbb);border-radius:10px;font:inherit;color:inherit;background:inherit}
input:focus-visible{outline:3px solid var(--setia-focus,#f5b700)}
[readonly]{flex:1;min-width:0}
[role=alert]{color:var(--setia-error,#b3261e)}`;

type Child = Node | string | null | undefined | false | Child[];

function h(tag: string, attrs?: Record<string, unknown> | null, ...children: Child[]): HTMLElement {
  const element = document.createElement(tag);
  for (const key in attrs) {
    const value = attrs[key];
    if (value == null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value as EventListener);
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  const add = (child: Child) => {
    if (Array.isArray(child)) child.forEach(add);
    else if (child != null && child !== false) element.append(child);
  };
  children.forEach(add);
  return element;
}

function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function safeUrl(url: string | undefined): string | null {
  return url && /^(https?:)?\/\//i.test(url) ? url : url?.startsWith("/") ? url : null;
}

// A claim of an action way (birthday, newsletter, social follow or share), by action and key.
interface Act {
  busy?: boolean;
  error?: string;
  done?: string;
}

interface Claim {
  reward: Reward;
  key: string; // one key per confirmed claim, reused by every retry of it
  busy: boolean;
  error?: string;
}

export function createPanel(context: Context): { open(): void; close(): void } {
  const { root, config, button } = context;
  // Recomputed on each render: the merchant's strings arrive with the state.
  let words: Words = { ...WORDS[config.locale], ...config.overrides };
  const number = new Intl.NumberFormat(config.locale);
  const say = (key: keyof Words, vars?: Record<string, string | number>) =>
    context.fill(words[key], vars);
  const points = (n: number | string) => say("points", { n: number.format(Number(n)) });

  let claim: Claim | null = null;
  let issued: { redemption: Redemption; balance: number } | null = null;
  let copied = false;
  let linkCopied = false;
  const acts: Record<string, Act> = {};
  const born = { month: "", day: "" };

  const style = h("style");
  style.textContent = CSS;
  const dialog = h("div", {
    class: "p" + (button.classList.contains("left") ? " left" : ""),
    role: "dialog",
    "aria-modal": "true",
    "aria-labelledby": "setia-title",
    dir: config.locale === "ar" ? "rtl" : "ltr",
    lang: config.locale,
    tabindex: "-1",
    part: "panel",
    hidden: true,
  });
  root.append(style, dialog);

  const focusables = () =>
    Array.from(dialog.querySelectorAll<HTMLElement>("a[href],button:not([disabled]),input"));

  dialog.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    } else if (event.key === "Tab") {
      const items = focusables();
      if (!items.length) return event.preventDefault();
      const first = items[0];
      const last = items[items.length - 1];
      const active = root.activeElement as HTMLElement | null;
      const inside = active != null && items.includes(active);
      if (event.shiftKey && (active === first || !inside)) {
        event.preventDefault();
        last.focus();
      } else if (!event.shiftKey && (active === last || !inside)) {
        event.preventDefault();
        first.focus();
      }
    }
  });

  function open(): void {
    dialog.hidden = false;
    render();
    dialog.focus();
    if (context.state === null) context.reload();
  }

  function close(): void {
    dialog.hidden = true;
    claim = null;
    context.onClose();
    button.focus();
  }

  async function redeem(current: Claim): Promise<void> {
    current.busy = true;
    current.error = undefined;
    render("[data-confirm]");
    let message = words.redeemFailed;
    try {
      const answer = await fetch(config.redeemUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ reward_id: current.reward.id, idempotency_key: current.key }),
      });
      const body = await answer.json().catch(() => null);
      if (answer.ok && body?.redemption) {
        issued = { redemption: body.redemption, balance: body.balance };
        claim = null;
        copied = false;
        context.setBalance(body.balance);
        render("[data-copy]");
        context.reload();
        return;
      }
      message = body?.error?.message || message;
    } catch {
      // offline or unreachable: the same key is sent again on retry
    }
    current.busy = false;
    current.error = message;
    render("[data-confirm]");
  }

  async function act(way: Way, id: string): Promise<void> {
    const current: Act = (acts[id] = { busy: true });
    render(`[data-act="${id}"]`);
    const birthday = way.action === "birthday";
    const payload = birthday
      ? { action: way.action, birthday: `${born.month.padStart(2, "0")}-${born.day.padStart(2, "0")}` }
      : { action: way.action, key: way.key };
    try {
      const answer = await fetch(config.redeemUrl.replace(/redeem$/, "actions"), {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(payload),
      });
      const body = await answer.json().catch(() => null);
      if (answer.ok && body) {
        const balance = say("newBalance", { n: number.format(body.balance) });
        current.done = birthday ? words.birthdaySaved : `${say("earned", { n: number.format(body.credited) })} ${balance}`;
        context.setBalance(body.balance);
        context.reload();
      } else current.error = answer.status === 409 ? words.claimed : words.actionFailed;
    } catch {
      current.error = words.actionFailed;
    }
    current.busy = false;
    render(`[data-act="${id}"],[data-done="${id}"]`);
  }

  function wayAction(way: Way, member: boolean): Child {
    if (way.kind !== "action" || !member) return null;
    const id = `${way.action}:${way.key || ""}`;
    const current = acts[id] || {};
    if (current.done) return h("p", { class: "ok", role: "status", "data-done": id, tabindex: "-1" }, current.done);
    if (!way.claimable) return null;
    const error = current.error && h("p", { role: "alert" }, current.error);
    if (way.action === "birthday") {
      const field = (name: "month" | "day", max: number) =>
        h(
          "label",
          null,
          words[name],
          h("input", {
            type: "number",
            inputmode: "numeric",
            min: 1,
            max,
            required: true,
            value: born[name],
            oninput: (event: Event) => (born[name] = (event.target as HTMLInputElement).value),
          }),
        );
      return h(
        "form",
        {
          class: "row",
          "aria-label": words.birthday,
          onsubmit: (event: Event) => (event.preventDefault(), act(way, id)),
        },
        field("month", 12),
        field("day", 31),
        h("button", { "data-act": id, disabled: current.busy }, current.busy ? words.sending : words.saveBirthday),
        error,
      );
    }
    const social = way.action === "social_follow" || way.action === "social_share";
    if (!social && way.action !== "newsletter") return null;
    const network = (way.key || "").replace(/^./, (first) => first.toUpperCase());
    return h(
      "div",
      { class: "row" },
      h(
        "button",
        { type: "button", class: "q", "data-act": id, disabled: current.busy, onclick: () => act(way, id) },
        current.busy
          ? words.sending
          : social
            ? say(way.action === "social_share" ? "shared" : "followed", { network })
            : words.newsletter,
      ),
      error,
    );
  }

  function rewardRow(reward: Reward, member: boolean): HTMLElement {
    const cost = h("span", { class: "m" }, points(reward.points_cost));
    if (claim?.reward.id === reward.id) {
      const current = claim;
      return h(
        "li",
        null,
        h(
          "div",
          null,
          h("p", null, say("confirm", { n: number.format(reward.points_cost), name: reward.name })),
          current.error && h("p", { role: "alert" }, current.error),
          h(
            "div",
            { class: "row" },
            h(
              "button",
              { type: "button", "data-confirm": true, disabled: current.busy, onclick: () => redeem(current) },
              current.busy ? words.redeeming : current.error ? words.retry : words.yes,
            ),
            h(
              "button",
              { type: "button", class: "q", disabled: current.busy, onclick: () => ((claim = null), render("[data-redeem]")) },
              words.cancel,
            ),
          ),
        ),
      );
    }
    let action: Child = null;
    if (reward.available && member) {
      action = h(
        "button",
        {
          type: "button",
          "data-redeem": reward.id,
          "aria-label": `${words.redeem}: ${reward.name}`,
          onclick: () => {
            claim = { reward, key: randomKey(), busy: false };
            render("[data-confirm]");
          },
        },
        words.redeem,
      );
    } else if (!reward.available && member) {
      const why = reward.locked_reason;
      action = h(
        "span",
        { class: "m" },
        why === "points"
          ? say("needed", { n: number.format(reward.points_needed || 0) })
          : why === "tier"
            ? words.tierLocked
            : why === "limit_reached"
              ? words.limit
              : words.signInFirst,
      );
    }
    return h("li", null, h("div", null, h("div", { dir: "auto" }, reward.name), cost), action);
  }

  function memberSections(state: State): Child[] {
    const customer = state.customer!;
    const { tier, next_tier: next } = customer;
    let progress: Child = null;
    if (next) {
      const threshold = Number(next.threshold) || 0;
      const done = threshold ? Math.min(100, Math.max(0, ((threshold - Number(next.remaining)) / threshold) * 100)) : 0;
      const bar = h("div", null);
      bar.style.width = `${done.toFixed(1)}%`;
      progress = [
        h(
          "div",
          {
            class: "bar",
            role: "progressbar",
            "aria-valuemin": 0,
            "aria-valuemax": 100,
            "aria-valuenow": Math.round(done),
            "aria-label": next.name,
          },
          bar,
        ),
        h("p", { class: "m" }, say("next", { n: number.format(Number(next.remaining)), name: next.name })),
      ];
    }
    const perks = tier?.perks?.length ? [h("h3", null, words.perks), h("ul", null, tier.perks.map((perk) => h("li", { dir: "auto" }, perk)))] : null;
    const issuedBox =
      issued &&
      h(
        "section",
        null,
        h(
          "div",
          { class: "ok", role: "status" },
          h("p", null, words.code),
          h("code", { "data-code": true }, issued.redemption.code),
          h(
            "div",
            { class: "row" },
            h(
              "button",
              {
                type: "button",
                "data-copy": true,
                onclick: () => {
                  const done = () => ((copied = true), render("[data-copy]"));
                  navigator.clipboard?.writeText(issued!.redemption.code).then(done, () => undefined);
                },
              },
              copied ? words.copied : words.copy,
            ),
            safeUrl(issued.redemption.apply_url) &&
              h("a", { class: "q", href: safeUrl(issued.redemption.apply_url) }, words.apply),
          ),
          h("p", { class: "m", "data-new-balance": true }, say("newBalance", { n: number.format(issued.balance) })),
        ),
      );
    const recent = customer.recent_redemptions.filter((item) => item.code);
    return [
      issuedBox,
      h(
        "section",
        null,
        h("div", { class: "m" }, words.balance),
        h("div", { class: "big", "data-balance": true }, number.format(customer.points.balance)),
        customer.points.pending > 0 && h("div", { class: "m" }, say("pending", { n: number.format(customer.points.pending) })),
      ),
      (tier || next) && h("section", null, tier && h("h3", null, say("tier", { name: tier.name })), progress, perks),
      rewardsSection(state, true),
      earnSection(state, true),
      referSection(customer),
      recent.length > 0 &&
        h(
          "section",
          null,
          h("h3", null, words.recent),
          h(
            "ul",
            null,
            recent.map((item) =>
              h(
                "li",
                null,
                h("div", null, h("code", null, item.code), h("div", { class: "m", dir: "auto" }, item.reward_name)),
                item.status === "issued" && safeUrl(item.apply_url) && h("a", { class: "q", href: safeUrl(item.apply_url) }, words.apply),
              ),
            ),
          ),
        ),
    ];
  }

  // The member's referral link, while the merchant runs referrals: what a friend gets, what the
  // member gets, and the link to copy.
  function referSection(customer: Customer): Child {
    const ref = customer.referral;
    if (!ref || !safeUrl(ref.url)) return false;
    const d = ref.friend_discount;
    const off =
      d.kind === "percent"
        ? number.format(Number(d.value)) + "%"
        : new Intl.NumberFormat(config.locale, { style: "currency", currency: d.currency }).format(
            Number(d.value),
          );
    return h(
      "section",
      { "data-referral": true },
      h("h3", null, words.refer),
      h("p", { class: "m" }, say("referText", { off, n: number.format(ref.points) })),
      h(
        "div",
        { class: "row" },
        h("input", { readonly: true, value: ref.url, dir: "ltr", "aria-label": words.refer }),
        h(
          "button",
          {
            type: "button",
            "data-copy-link": true,
            onclick: () =>
              navigator.clipboard
                ?.writeText(ref.url)
                .then(() => ((linkCopied = true), render("[data-copy-link]")), () => undefined),
          },
          linkCopied ? words.copied : words.copyLink,
        ),
      ),
    );
  }

  function rewardsSection(state: State, member: boolean): HTMLElement {
    const rewards = [...state.rewards].sort((a, b) => Number(b.available) - Number(a.available));
    return h(
      "section",
      null,
      h("h3", null, words.rewards),
      rewards.length
        ? h("ul", null, rewards.map((reward) => rewardRow(reward, member)))
        : h("p", { class: "m" }, words.noRewards),
    );
  }

  function earnSection(state: State, member = false): Child {
    return (
      state.ways_to_earn.length > 0 &&
      h(
        "section",
        null,
        h("h3", null, words.earn),
        h(
          "ul",
          null,
          state.ways_to_earn.map((way) =>
            h(
              "li",
              null,
              h("span", { dir: "auto" }, way.name),
              way.kind !== "order" && way.points > 0 && h("span", { class: "m" }, "+" + points(way.points)),
              wayAction(way, member),
            ),
          ),
        ),
      )
    );
  }

  function body(): Child[] {
    const state = context.state;
    if (state === undefined) return [h("section", { role: "status" }, words.loading)];
    if (state === null) {
      return [
        h(
          "section",
          null,
          h("p", { role: "alert" }, words.error),
          h("button", { type: "button", onclick: () => context.reload() }, words.retry),
        ),
      ];
    }
    if (state.customer) return memberSections(state);
    return [
      h(
        "section",
        { "data-guest": true },
        h("p", null, say("guest", { name: state.program.name })),
        h(
          "div",
          { class: "row" },
          h("a", { href: config.loginUrl }, words.signIn),
          h("a", { class: "q", href: config.registerUrl }, words.register),
        ),
      ),
      earnSection(state),
      rewardsSection(state, false),
    ];
  }

  // Rebuilds the dialog; `focus` names the element to focus afterwards, else focus stays on an
  // element with the same role if it survives, else on the dialog.
  function render(focus?: string): void {
    if (dialog.hidden) return;
    const hadFocus = root.activeElement && dialog.contains(root.activeElement);
    words = { ...WORDS[config.locale], ...config.overrides };
    dialog.classList.toggle("left", button.classList.contains("left"));
    const title = context.state?.program.name || words.title;
    dialog.replaceChildren(
      h(
        "header",
        null,
        h("h2", { id: "setia-title" }, title),
        h("button", { type: "button", "aria-label": words.close, "data-close": true, onclick: close }, "×"),
      ),
      ...(body().flat(Infinity as 1) as HTMLElement[]).filter(Boolean),
    );
    const target = focus ? dialog.querySelector<HTMLElement>(focus) : null;
    if (target) target.focus();
    else if (hadFocus) dialog.focus();
  }

  context.onChange = () => render();
  return { open, close };
}

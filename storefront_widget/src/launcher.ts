// <setia-launcher>: the floating button on every storefront page. It is small on purpose (the
// budget is 10,000 bytes): it reads its settings from data attributes, asks for the shopper's
// state once the page has loaded, and imports the panel only when the shopper opens it.
import LABELS from "./launcher-strings.json";
import type { Config, Context, Locale, Look, State } from "./types";

const LOCALES: Locale[] = ["en", "ms", "ar", "th"];
// The merchant's colours (the state's `widget`) as custom properties of the host: a `:host`
// rule, so the theme's own `setia-launcher { --setia-accent: ... }` still wins over them.
const COLOURS: [keyof Look, string][] = [
  ["primary_color", "--setia-accent"],
  ["accent_text_color", "--setia-on-accent"],
  ["text_color", "--setia-text"],
  ["background_color", "--setia-surface"],
];

// `all: initial !important` on the host: important declarations of a shadow tree win over the
// page's, so a theme's `* { all: unset }` or huge fonts cannot reach in. Sizes are px, never
// rem, for the same reason. Custom properties still pass: they are the theming surface.
const CSS = `:host{all:initial!important}
.b{all:initial;box-sizing:border-box;position:fixed;z-index:2147483000;bottom:var(--setia-offset-y,20px);right:var(--setia-offset-x,20px);display:inline-flex;align-items:center;gap:8px;min-height:48px;min-width:48px;max-width:calc(100vw - 40px);padding:0 18px;border-radius:var(--setia-radius,24px);background:var(--setia-accent,#1f4f46);color:var(--setia-on-accent,#fff);font:600 15px/1.2 var(--setia-font,system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans Thai","Noto Sans Arabic",sans-serif);box-shadow:0 4px 14px rgba(0,0,0,.22);cursor:pointer;white-space:nowrap;-webkit-tap-highlight-color:transparent}
.b.left{right:auto;left:var(--setia-offset-x,20px)}
.b:focus-visible{outline:3px solid var(--setia-focus,#f5b700);outline-offset:3px}
.b[aria-busy=true]{cursor:progress}
.n{font-weight:400;opacity:.92}
.n:empty{display:none}`;

export function pickLocale(raw: string | undefined): Locale {
  const code = (raw || "").toLowerCase().split(/[-_]/)[0] as Locale;
  return LOCALES.includes(code) ? code : "en";
}

function fill(text: string, vars: Record<string, string | number> = {}): string {
  return text.replace(/\{(\w+)\}/g, (all, key) => (key in vars ? String(vars[key]) : all));
}

function readJson(raw: string | undefined): Record<string, string> {
  try {
    const value = raw ? JSON.parse(raw) : {};
    return value && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}

class SetiaLauncher extends HTMLElement {
  private context?: Context;
  private panel?: Promise<{ open(): void } | null>;

  connectedCallback(): void {
    if (this.context) return;
    const data = this.dataset;
    const config: Config = {
      stateUrl: data.stateUrl || "/apps/setia/api/state",
      redeemUrl: data.redeemUrl || "/apps/setia/api/redeem",
      loginUrl: data.loginUrl || "/account/login",
      registerUrl: data.registerUrl || "/account/register",
      locale: pickLocale(data.locale || document.documentElement.lang),
      overrides: readJson(data.strings),
    };
    const own = config.overrides;
    for (const [key, name] of [
      ["accent", "--setia-accent"],
      ["accentText", "--setia-on-accent"],
    ]) {
      if (data[key]) this.style.setProperty(name, data[key]!);
    }
    const root = this.attachShadow({ mode: "open" });
    const style = document.createElement("style");
    style.textContent = CSS;
    const look = document.createElement("style");
    const button = document.createElement("button");
    button.type = "button";
    const place = (position?: string) =>
      (button.className = "b" + ((data.position || position) === "bottom-left" ? " left" : ""));
    place();
    button.dir = config.locale === "ar" ? "rtl" : "ltr";
    button.lang = config.locale;
    button.setAttribute("part", "launcher");
    button.setAttribute("aria-haspopup", "dialog");
    button.setAttribute("aria-expanded", "false");
    const label = document.createElement("span");
    const count = document.createElement("span");
    count.className = "n";
    let words = { ...LABELS[config.locale], ...own };
    label.textContent = data.label || words.label;
    button.append(label, count);
    // The button joins the page once the first answer (or failure) is in, at its final size and
    // place: a fixed button that grew or moved when the answer arrived would be a layout shift.
    root.append(style, look);
    const applyLook = (settings: Look) => {
      config.overrides = { ...settings.strings?.[config.locale], ...own };
      const base = settings.label ? { label: settings.label } : {};
      words = { ...LABELS[config.locale], ...base, ...config.overrides };
      label.textContent = data.label || words.label;
      place(settings.position);
      look.textContent = `:host{${COLOURS.map(([key, name]) =>
        /^#[\da-f]{6}$/i.test(String(settings[key])) ? `${name}:${settings[key]};` : "",
      ).join("")}}`;
    };

    const context: Context = (this.context = {
      root,
      button,
      config,
      state: undefined,
      fill,
      reload: async () => {
        try {
          const answer = await fetch(config.stateUrl, {
            credentials: "same-origin",
            headers: { Accept: "application/json" },
            signal: AbortSignal.timeout(8000),
          });
          if (!answer.ok) throw new Error(String(answer.status));
          context.state = (await answer.json()) as State;
        } catch {
          context.state = null; // unreachable: the launcher stays, without numbers
        }
        show();
      },
      setBalance: (balance) => {
        const customer = context.state?.customer;
        if (customer) customer.points.balance = balance;
        show();
      },
      onClose: () => button.setAttribute("aria-expanded", "false"),
    });
    const show = () => {
      if (context.state?.widget) applyLook(context.state.widget);
      const points = context.state?.customer?.points;
      count.textContent = points
        ? fill(words.points, {
            n: new Intl.NumberFormat(config.locale).format(points.balance),
          })
        : "";
      if (!button.isConnected) root.append(button);
      context.onChange?.();
    };
    button.addEventListener("click", () => this.open());

    const start = () => setTimeout(() => context.reload(), 0);
    if (document.readyState === "complete") start();
    else addEventListener("load", start, { once: true });
  }

  private async open(): Promise<void> {
    const context = this.context!;
    context.button.setAttribute("aria-busy", "true");
    this.panel ||= import("./panel").then(
      (module) => module.createPanel(context),
      () => null,
    );
    const panel = await this.panel;
    context.button.removeAttribute("aria-busy");
    if (!panel) {
      this.panel = undefined; // the chunk did not load: try again on the next tap
      return;
    }
    context.button.setAttribute("aria-expanded", "true");
    panel.open();
  }
}

if (!customElements.get("setia-launcher")) {
  customElements.define("setia-launcher", SetiaLauncher);
  // A plain script tag with no element still gets a launcher.
  if (!document.querySelector("setia-launcher")) {
    document.body.append(document.createElement("setia-launcher"));
  }
}

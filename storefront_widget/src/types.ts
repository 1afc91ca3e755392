// The `state` answer of GET /apps/setia/api/state (storefront_widget/state.py) and the redeem answer.

export interface Points {
  balance: number;
  pending: number;
  lifetime_earned: number;
}

export interface Tier {
  name: string;
  multiplier?: string;
  perks?: string[];
}

export interface NextTier {
  name: string;
  threshold: number | string;
  remaining: number | string;
  basis: string;
}

export interface Redemption {
  code: string;
  apply_url: string;
  reward_name: string;
  points_spent: number;
  status: string;
  expires_at: string | null;
}

export interface Customer {
  id: string;
  points: Points;
  tier: Tier | null;
  next_tier: NextTier | null;
  recent_redemptions: Redemption[];
  // While the merchant runs referrals: the member's link and the terms.
  referral?: {
    url: string;
    friend_offer: string;
    points: number;
    friend_discount: { kind: "percent" | "amount"; value: string; currency: string };
  };
}

export interface Reward {
  id: string | number;
  name: string;
  kind: string;
  points_cost: number;
  value?: string;
  currency?: string;
  available: boolean;
  locked_reason?: string;
  points_needed?: number;
}

export interface Way {
  kind: string;
  name: string;
  points: number;
  action?: string; // kind "action": birthday, social_follow, social_share, ...
  key?: string; // the social network
  claimable?: boolean; // signed in: the shopper can claim it from the panel
}

/** The merchant's look for the widget (admin: /app/widget/); colours are #rrggbb. */
export interface Look {
  primary_color?: string;
  accent_text_color?: string;
  text_color?: string;
  background_color?: string;
  position?: string;
  label?: string;
  strings?: Partial<Record<Locale, Record<string, string>>>;
}

export interface State {
  program: { name: string; points_name?: string };
  widget?: Look;
  customer: Customer | null;
  rewards: Reward[];
  ways_to_earn: Way[];
  tiers: { name: string; threshold: number | string; perks?: string[] }[];
}

export interface Config {
  stateUrl: string;
  redeemUrl: string;
  loginUrl: string;
  registerUrl: string;
  locale: Locale;
  overrides: Record<string, string>;
}

export type Locale = "en" | "ms" | "ar" | "th";

/** What the launcher shares with the panel. `state` is undefined while loading, null when the
 * API could not be reached. */
export interface Context {
  root: ShadowRoot;
  button: HTMLButtonElement;
  config: Config;
  state: State | null | undefined;
  fill(text: string, vars?: Record<string, string | number>): string;
  reload(): Promise<void>;
  setBalance(balance: number): void;
  onChange?: () => void;
  onClose(): void;
}

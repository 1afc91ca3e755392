// The panel's words in the four storefront languages, kept in panel-strings.json (the merchant
// admin reads the same file for its per-language overrides, storefront_widget/strings.py). Each
// can be replaced by the merchant's settings (the `widget.strings` of the state answer) and by
// the launcher's data-strings attribute (a JSON object of these keys).
import PANEL from "./panel-strings.json";
import type { Locale } from "./types";

export type Words = (typeof PANEL)["en"];

export const WORDS: Record<Locale, Words> = PANEL;

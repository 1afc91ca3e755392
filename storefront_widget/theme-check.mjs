// Shopify's Theme Check on the theme app extension, with its theme-app-extension configuration:
// prints the offenses as JSON and exits 1 when any is an error. `node theme-check.mjs [path]`.
import { fileURLToPath } from "node:url";
import { themeCheckRun } from "@shopify/theme-check-node";

const root = process.argv[2] || fileURLToPath(new URL("./extensions/setia-theme/", import.meta.url));
const { offenses } = await themeCheckRun(root, "theme-check:theme-app-extension", () => undefined);
const ERROR = 0; // theme-check-common's Severity.ERROR
const report = offenses.map((o) => ({
  check: o.check,
  severity: ["error", "warning", "info"][o.severity] ?? String(o.severity),
  file: o.uri.replace(/^file:\/\//, ""),
  line: o.start?.line,
  message: o.message,
}));
console.log(JSON.stringify(report, null, 2));
process.exit(offenses.some((o) => o.severity === ERROR) ? 1 : 0);

// Builds the widget into ../static/setia/: the launcher entry (setia-launcher.js) and the panel
// chunk it loads with import() on first open, minified ESM; and the theme blocks' small classic
// script (setia-points.js). The same files are copied into the theme app extension's assets/
// (extensions/setia-theme/assets/), which Shopify's CDN serves. `npm run build`.
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
const outdir = fileURLToPath(new URL("../static/setia/", import.meta.url));
const themeAssets = fileURLToPath(new URL("./extensions/setia-theme/assets/", import.meta.url));
rmSync(outdir, { recursive: true, force: true });

const common = {
  absWorkingDir: here,
  outdir,
  bundle: true,
  minify: true,
  target: "es2022",
  entryNames: "[name]",
  legalComments: "none",
  charset: "utf8",
  logLevel: "warning",
};

await build({
  ...common,
  entryPoints: { "setia-launcher": "src/launcher.ts" },
  splitting: true,
  format: "esm",
  chunkNames: "setia-[name]-[hash]",
});
await build({ ...common, entryPoints: { "setia-points": "src/points.ts" }, format: "iife" });

mkdirSync(themeAssets, { recursive: true });
for (const name of readdirSync(themeAssets)) {
  if (/^setia-.*\.js$/.test(name)) rmSync(themeAssets + name);
}
for (const name of readdirSync(outdir)) {
  if (name.endsWith(".js")) copyFileSync(outdir + name, themeAssets + name);
}

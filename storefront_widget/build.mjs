// Builds the widget into ../static/setia/: the launcher entry (setia-launcher.js) and the panel
// chunk it loads with import() on first open, minified ESM. `npm run build`.
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = fileURLToPath(new URL(".", import.meta.url));
const outdir = fileURLToPath(new URL("../static/setia/", import.meta.url));
rmSync(outdir, { recursive: true, force: true });

await build({
  absWorkingDir: here,
  entryPoints: { "setia-launcher": "src/launcher.ts" },
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  minify: true,
  target: "es2022",
  entryNames: "[name]",
  chunkNames: "setia-[name]-[hash]",
  legalComments: "none",
  charset: "utf8",
  logLevel: "warning",
});

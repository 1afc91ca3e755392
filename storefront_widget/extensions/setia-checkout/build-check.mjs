// The checkout extension's build check (Shopify CLI builds and uploads the real bundle; nothing
// here deploys). Two steps, either failing the check:
// 1. esbuild bundles src/Checkout.jsx as the CLI does (ESM, Preact's automatic JSX runtime,
//    everything bundled): an unresolved import, a missing export or a syntax error fails it, and
//    so does a bundle over Shopify's limit for UI extensions on 2025-10 and later (64 KB
//    compressed, enforced at deploy; gzip stands in for Shopify's compression here).
// 2. TypeScript checks the JSX against @shopify/ui-extensions' declarations for the target
//    (shopify.d.ts): an `s-*` component, a property or value, or a `shopify.*` API that this
//    API version does not have fails it.
//
//   node build-check.mjs [extension dir, default: this one] [--outdir DIR]
//
// Prints {"bundle": path, "bytes": n, "gzipped": n} on success. esbuild comes from the widget's packages
// (storefront_widget/node_modules, `make widget`); TypeScript and the rest from the checked
// extension's own node_modules (`npm ci` here).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const SIZE_LIMIT = 64 * 1024;

const args = process.argv.slice(2);
const outFlag = args.indexOf("--outdir");
const outdir =
  outFlag >= 0 ? resolve(args.splice(outFlag, 2)[1]) : mkdtempSync(join(tmpdir(), "setia-checkout-"));
const dir = resolve(args[0] ?? fileURLToPath(new URL(".", import.meta.url)));
const bundle = join(outdir, "Checkout.js");

try {
  await build({
    absWorkingDir: dir,
    entryPoints: [join(dir, "src", "Checkout.jsx")],
    outfile: bundle,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    jsx: "automatic",
    jsxImportSource: "preact",
    minify: true,
    legalComments: "none",
    logLevel: "error",
  });
} catch {
  process.exit(1); // esbuild has printed its errors
}

const code = readFileSync(bundle);
const bytes = code.length;
const gzipped = gzipSync(code, { level: 9 }).length;
if (gzipped > SIZE_LIMIT) {
  console.error(`the bundle is ${gzipped} bytes gzipped, over Shopify's ${SIZE_LIMIT}-byte limit`);
  process.exit(1);
}

const tsc = join(dir, "node_modules", "typescript", "bin", "tsc");
const typecheck = spawnSync(process.execPath, [tsc, "-p", join(dir, "tsconfig.json")], {
  encoding: "utf8",
});
if (typecheck.status !== 0) {
  console.error(typecheck.stdout + typecheck.stderr);
  process.exit(1);
}

console.log(JSON.stringify({ bundle, bytes, gzipped }));

// Builds the viewer into dist/: index.html (with the Content-Security-Policy and the page
// settings as meta tags), viewer.js (src/ and the leafcrypt package bundled by esbuild),
// viewer.css and the package's .wasm. Static files: serve dist/ from any web server.
// Usage: node build.mjs [--out DIR]   (default dist/; settings: viewer.config.json or
// VIEWER_CONFIG, see config.mjs)

import * as esbuild from "esbuild";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { contentSecurityPolicy, loadConfig, pageConfig } from "./config.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const outAt = process.argv.indexOf("--out");
if (outAt > 0 && !process.argv[outAt + 1]) {
  console.error("usage: node build.mjs [--out DIR]");
  process.exit(2);
}
const dist = outAt > 0 ? resolve(process.argv[outAt + 1]) : join(here, "dist");
const wasm = join(here, "../pkg/web/leafcrypt_wasm_bg.wasm");

/** Escapes text for a double-quoted HTML attribute. */
const attribute = (text) =>
  text.replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

async function main() {
  const start = performance.now();
  if (!existsSync(wasm)) throw new Error(`${wasm} is missing: run scripts/build-wasm first`);
  const config = loadConfig(here);
  await rm(dist, { recursive: true, force: true });
  await mkdir(dist, { recursive: true });

  await esbuild.build({
    entryPoints: [join(here, "src/main.js")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    sourcemap: false,
    outfile: join(dist, "viewer.js"),
    logLevel: "warning",
  });
  // esbuild leaves the package's `new URL(…wasm, import.meta.url)` alone; the page passes
  // the URL of this copy to init() itself.
  await copyFile(wasm, join(dist, "leafcrypt_wasm_bg.wasm"));
  await copyFile(join(here, "src/viewer.css"), join(dist, "viewer.css"));

  let msalTag = "";
  if (config.msal.script) {
    const source = join(here, config.msal.script);
    if (!existsSync(source)) throw new Error(`viewer config: msal.script ${source} not found`);
    await mkdir(dirname(join(dist, config.msal.script)), { recursive: true });
    await copyFile(source, join(dist, config.msal.script));
    msalTag = `<script src="./${config.msal.script}" defer></script>\n    `;
  }
  const template = await readFile(join(here, "src/index.html"), "utf8");
  const html = template
    .replace("%CSP%", attribute(contentSecurityPolicy(config)))
    .replace("%CONFIG%", attribute(JSON.stringify(pageConfig(config))))
    .replace("%MSAL%", msalTag);
  await writeFile(join(dist, "index.html"), html);
  console.error(`viewer: built ${dist} in ${Math.round(performance.now() - start)} ms`);
}

main().catch((error) => {
  console.error(`viewer build failed: ${error.message}`);
  process.exit(1);
});

// Builds the fixture app (src/main.js, which imports the installed `leafcrypt`) three
// times, into dist/vite, dist/webpack and dist/esbuild, each a page that serves as is.
// Usage: node build.mjs

import { build as viteBuild } from "vite";
import webpack from "webpack";
import * as esbuild from "esbuild";
import { copyFile, mkdir, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
const entry = join(here, "src/main.js");

/** The page for the webpack and esbuild outputs (Vite writes its own from index.html). */
const page = (script) => `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><link rel="icon" href="data:," /><title>leafcrypt bundler fixture</title></head>
  <body>
    <p id="status">running</p>
    ${script}
  </body>
</html>
`;

async function buildVite() {
  await viteBuild({
    configFile: false,
    root: here,
    base: "./", // the page is served under /vite/
    logLevel: "warn",
    build: { outDir: join(dist, "vite"), emptyOutDir: true },
  });
}

async function buildWebpack() {
  const out = join(dist, "webpack");
  const compiler = webpack({
    mode: "production",
    target: "web",
    context: here,
    entry,
    output: { path: out, filename: "main.js", clean: true },
    performance: { hints: false },
  });
  const stats = await new Promise((resolve, reject) =>
    compiler.run((error, result) => (error ? reject(error) : resolve(result))),
  );
  await new Promise((resolve) => compiler.close(resolve));
  if (stats.hasErrors() || stats.hasWarnings()) {
    throw new Error(`webpack:\n${stats.toString({ all: false, errors: true, warnings: true })}`);
  }
  await writeFile(join(out, "index.html"), page(`<script src="./main.js"></script>`));
}

async function buildEsbuild() {
  const out = join(dist, "esbuild");
  await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "browser",
    minify: true,
    outfile: join(out, "main.js"),
    logLevel: "warning",
  });
  // esbuild keeps `new URL("leafcrypt_wasm_bg.wasm", import.meta.url)` as it is, so the
  // .wasm goes next to the bundle (as the package README says).
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve("leafcrypt/package.json"));
  await copyFile(join(pkgDir, "pkg/web/leafcrypt_wasm_bg.wasm"), join(out, "leafcrypt_wasm_bg.wasm"));
  await writeFile(join(out, "index.html"), page(`<script type="module" src="./main.js"></script>`));
}

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
for (const [name, run] of [
  ["vite", buildVite],
  ["webpack", buildWebpack],
  ["esbuild", buildEsbuild],
]) {
  const start = performance.now();
  await run();
  console.error(`build: ${name} in ${Math.round(performance.now() - start)} ms`);
}

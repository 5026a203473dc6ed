// The viewer's deployment settings and the Content-Security-Policy derived from them.
// Read by build.mjs (written into the page) and serve.mjs (sent as a header).
//
// viewer.config.json (optional; path overridable with VIEWER_CONFIG):
// {
//   "kvProxy": "http://127.0.0.1:8091",             // default proxy URL shown in the page
//   "kvProxyOrigins": ["http://127.0.0.1:8091"],     // origins the page may call as a proxy
//   "keyVaultHosts": ["https://*.vault.azure.net"],  // direct Key Vault calls (fail: no CORS)
//   "awsKmsHosts": ["https://*.amazonaws.com"],      // AWS KMS/STS or the endpoint the page is given
//   "gcpKmsHosts": ["https://cloudkms.googleapis.com"], // Cloud KMS or the endpoint the page is given
//   "vaultHosts": [],                                // Vault servers the files name (none by default)
//   "loginHost": "https://login.microsoftonline.com",
//   "msal": { "clientId": "", "tenantId": "", "script": "" } // optional MSAL.js sign-in
// }

import { existsSync, readFileSync } from "node:fs";

/** The settings when no file is given. */
export const DEFAULTS = Object.freeze({
  kvProxy: "http://127.0.0.1:8091",
  kvProxyOrigins: ["http://127.0.0.1:8091"],
  keyVaultHosts: ["https://*.vault.azure.net"],
  awsKmsHosts: ["https://*.amazonaws.com"],
  gcpKmsHosts: ["https://cloudkms.googleapis.com"],
  vaultHosts: [],
  loginHost: "https://login.microsoftonline.com",
  msal: { clientId: "", tenantId: "", script: "" },
});

/**
 * A CSP source that may only name an origin: scheme, host (a leading `*.` allowed) and
 * an optional port (`*` allowed); nothing that could end the directive or add a keyword.
 */
const ORIGIN = /^https?:\/\/(\*\.)?[a-z0-9.-]+(:(\d{1,5}|\*))?$/i;

/** Throws unless `value` is an origin usable in `connect-src`. */
function checkOrigin(value, field) {
  if (typeof value !== "string" || !ORIGIN.test(value)) {
    throw new Error(`viewer config: ${field} must be an origin like https://host or http://127.0.0.1:8091, got ${JSON.stringify(value)}`);
  }
  const insecure = value.startsWith("http://");
  const loopback = /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:|$)/i.test(value);
  if (insecure && !loopback) {
    throw new Error(`viewer config: ${field} ${value}: plain http is allowed for loopback only`);
  }
  return value;
}

/**
 * Merges `raw` (a parsed viewer.config.json) over the defaults and validates it.
 * @param {object} raw
 */
export function normalize(raw = {}) {
  const config = { ...DEFAULTS, ...raw, msal: { ...DEFAULTS.msal, ...(raw.msal ?? {}) } };
  const list = (field) => {
    if (!Array.isArray(config[field])) throw new Error(`viewer config: ${field} must be an array`);
    return config[field].map((v, i) => checkOrigin(v, `${field}[${i}]`));
  };
  config.kvProxyOrigins = list("kvProxyOrigins");
  config.keyVaultHosts = list("keyVaultHosts");
  config.awsKmsHosts = list("awsKmsHosts");
  config.gcpKmsHosts = list("gcpKmsHosts");
  config.vaultHosts = list("vaultHosts");
  checkOrigin(config.loginHost, "loginHost");
  if (config.kvProxy !== "") {
    const url = new URL(config.kvProxy); // throws on garbage
    checkOrigin(url.origin, "kvProxy");
  }
  for (const field of ["clientId", "tenantId", "script"]) {
    if (typeof config.msal[field] !== "string") throw new Error(`viewer config: msal.${field} must be a string`);
  }
  const script = config.msal.script;
  const segments = script.split("/");
  if (script && (!/^[\w./-]+\.js$/.test(script) || segments.some((p) => p === "" || p === "." || p === ".."))) {
    throw new Error("viewer config: msal.script must be a relative .js path inside dist/");
  }
  return config;
}

/** Reads `VIEWER_CONFIG`, else `viewer.config.json` in `dir` when present, else the defaults. */
export function loadConfig(dir) {
  const path = process.env.VIEWER_CONFIG ?? `${dir}/viewer.config.json`;
  if (!existsSync(path)) {
    if (process.env.VIEWER_CONFIG) throw new Error(`viewer config: ${path} not found`);
    return normalize({});
  }
  return normalize(JSON.parse(readFileSync(path, "utf8")));
}

/**
 * The policy: scripts, styles and the .wasm from the page's own origin only (no inline
 * code, no eval; `wasm-unsafe-eval` lets WebAssembly compile), network access to the
 * proxy, Key Vault, AWS KMS and login hosts only, DOM sinks closed by Trusted Types.
 * `frameAncestors` adds `frame-ancestors 'none'`, which only works as a header.
 */
export function contentSecurityPolicy(config, { frameAncestors = false } = {}) {
  const connect = ["'self'", ...config.kvProxyOrigins, ...config.keyVaultHosts, ...config.awsKmsHosts, ...config.gcpKmsHosts, ...config.vaultHosts, config.loginHost];
  const directives = [
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${[...new Set(connect)].join(" ")}`,
    "base-uri 'none'",
    "form-action 'none'",
    "object-src 'none'",
    "require-trusted-types-for 'script'",
    "trusted-types 'none'",
  ];
  if (config.msal.clientId) {
    // MSAL's popup sign-in opens the login host in a window it polls.
    directives.push(`frame-src ${config.loginHost}`);
  }
  if (frameAncestors) directives.push("frame-ancestors 'none'");
  return directives.join("; ");
}

/** What the page may know of the settings (no secrets exist in them). */
export function pageConfig(config) {
  return {
    kvProxy: config.kvProxy,
    loginHost: config.loginHost,
    msal: { clientId: config.msal.clientId, tenantId: config.msal.tenantId },
  };
}

// The deployment settings build.mjs writes into the page's meta tag (no secrets).

const DEFAULTS = { kvProxy: "", loginHost: "https://login.microsoftonline.com", msal: { clientId: "", tenantId: "" } };

/** The settings of this page. */
export function readConfig() {
  const meta = document.querySelector('meta[name="leafcrypt-viewer-config"]');
  try {
    const parsed = JSON.parse(meta?.getAttribute("content") ?? "{}");
    return { ...DEFAULTS, ...parsed, msal: { ...DEFAULTS.msal, ...(parsed.msal ?? {}) } };
  } catch {
    return DEFAULTS;
  }
}

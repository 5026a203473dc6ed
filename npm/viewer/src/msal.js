// Optional sign-in through MSAL.js (msal-browser), when the deployment bundles it (see
// the viewer section of npm/README.md): configured by tenant and client id, tokens kept
// in MSAL's memory cache only.

const SCOPES = ["https://vault.azure.net/.default"];

/** Whether sign-in can be offered: a client id is configured and `msal` is loaded. */
export function msalAvailable(config) {
  return Boolean(config.msal.clientId && globalThis.msal?.PublicClientApplication);
}

let app;

/**
 * Signs in with a popup (once) and resolves to a Key Vault access token.
 * @param {{ loginHost: string, msal: { clientId: string, tenantId: string } }} config
 */
export async function signIn(config) {
  if (!msalAvailable(config)) throw new Error("MSAL.js is not loaded or no client id is configured");
  if (!app) {
    app = new globalThis.msal.PublicClientApplication({
      auth: {
        clientId: config.msal.clientId,
        authority: `${config.loginHost}/${config.msal.tenantId || "organizations"}`,
        redirectUri: `${location.origin}${location.pathname}`,
      },
      cache: { cacheLocation: "memoryStorage" },
    });
    await app.initialize();
  }
  const account = app.getAllAccounts()[0] ?? (await app.loginPopup({ scopes: SCOPES })).account;
  try {
    return (await app.acquireTokenSilent({ scopes: SCOPES, account })).accessToken;
  } catch {
    return (await app.acquireTokenPopup({ scopes: SCOPES, account })).accessToken;
  }
}

/** Drops MSAL's in-memory accounts and tokens (forget keys). */
export async function signOutLocally() {
  if (!app) return;
  for (const account of app.getAllAccounts()) {
    await app.clearCache({ account }).catch(() => {});
  }
}

// Azure Key Vault from the page. Key Vault sends no CORS headers, so browsers cannot call
// it directly: requests go through `leafcrypt kv-proxy`, a loopback proxy that forwards
// key operations to the vaults it was started for and adds CORS headers for this page's
// origin. The token is handed to the package per request and kept nowhere else.

import { decrypt } from "../../src/web.js";

/**
 * The package options that send Key Vault calls to `proxy` with `token`.
 * @param {{ token: string, proxy?: string }} keys
 */
export function keyVaultOptions({ token, proxy }) {
  return {
    azureKv: {
      ...(proxy ? { endpoint: proxy } : {}),
      getToken: async () => token,
    },
  };
}

/**
 * Decrypts `fileText` with Key Vault through the proxy; resolves to the plaintext file.
 * @param {string} fileText
 * @param {{ token: string, proxy?: string, format?: string }} options
 */
export async function decryptWithKeyVault(fileText, { token, proxy, format = "yaml" }) {
  return decrypt(fileText, { format, ...keyVaultOptions({ token, proxy }) });
}

/** The vault origins an Inspection's azure_kv entries name. */
export function vaultsOf(metadata) {
  const vaults = new Set();
  for (const group of metadata?.keyGroups ?? []) {
    for (const entry of group) {
      if (entry.kind === "azure_kv" && typeof entry.vault_url === "string") vaults.add(entry.vault_url.replace(/\/+$/, ""));
    }
  }
  return [...vaults];
}

/** The command that starts a proxy for `vaults` and this page's `origin`. */
export function proxyCommand(vaults, origin) {
  const vaultArgs = (vaults.length ? vaults : ["https://NAME.vault.azure.net"]).map((v) => `--vault ${v}`);
  return ["leafcrypt kv-proxy", ...vaultArgs, `--allow-origin ${origin}`].join(" ");
}

/** Whether an error looks like the browser refusing or failing the request itself. */
export function isBlockedRequest(error) {
  const text = `${error?.message ?? ""} ${error?.cause?.message ?? ""}`;
  return /failed to fetch|networkerror|load failed|cors|error sending request|content security policy/i.test(text);
}

/**
 * The page's explanation for a failed Key Vault decryption.
 * @returns {{ title: string, detail: string }}
 */
export function explainKeyVaultFailure(error, { proxy, vaults, origin }) {
  if (isBlockedRequest(error)) {
    const title = proxy
      ? `The browser could not reach the kv-proxy at ${proxy}`
      : "The browser blocked the direct call to Azure Key Vault";
    const detail =
      "Azure Key Vault sends no CORS headers, so this page can only reach it through a local proxy. " +
      `Start \`${proxyCommand(vaults, origin)}\` and set the proxy URL (it prints it).` +
      (proxy ? " Check that it runs and lists this page's origin." : "") +
      (error?.message ? ` (leafcrypt: ${error.message})` : "");
    return { title, detail };
  }
  return { title: "Key Vault could not open the file", detail: error?.message ?? String(error) };
}

/**
 * Asks Key Vault, through the proxy, for the current version of every `azure_kv` key of
 * the file. Resolves to a note per entry identity: whether the version the file was
 * wrapped with is still the key's current one. Failures become notes too.
 * @param {object} metadata the file's Inspection
 * @param {{ token: string, proxy: string }} keys
 * @returns {Promise<Map<string, string>>}
 */
export async function keyVersionNotes(metadata, { token, proxy }) {
  const notes = new Map();
  const entries = (metadata?.keyGroups ?? []).flat().filter((e) => e.kind === "azure_kv");
  for (const entry of entries) {
    notes.set(entry.identity, await versionNote(entry, { token, proxy }));
  }
  return notes;
}

async function versionNote(entry, { token, proxy }) {
  if (!proxy) return "current version not checked: no kv-proxy URL";
  let url;
  try {
    const vault = new URL(entry.vault_url);
    url = `${proxy.replace(/\/+$/, "")}/${vault.host}/keys/${encodeURIComponent(entry.name)}?api-version=7.4`;
  } catch {
    return "current version not checked: the entry's vault_url is not a URL";
  }
  try {
    const reply = await fetch(url, {
      headers: { authorization: `Bearer ${token}` },
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    });
    if (!reply.ok) return `current version not checked: Key Vault answered ${reply.status}`;
    const kid = String((await reply.json())?.key?.kid ?? "");
    const current = kid.split("/").pop();
    if (!current) return "current version not checked: Key Vault's answer names no version";
    return current === entry.version
      ? "the key's current version"
      : `NOT the key's current version (now ${current}): rotate the file to wrap its data key with it`;
  } catch (error) {
    return `current version not checked: ${isBlockedRequest(error) ? "the kv-proxy could not be reached" : error.message}`;
  }
}

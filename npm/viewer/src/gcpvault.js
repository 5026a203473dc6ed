// GCP Cloud KMS and HashiCorp Vault transit from the page. The tokens typed into the
// metadata panel's forms stay in their inputs (memory only) and reach the package through
// its `gcpKms.getToken` / `hcVault.getToken` callbacks.
// CORS: Google documents that its REST APIs answer CORS requests (the JavaScript client's
// CORS guide); this was not measured against Cloud KMS here. A Vault server answers only the
// origins its `sys/config/cors` allows, and only Vault's standard headers plus its
// `allowed_headers`: the package's `X-Vault-Request` (and `X-Vault-Namespace`) must be added.

import { isTransportFailure } from "./awskms.js";

/** The entries of `kind` (`gcp_kms`, `hc_vault`) of an Inspection. */
export function entriesOf(metadata, kind) {
  return (metadata?.keyGroups ?? []).flat().filter((e) => e.kind === kind);
}

/**
 * The package options that call Cloud KMS (or `endpoint`) with this access token.
 * @param {{ token: string, endpoint?: string }} form
 */
export function gcpKmsOptions({ token, endpoint }) {
  return { gcpKms: { ...(endpoint ? { endpoint } : {}), getToken: async () => token } };
}

/**
 * The package options that call the Vault servers the file names with this token.
 * @param {{ token: string, namespace?: string }} form
 */
export function hcVaultOptions({ token, namespace }) {
  return { hcVault: { ...(namespace ? { namespace } : {}), getToken: async () => token } };
}

/**
 * The page's explanation for a failed Cloud KMS or Vault decryption; `secrets` are cut out
 * of the text shown (the package never puts them in errors, this is a second guard).
 * @param {"gcp" | "vault"} service
 * @returns {{ title: string, detail: string }}
 */
export function explainFailure(error, service, { endpoint, secrets = [] }) {
  let message = error?.message ?? String(error);
  for (const s of secrets) if (s) message = message.split(s).join("…");
  const name = service === "gcp" ? "Cloud KMS" : "Vault";
  if (isTransportFailure(error)) {
    const where = endpoint ? `${name} at ${endpoint}` : name;
    const cors =
      service === "gcp"
        ? "Use an endpoint that answers CORS preflights for this origin (Google's REST APIs do; a proxy must too), check that the page's CSP lists it (gcpKmsHosts)"
        : "Allow this page's origin and the X-Vault-Request header (and X-Vault-Namespace with a namespace) in Vault (vault write sys/config/cors enabled=true allowed_origins=ORIGIN allowed_headers=X-Vault-Request,X-Vault-Namespace), check that the page's CSP lists the Vault address (vaultHosts)";
    return {
      title: `The browser could not reach ${where}`,
      detail: `The server is unreachable or does not allow this page's origin (CORS). ${cors}, or decrypt with the CLI (sops or leafcrypt). (leafcrypt: ${message})`,
    };
  }
  return { title: `${name} could not open the file`, detail: message };
}

// AWS KMS from the page. The credentials typed into the metadata panel's form stay in
// its inputs (memory only) and reach the package through its `getCredentials` callback.
// The browser sends a request only to an endpoint that allows this page's origin (CORS):
// AWS lists KMS and STS among the services its browser SDK can call, a proxy, a VPC
// endpoint behind one or an emulator must allow the origin themselves.

/** The `kms` entries of an Inspection. */
export function kmsEntriesOf(metadata) {
  return (metadata?.keyGroups ?? []).flat().filter((e) => e.kind === "kms");
}

/**
 * The package options that call AWS KMS (or `endpoint`) with these credentials.
 * @param {{ accessKeyId: string, secretAccessKey: string, sessionToken?: string, endpoint?: string }} form
 */
export function awsKmsOptions({ accessKeyId, secretAccessKey, sessionToken, endpoint }) {
  return {
    awsKms: {
      ...(endpoint ? { endpoint, stsEndpoint: endpoint } : {}),
      getCredentials: async () => ({ accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) }),
    },
  };
}

/** Whether an error is the browser failing the request itself (CORS, no server, CSP). */
export function isTransportFailure(error) {
  const text = `${error?.message ?? ""} ${error?.cause?.message ?? ""}`;
  return /often CORS|failed to fetch|networkerror|load failed|error sending request|content security policy/i.test(text);
}

/**
 * The page's explanation for a failed AWS KMS decryption; `secrets` are cut out of the
 * text shown (the package never puts them in errors, this is a second guard).
 * @returns {{ title: string, detail: string }}
 */
export function explainAwsKmsFailure(error, { endpoint, secrets = [] }) {
  let message = error?.message ?? String(error);
  for (const s of secrets) if (s) message = message.split(s).join("…");
  if (isTransportFailure(error)) {
    return {
      title: endpoint ? `The browser could not reach the KMS endpoint ${endpoint}` : "The browser could not reach AWS KMS",
      detail:
        "The endpoint is unreachable or does not allow this page's origin (CORS). " +
        "Use an endpoint that answers CORS preflights for this origin (a proxy in front of KMS " +
        "or of your VPC endpoint), check that the page's CSP lists it (awsKmsHosts), " +
        "or decrypt with the CLI (sops or leafcrypt). " +
        `(leafcrypt: ${message})`,
    };
  }
  return { title: "AWS KMS could not open the file", detail: message };
}

// What each bundled page does with the installed `leafcrypt`: decrypt a sops 3.11 vector
// with an age identity, encrypt a document and decrypt it back, and decrypt a tampered
// file. It reports what happened; the Node test compares that with the files on disk.

import { decrypt, encrypt, inspect, init, LeafcryptError } from "leafcrypt";

/**
 * Runs the checks on vectors handed in as text.
 * @param {{ encrypted: string, identities: string, tampered: string }} vectors
 */
export async function runChecks({ encrypted, identities, tampered }) {
  const age = { identities };
  const decrypted = await decrypt(encrypted, { format: "yaml", age });

  await init(); // `inspect` is synchronous: the module must be loaded first
  const recipient = inspect(encrypted, { format: "yaml" }).keyGroups[0][0].recipient;
  const plain = "from: the browser\ncount: 42\nlist:\n    - 1\n    - two\n";
  const reEncrypted = await encrypt(plain, { format: "yaml", age: { recipients: recipient } });
  const roundTrip = await decrypt(reEncrypted, { format: "yaml", age });

  let tamperError = null;
  try {
    await decrypt(tampered, { format: "yaml", age });
  } catch (e) {
    tamperError = {
      isLeafcryptError: e instanceof LeafcryptError,
      isError: e instanceof Error,
      code: e.code,
      exitCode: e.exitCode,
      message: String(e.message),
    };
  }

  return {
    decrypted,
    encryptedHasCiphertext: /ENC\[AES256_GCM,data:/.test(reEncrypted),
    encryptedLeaksPlaintext: reEncrypted.includes("the browser"),
    plain,
    roundTrip,
    tamperError,
  };
}

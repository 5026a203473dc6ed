// Runs one Key Vault job with the package in a child Node process, so that the emulator's
// CA can be trusted through NODE_EXTRA_CA_CERTS (read only at start-up). The job comes as
// JSON on argv[2]; the result goes to stdout as JSON. The token is the one the test minted
// (TOKEN); every getToken call is recorded.

import { decrypt, encrypt, encryptText, decryptText } from "../src/node.js";

const job = JSON.parse(process.argv[2]);
const calls = [];
const azureKv = {
  keys: job.keys,
  endpoint: job.endpoint,
  remoteEncrypt: job.remoteEncrypt,
  getToken: async (scopes, tenantId) => {
    calls.push({ scopes, tenantId });
    return { token: process.env.TOKEN, expiresOnTimestamp: Date.now() + 3600_000 };
  },
};
const out = { calls };
try {
  switch (job.op) {
    case "encrypt":
      out.text = await encrypt(job.input, { format: job.format, azureKv });
      break;
    case "decrypt":
      out.text = await decrypt(job.input, { format: job.format, azureKv });
      break;
    case "text":
      out.encrypted = await encryptText(job.input, { key: job.keys[0], azureKv });
      out.text = await decryptText(out.encrypted.ciphertext, { key: job.keys[0], azureKv });
      break;
    default:
      throw new Error(`unknown op ${job.op}`);
  }
} catch (e) {
  out.error = { code: e.code, message: e.message };
}
process.stdout.write(JSON.stringify(out));

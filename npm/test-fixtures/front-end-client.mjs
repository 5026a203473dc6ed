// Runs one file-level operation of the package in a child Node process, for
// test/front-ends.test.js: the Key Vault emulator's CA is trusted through
// NODE_EXTRA_CA_CERTS, which Node reads only at start-up. The job comes as JSON on argv[2]
// ({ op, input, options }); `options.azureKv` gets a getToken that returns TOKEN. The
// result ({ text } or { error }) goes to stdout as JSON.

import { decrypt, editKeyGroups, encrypt, rotate, setValues } from "../src/node.js";

const ops = { decrypt, editKeyGroups, encrypt, rotate, setValues };
const job = JSON.parse(process.argv[2]);
const options = { ...job.options };
if (options.azureKv) {
  options.azureKv = {
    ...options.azureKv,
    getToken: async () => ({ token: process.env.TOKEN, expiresOnTimestamp: Date.now() + 3600_000 }),
  };
}
const out = {};
try {
  out.text = await ops[job.op](job.input, options);
} catch (e) {
  out.error = { code: e.code, message: e.message };
}
process.stdout.write(JSON.stringify(out));

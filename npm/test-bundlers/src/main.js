// Browser entry of the fixture app: fetches the vectors from the test server and
// publishes the outcome of the checks as `window.leafcryptResult` (a promise).

import { runChecks } from "./checks.js";

async function text(path) {
  const response = await fetch(new URL(path, window.location.origin));
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.text();
}

window.leafcryptResult = (async () => {
  const [encrypted, identities, tampered] = await Promise.all([
    text("/vectors/yaml/encrypted.yaml"),
    text("/vectors/age/key1.txt"),
    text("/vectors/tamper/list-swap.yaml"),
  ]);
  const result = await runChecks({ encrypted, identities, tampered });
  document.getElementById("status").textContent = "done";
  return result;
})();

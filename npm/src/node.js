// Node entry point: the same web build as browsers get (one .wasm in the package),
// compiled synchronously from the package directory at import, so everything is ready
// at once, `inspect` included.

import { readFileSync } from "node:fs";
import * as wasm from "../pkg/web/leafcrypt_wasm.js";
import { createApi } from "./api.js";

export { LeafcryptError } from "./errors.js";

wasm.initSync({ module: readFileSync(new URL("../pkg/web/leafcrypt_wasm_bg.wasm", import.meta.url)) });

/** Nothing to do in Node (kept for code shared with browsers). */
export async function init() {}

export const {
  formatFromPath,
  detectFormat,
  decrypt,
  decryptToObject,
  encrypt,
  rotate,
  inspect,
  structure,
  decryptStructure,
  setValues,
  editKeyGroups,
  encryptText,
  decryptText,
} = createApi(wasm);

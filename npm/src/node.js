// Node entry point: the CommonJS wasm-bindgen build, which loads the .wasm synchronously
// from the package directory. Everything is ready at import time.

import wasm from "../pkg/node/leafcrypt_wasm.js";
import { createApi } from "./api.js";

export { LeafcryptError } from "./errors.js";
export { formatFromPath } from "./api.js";

/** Nothing to do in Node (kept for code shared with browsers). */
export async function init() {}

export const { decrypt, decryptToObject, encrypt, rotate, inspect } = createApi(wasm);

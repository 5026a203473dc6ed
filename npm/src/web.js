// Browser and bundler entry point: the web wasm-bindgen build. The module is fetched and
// instantiated by `init()`, which the async functions call themselves; `inspect` is
// synchronous and needs one `await init()` first.

import initWasm, * as wasm from "../pkg/web/leafcrypt_wasm.js";
import { createApi } from "./api.js";

export { LeafcryptError } from "./errors.js";

let loading;
let loaded = false;

/**
 * Loads the WebAssembly module (once). Without an argument it fetches the `.wasm` next to
 * this file (bundlers such as Vite and webpack rewrite that URL); pass a URL, a
 * `Response`, the bytes or a compiled `WebAssembly.Module` to load it from elsewhere.
 * @param {string | URL | Response | BufferSource | WebAssembly.Module} [source]
 */
export function init(source) {
  loading ??= initWasm(source === undefined ? undefined : { module_or_path: source }).then(
    () => {
      loaded = true;
    },
    (error) => {
      loading = undefined; // let a later call retry
      throw error;
    },
  );
  return loading;
}

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
} = createApi(
    wasm,
    () => init(),
    () => loaded,
  );

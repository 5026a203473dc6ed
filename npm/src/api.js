// The public functions over either WebAssembly build (Node or web): input and output
// conversion and error wrapping. All format and crypto work happens in the core.

import { LeafcryptError, rethrow } from "./errors.js";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The file's bytes: strings are UTF-8 encoded, binary data is passed as is.
 * @param {string | Uint8Array | ArrayBuffer} input
 * @returns {Uint8Array}
 */
function toBytes(input) {
  if (typeof input === "string") return encoder.encode(input);
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new LeafcryptError("the input must be a string, a Uint8Array or an ArrayBuffer", {
    code: "INVALID_INPUT",
  });
}

/**
 * Whether the plaintext written for `options` is binary (returned as `Uint8Array`).
 * @param {{ format?: string, outputFormat?: string }} options
 */
function binaryOutput(options) {
  return (options?.outputFormat ?? options?.format) === "binary";
}

/**
 * The API over one wasm-bindgen build.
 * @param {object} wasm the generated module's exports
 * @param {() => (void | Promise<void>)} ready resolves once the module is instantiated
 * @param {() => boolean} isReady whether it already is (for the synchronous `inspect`)
 */
export function createApi(wasm, ready = () => {}, isReady = () => true) {
  async function decrypt(input, options) {
    const bytes = toBytes(input);
    await ready();
    const out = await wasm.decrypt(bytes, options).catch(rethrow);
    return binaryOutput(options) ? out : decoder.decode(out);
  }

  async function decryptToObject(input, options) {
    const bytes = toBytes(input);
    await ready();
    return wasm.decryptToObject(bytes, options).catch(rethrow);
  }

  async function encrypt(input, options) {
    const bytes = toBytes(input);
    await ready();
    return decoder.decode(await wasm.encrypt(bytes, options).catch(rethrow));
  }

  async function rotate(input, options) {
    const bytes = toBytes(input);
    await ready();
    return decoder.decode(await wasm.rotate(bytes, options).catch(rethrow));
  }

  /** Throws NOT_INITIALIZED unless the module is loaded (the synchronous functions). */
  function requireReady(name) {
    if (!isReady()) {
      throw new LeafcryptError(
        `the WebAssembly module is not loaded yet: \`await init()\` once before calling ${name}()`,
        { code: "NOT_INITIALIZED" },
      );
    }
  }

  /** The format sops picks for a file name (the core's rule, case-sensitive as sops's). */
  function formatFromPath(path) {
    requireReady("formatFromPath");
    return wasm.formatFromPath(String(path));
  }

  /** The format of an encrypted file from its name, else its content; null when neither tells. */
  function detectFormat(name, input) {
    requireReady("detectFormat");
    return wasm.detectFormat(String(name ?? ""), toBytes(input)) ?? null;
  }

  function inspect(input, options) {
    const bytes = toBytes(input);
    requireReady("inspect");
    try {
      return wasm.inspect(bytes, options);
    } catch (error) {
      rethrow(error);
    }
  }

  function structure(input, options) {
    const bytes = toBytes(input);
    if (!isReady()) {
      throw new LeafcryptError(
        "the WebAssembly module is not loaded yet: `await init()` once before calling structure()",
        { code: "NOT_INITIALIZED" },
      );
    }
    try {
      return wasm.structure(bytes, options);
    } catch (error) {
      rethrow(error);
    }
  }

  async function decryptStructure(input, options) {
    const bytes = toBytes(input);
    await ready();
    return wasm.decryptStructure(bytes, options).catch(rethrow);
  }

  async function setValues(input, options) {
    const bytes = toBytes(input);
    await ready();
    return decoder.decode(await wasm.setValues(bytes, options).catch(rethrow));
  }

  async function editKeyGroups(input, options) {
    const bytes = toBytes(input);
    await ready();
    return decoder.decode(await wasm.editKeyGroups(bytes, options).catch(rethrow));
  }

  async function encryptText(input, options) {
    const bytes = toBytes(input);
    await ready();
    return wasm.encryptText(bytes, options).catch(rethrow);
  }

  async function decryptText(ciphertext, options) {
    await ready();
    const out = await wasm.decryptText(String(ciphertext), options).catch(rethrow);
    return options?.binary ? out : decoder.decode(out);
  }

  return {
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
  };
}

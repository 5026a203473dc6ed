/**
 * The error every leafcrypt function throws (or rejects with).
 *
 * `code` is stable and meant for programs: `MAC_MISMATCH`, `NO_KEY`, `PARSE`,
 * `DECRYPT_VALUE`, `METADATA`, `METADATA_NOT_FOUND`, `ALREADY_ENCRYPTED`, `ENCRYPT_TREE`,
 * `STRICT`, `CONFIG`, `TREE_PATH`, `EMIT`, `INVALID_OPTIONS`, `INVALID_INPUT`,
 * `NOT_AVAILABLE`, `NOT_INITIALIZED`. `exitCode` is the exit code the sops CLI uses for
 * the same failure; `path` is the key path of the offending value, when known.
 */
export class LeafcryptError extends Error {
  /**
   * @param {string} message
   * @param {{ code: string, exitCode?: number, path?: string, cause?: unknown }} details
   */
  constructor(message, { code, exitCode = 1, path, cause }) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "LeafcryptError";
    this.code = code;
    this.exitCode = exitCode;
    if (path !== undefined) this.path = path;
  }
}

/**
 * Re-throws an error raised by the WebAssembly side as a `LeafcryptError`; anything else
 * (a bug, an out-of-memory trap) unchanged.
 * @param {unknown} error
 * @returns {never}
 */
export function rethrow(error) {
  if (error instanceof Error && typeof error.code === "string" && !(error instanceof LeafcryptError)) {
    throw new LeafcryptError(error.message, {
      code: error.code,
      exitCode: error.exitCode,
      path: error.path,
    });
  }
  throw error;
}

// Type declarations of the `leafcrypt` package (Node and web builds share them).

/** The five SOPS stores. `binary` is any file, carried as one value. */
/** `toml` is a leafcrypt extension: sops cannot read TOML files. */
export type Format = "yaml" | "json" | "dotenv" | "ini" | "binary" | "toml";

/** A file's content: text is UTF-8 encoded; binary data is passed as is. */
export type Input = string | Uint8Array | ArrayBuffer | ArrayBufferView;

/**
 * A key-encryption key implemented by your code (AWS KMS, WebCrypto, an HSM service, …).
 * Its entries are stored as `callback_kek: [{ id, created_at, enc }]` with `enc` the
 * base64 of what `wrap` returned. sops ignores such entries (another key must open the
 * file for sops) and drops them when it rewrites the metadata (`sops set`, `rotate`, …).
 */
export interface Kek {
  /** Names the key in the file; `unwrap` is only asked for entries with this id. */
  id: string;
  /**
   * Wraps a data key (or Shamir share). The array is zeroed once the returned promise
   * settles: copy it if you need it later.
   */
  wrap(dataKey: Uint8Array): Uint8Array | ArrayBuffer | Promise<Uint8Array | ArrayBuffer>;
  /** Recovers what `wrap` wrapped. Throw or reject when it cannot. */
  unwrap(wrapped: Uint8Array): Uint8Array | ArrayBuffer | Promise<Uint8Array | ArrayBuffer>;
}

/** Keys that can open a file. */
export interface KeyOptions {
  age?: {
    /** `AGE-SECRET-KEY-1…` identities, or the text of an identity file (comments allowed). */
    identities?: string | string[];
    /** `age1…` recipients to encrypt for. */
    recipients?: string | string[];
  };
  /**
   * OpenPGP keys, byte-compatible with sops's `pgp` entries (`gpg` decrypts what this
   * writes and the other way round). Armored keys as `gpg --armor --export FPR` and
   * `gpg --armor --export-secret-keys FPR` print them; one string may hold several blocks.
   */
  pgp?: {
    /** Public keys to encrypt to (private keys given here count as their public halves). */
    publicKeys?: string | string[];
    /** Private keys that decrypt; their public halves can be encrypted to as well. */
    privateKeys?: string | string[];
    /** Unlocks passphrase-protected private keys (never stored or printed). */
    passphrase?: string;
    /**
     * Fingerprints to encrypt for (full 40-hex primary fingerprint as sops writes it, or a
     * subkey's). Default: every key of `publicKeys`.
     */
    recipients?: string | string[];
  };
  /** One or more callback KEKs: used to unwrap, and (encrypt) wrapped for. */
  kek?: Kek | Kek[];
  /** Azure Key Vault (RSA-OAEP-256, byte-compatible with sops's `azure_kv`). */
  azureKv?: AzureKvOptions;
  /** HashiCorp Vault transit (byte-compatible with sops's `hc_vault`). */
  hcVault?: HcVaultOptions;
  /** AWS KMS (byte-compatible with sops's `kms`). */
  awsKms?: AwsKmsOptions;
  /** GCP Cloud KMS (byte-compatible with sops's `gcp_kms`). */
  gcpKms?: GcpKmsOptions;
}

/** Temporary or long-term AWS credentials, as `getCredentials` returns them. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** When they expire (a `Date`, ms since the epoch or ISO text); asked again 5 minutes before. */
  expiration?: Date | number | string;
}

/** How AWS KMS is reached. */
export interface AwsKmsOptions {
  /**
   * Returns AWS credentials (e.g. from Cognito or STS web identity). Used for every key;
   * a key's `role` is assumed with them through STS; `aws_profile` has no meaning here.
   */
  getCredentials(): AwsCredentials | Promise<AwsCredentials>;
  /** Keys to encrypt for: `ARN[+ROLE_ARN]` (comma-separated or a list). */
  keys?: string | string[];
  /** Encryption context of `keys`: `k:v,k2:v2` or `{ k: v }`. */
  encryptionContext?: string | Record<string, string>;
  /** KMS endpoint replacing `https://kms.REGION.amazonaws.com` (a proxy, an emulator). */
  endpoint?: string;
  /** STS endpoint for keys with a role. */
  stsEndpoint?: string;
}

/** What `gcpKms.getToken` may return: a bearer token or google-auth-library's credentials. */
export type GcpToken =
  | string
  | { access_token: string; expiry_date?: number }
  | { accessToken: string; expiresOn?: Date | number }
  | { token: string; expiresOn?: Date | number };

/** How Cloud KMS is reached. */
export interface GcpKmsOptions {
  /**
   * Returns an OAuth access token with the `cloud-platform` (or `cloudkms`) scope, e.g.
   * google-auth-library's `(await auth.getClient()).getAccessToken()` or a pasted
   * `gcloud auth print-access-token`. Without an expiry it is asked for again after a minute.
   */
  getToken(): GcpToken | Promise<GcpToken>;
  /** Keys to encrypt for: `projects/P/locations/L/keyRings/R/cryptoKeys/K`. */
  keys?: string | string[];
  /** Another endpoint (a proxy, an emulator); default `https://cloudkms.googleapis.com`. */
  endpoint?: string;
}

/** HashiCorp Vault transit: where the token comes from, the keys to encrypt for. */
export interface HcVaultOptions {
  /** Returns the Vault token; asked before each Vault operation. */
  getToken?(): string | Promise<string>;
  /** A fixed Vault token (when there is no `getToken`). */
  token?: string;
  /** Keys to encrypt for: `https://VAULT:8200/v1/ENGINE/keys/NAME`. */
  keys?: string | string[];
  /** Sent as `X-Vault-Namespace`. */
  namespace?: string;
}

/** What `getToken` may return: a bearer token, `@azure/identity`'s `AccessToken` or MSAL's result. */
export type AzureToken =
  | string
  | { token: string; expiresOnTimestamp?: number }
  | { accessToken: string; expiresOn?: Date | number };

/** How Key Vault is reached. */
export interface AzureKvOptions {
  /**
   * Returns a token for `scopes` (from Key Vault's challenge, e.g.
   * `["https://vault.azure.net/.default"]`) in `tenantId`. Plug in MSAL.js,
   * `@azure/identity` (`credential.getToken(scopes, { tenantId })`) or a pasted token.
   * Without an expiry the token is asked for again after a minute.
   */
  getToken(scopes: string[], tenantId?: string): AzureToken | Promise<AzureToken>;
  /** Keys to encrypt for: `https://VAULT/keys/NAME[/VERSION]` (unversioned: the current version is pinned). */
  keys?: string | string[];
  /**
   * A CORS proxy that replaces the vault's origin in requests, e.g. the URL
   * `leafcrypt kv-proxy` prints. Browsers need one: Key Vault sends no CORS headers, so a
   * direct call fails with an error that says so. Node can call the vault directly.
   */
  endpoint?: string;
  /** Wrap data keys with the vault's `encrypt` instead of locally with its public key. */
  remoteEncrypt?: boolean;
  /** Check that the challenge's resource belongs to the vault host (default `true`). */
  verifyChallengeResource?: boolean;
}

/** How a file is read and written. */
export interface FormatOptions {
  /** The input's format. */
  format: Format;
  /** The output's format (default: `format`), like sops's `--output-type`. */
  outputFormat?: Format;
  /** Indentation of YAML (spaces, default 4) and JSON output (spaces; default a TAB). */
  indent?: number;
}

export interface DecryptOptions extends FormatOptions, KeyOptions {
  /** Return the plaintext even if the MAC does not match (sops's `--ignore-mac`). */
  ignoreMac?: boolean;
  /** Also reject tamperings sops lets through (changed type tags, edited recipients, …). */
  strict?: boolean;
  /** One value only, by sops tree path: `'["db"]["password"]'` (`--extract`). */
  extract?: string;
}

/** Which values are encrypted: at most one selector (default: all but `*_unencrypted`). */
export interface SelectorOptions {
  unencryptedSuffix?: string;
  encryptedSuffix?: string;
  unencryptedRegex?: string;
  encryptedRegex?: string;
  unencryptedCommentRegex?: string;
  encryptedCommentRegex?: string;
}

export interface EncryptOptions extends FormatOptions, KeyOptions, SelectorOptions {
  /** Cover only the encrypted values with the MAC. */
  macOnlyEncrypted?: boolean;
  /**
   * Key groups for Shamir secret sharing (instead of `age.recipients` and `kek`): `age`
   * lists recipients, `pgp` fingerprints (their public keys given in `pgp.publicKeys` or
   * `pgp.privateKeys`), `kek` lists ids of KEKs given in `kek`.
   */
  keyGroups?: Array<{ age?: string[]; pgp?: string[]; kek?: string[]; azureKv?: string[]; awsKms?: string[]; gcpKms?: string[]; hcVault?: string[] }>;
  /** How many groups must open the file (default: all of them). */
  shamirThreshold?: number;
}

export interface RotateOptions extends FormatOptions, KeyOptions {
  addAge?: string | string[];
  removeAge?: string | string[];
  /** Ids of KEKs (given in `kek`) to add to the first key group. */
  addKek?: string | string[];
  removeKek?: string | string[];
  /** PGP fingerprints to add to (public key in `pgp`) or remove from the first key group. */
  addPgp?: string | string[];
  removePgp?: string | string[];
}

/** One key entry of the `sops` block, fields as stored (`recipient`, `enc`, `vault_url`, …). */
export interface KeyEntry {
  /** `age`, `pgp`, `kms`, `gcp_kms`, `hckms`, `azure_kv`, `hc_vault`, `callback_kek`, … */
  kind: string;
  /** The key's public name: age recipient, PGP fingerprint, KMS ARN, Key Vault URL, KEK id. */
  identity: string;
  [field: string]: unknown;
}

/** What `inspect` reports. */
export interface Inspection {
  /** Key groups; a file without Shamir has one. */
  keyGroups: KeyEntry[][];
  /** 0 when not set. */
  shamirThreshold: number;
  /** RFC 3339, as stored. */
  lastModified: string;
  hasMac: boolean;
  selector: { type: string; pattern: string } | null;
  macOnlyEncrypted: boolean;
  /** The sops version that wrote the file. */
  version: string;
}

/** A decrypted value: `bigint` for integers beyond 2^53, `Uint8Array` for non-UTF-8 data. */
export type Plain =
  | null
  | string
  | number
  | bigint
  | boolean
  | Uint8Array
  | Plain[]
  | { [key: string]: Plain };

/** Decrypts a file. Text formats resolve to a string, `binary` output to a `Uint8Array`. */
export function decrypt(input: Input, options: DecryptOptions & { outputFormat: "binary" }): Promise<Uint8Array>;
export function decrypt(input: Input, options: DecryptOptions & { format: "binary"; outputFormat?: undefined }): Promise<Uint8Array>;
export function decrypt(input: Input, options: DecryptOptions): Promise<string>;

/**
 * Decrypts a file to plain JS data (comments dropped, timestamps as RFC 3339 strings): the
 * document's object, or an array of them for multi-document YAML.
 */
export function decryptToObject(input: Input, options: DecryptOptions): Promise<Plain>;

/** Encrypts a plaintext file; resolves to the encrypted file's text. */
export function encrypt(input: Input, options: EncryptOptions): Promise<string>;

/**
 * Rotates the data key (values keep their IVs, as with sops); resolves to the new text.
 * Azure Key Vault entries are wrapped with the key's current version, as the CLI's `rotate`.
 */
export function rotate(input: Input, options: RotateOptions): Promise<string>;

/** Reads an encrypted file's metadata; no key needed. Browsers: `await init()` first. */
export function inspect(input: Input, options: { format: Format }): Inspection;

/** A node of a file's tree as `structure` and `decryptStructure` return it. */
export interface TreeNode {
  /** `value` for scalars, `comment` for comments (map entries or list items). */
  kind: "map" | "list" | "value" | "comment" | "null";
  /**
   * The sops tree path (`["db"]["hosts"][0]`, as `extract` and `setValues` take it); `""`
   * for a document and for map comments. List indices count comments, as in sops.
   */
  path: string;
  /** The key, for map entries. */
  key?: string;
  /** The position, for list items. */
  index?: number;
  /** Maps and lists: their entries, comments included, in file order. */
  children?: TreeNode[];
  /** Values and comments: `str`, `int`, `float`, `bool`, `time`, `comment`, `bytes` (or `unknown`). */
  type?: string;
  /** Values and comments: whether the stored value is an `ENC[AES256_GCM,…]` envelope. */
  encrypted?: boolean;
  /** The envelope, when encrypted. */
  ciphertext?: string;
  /**
   * The plaintext (booleans as `true`/`false`): the stored text of unencrypted values, the
   * decrypted text after `decryptStructure`; absent for encrypted values of `structure`.
   */
  text?: string;
}

/** What `structure` returns: every document's tree (values masked) and the metadata. */
export interface Structure {
  documents: TreeNode[];
  metadata: Inspection;
}

/** What `decryptStructure` returns: the trees with plaintexts and the MAC verdict. */
export interface DecryptedStructure extends Structure {
  /** `mismatch`: the values were changed after encryption (they are still returned). */
  mac: "verified" | "mismatch";
  /** How the MAC failed (no hashes), when it did. */
  macError?: string;
  /** Non-fatal findings, e.g. comments that did not decrypt. */
  warnings: string[];
}

/** One change for `setValues`. */
export interface ValueEdit {
  /** A sops tree path, `'["db"]["password"]'`; missing keys are created. */
  path: string;
  /** The new value; with `type`, its text is parsed as that type (`"42"` as `int`). */
  value?: string | number | bigint | boolean | null;
  type?: "str" | "int" | "float" | "bool" | "time" | "null";
  /** The YAML document (default 0). */
  document?: number;
}

export interface SetValuesOptions extends FormatOptions, KeyOptions {
  edits: ValueEdit[];
}

/**
 * Reads an encrypted file's tree without a key: keys, types, which values are encrypted,
 * unencrypted values' text. Browsers: `await init()` first.
 */
export function structure(input: Input, options: { format: Format }): Structure;

/**
 * Decrypts a file for display. A MAC mismatch does not reject: `mac` says so and the
 * values are still returned. Other failures (`NO_KEY`, `DECRYPT_VALUE`, …) reject.
 */
export function decryptStructure(input: Input, options: DecryptOptions): Promise<DecryptedStructure>;

/**
 * Sets values and re-encrypts the file with its own data key (unchanged values keep their
 * ciphertext, key entries stay, `lastmodified` and the MAC are renewed); resolves to the
 * new file. Rejects with `MAC_MISMATCH` for a tampered file.
 */
export function setValues(input: Input, options: SetValuesOptions): Promise<string>;

export interface EditKeyGroupsOptions extends FormatOptions, KeyOptions {
  /** A key group to append (`kek` entries are ids of KEKs given in `kek`). */
  addGroup?: { age?: string[]; pgp?: string[]; kek?: string[]; azureKv?: string[]; gcpKms?: string[] };
  /** The index of the key group to delete (not the only one). */
  deleteGroup?: number;
  /** The Shamir threshold to store (default: the file's; all groups when it has none). */
  shamirThreshold?: number;
  /**
   * Key Vault entries the file keeps: `"pinned"` (default, as the CLI's `groups`) wraps
   * with their recorded version, `"current"` with the key's current version.
   */
  keyVersions?: "pinned" | "current";
}

/**
 * Adds (`addGroup`) or deletes (`deleteGroup`) a key group, as the CLI's `groups add` /
 * `groups delete`: the same data key is re-split across the new groups; values, MAC and
 * `lastmodified` are untouched. Resolves to the new file.
 */
export function editKeyGroups(input: Input, options: EditKeyGroupsOptions): Promise<string>;

/**
 * Loads the WebAssembly module. Node: nothing to do. Browsers: the async functions call it
 * themselves; pass a URL, `Response`, bytes or `WebAssembly.Module` to load the `.wasm`
 * from elsewhere.
 */
export function init(source?: string | URL | Response | BufferSource | WebAssembly.Module): Promise<void>;

/**
 * The format sops picks for a file name: by extension (case-sensitive, as sops), `binary`
 * otherwise (`.toml`: `toml`, leafcrypt's own). Synchronous: in browsers `await init()` first.
 */
export function formatFromPath(path: string): Format;

/**
 * The format of an encrypted file from its name, else from its content (sops's marks:
 * `{"data", "sops"}` binary, another JSON object, `[sops]` INI/TOML, `sops_mac=` dotenv,
 * `sops:` YAML); `null` when neither tells. Synchronous: in browsers `await init()` first.
 */
export function detectFormat(name: string, content: string | Uint8Array | ArrayBuffer): Format | null;

/** Error codes (`error.code`). */
export type ErrorCode =
  | "MAC_MISMATCH"
  | "NO_KEY"
  | "PARSE"
  | "DECRYPT_VALUE"
  | "METADATA"
  | "METADATA_NOT_FOUND"
  | "ALREADY_ENCRYPTED"
  | "ENCRYPT_TREE"
  | "STRICT"
  | "CONFIG"
  | "TREE_PATH"
  | "EMIT"
  | "INVALID_OPTIONS"
  | "INVALID_INPUT"
  | "NOT_AVAILABLE"
  | "NOT_INITIALIZED";

/** Every failure: a stable `code`, sops's `exitCode` and the key `path` where known. */
export class LeafcryptError extends Error {
  readonly name: "LeafcryptError";
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly path?: string;
}

/** Options of `encryptText` / `decryptText`: the key and how to reach it. */
export interface TextOptions {
  /** `https://VAULT/keys/NAME[/VERSION]`. */
  key: string;
  azureKv: AzureKvOptions;
  /** `decryptText`: return a `Uint8Array` instead of a UTF-8 string. */
  binary?: boolean;
}

/** An `encryptText` result. */
export interface EncryptedText {
  /** `lckv1.<kid>.<wrapped key>.<nonce>.<ciphertext>` (all base64url). */
  ciphertext: string;
  /** The pinned key id `https://VAULT/keys/NAME/VERSION`. */
  kid: string;
  version: string;
}

/** Encrypts data at rest under a Key Vault key without a file (any length; AES-256-GCM envelope). */
export function encryptText(input: Input, options: TextOptions): Promise<EncryptedText>;
/** Decrypts an `encryptText` result made for `options.key`. */
export function decryptText(ciphertext: string, options: TextOptions & { binary: true }): Promise<Uint8Array>;
export function decryptText(ciphertext: string, options: TextOptions): Promise<string>;

#!/usr/bin/env node
// `npx leafcrypt`: decrypt, encrypt, rotate and inspect SOPS files with age keys where the
// native binary is not installed. Identities come from the environment, as with sops.

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { LeafcryptError, decrypt, encrypt, formatFromPath, inspect, rotate } from "../src/node.js";

const USAGE = `Usage: leafcrypt <command> [options] <file>

Commands:
  decrypt   print the plaintext of an encrypted file
  encrypt   encrypt a plaintext file for --age recipients
  rotate    re-encrypt under a new data key (--add-age / --rm-age to change recipients)
  inspect   print the file's metadata as JSON (no key needed)

Options:
  --age R1,R2               age recipients (encrypt)
  --add-age R, --rm-age R   recipients to add or remove (rotate)
  --input-type T            yaml, json, dotenv, ini, binary, or toml (leafcrypt only: sops
                            cannot read TOML) (default: from the extension)
  --output-type T           output format (default: the input type)
  -o, --output FILE         write to FILE instead of stdout
  -i, --in-place            write back to the input file
  --extract PATH            decrypt one value, e.g. '["db"]["password"]'
  --ignore-mac              decrypt even if the MAC does not match
  --encrypted-regex RE      (and --unencrypted-regex, --encrypted-suffix,
                            --unencrypted-suffix, --encrypted-comment-regex,
                            --unencrypted-comment-regex, --mac-only-encrypted)
  --indent N                indentation of YAML/JSON output
  --azure-kv URLS           Azure Key Vault keys https://VAULT/keys/NAME[/VERSION]
                            (encrypt; also $SOPS_AZURE_KEYVAULT_URLS)
  --azure-kv-endpoint URL   send Key Vault requests through this proxy
  --azure-kv-remote-encrypt wrap with the vault's encrypt instead of locally
  --hc-vault-transit URIS   HashiCorp Vault transit keys
                            https://VAULT:8200/v1/ENGINE/keys/NAME (encrypt; also $SOPS_VAULT_URIS)
  -h, --help

Identities: $SOPS_AGE_KEY (identity text), $SOPS_AGE_KEY_FILE (a file), else
$XDG_CONFIG_HOME/sops/age/keys.txt (~/.config/sops/age/keys.txt).
Key Vault tokens: $AZURE_ACCESS_TOKEN (e.g. from \`az account get-access-token
--resource https://vault.azure.net --query accessToken -o tsv\`), else
@azure/identity's DefaultAzureCredential when that package is installed.
Vault tokens: $VAULT_TOKEN, else ~/.vault-token; $VAULT_NAMESPACE is sent as the namespace.
Exit codes are sops's (51: MAC mismatch, 128: no key could decrypt the data key, …).`;

const SELECTORS = {
  "encrypted-regex": "encryptedRegex",
  "unencrypted-regex": "unencryptedRegex",
  "encrypted-suffix": "encryptedSuffix",
  "unencrypted-suffix": "unencryptedSuffix",
  "encrypted-comment-regex": "encryptedCommentRegex",
  "unencrypted-comment-regex": "unencryptedCommentRegex",
};

const OPTIONS = {
  age: { type: "string", multiple: true },
  "add-age": { type: "string", multiple: true },
  "rm-age": { type: "string", multiple: true },
  "input-type": { type: "string" },
  "output-type": { type: "string" },
  output: { type: "string", short: "o" },
  "in-place": { type: "boolean", short: "i" },
  extract: { type: "string" },
  "ignore-mac": { type: "boolean" },
  "mac-only-encrypted": { type: "boolean" },
  indent: { type: "string" },
  "azure-kv": { type: "string", multiple: true },
  "azure-kv-endpoint": { type: "string" },
  "azure-kv-remote-encrypt": { type: "boolean" },
  "hc-vault-transit": { type: "string", multiple: true },
  help: { type: "boolean", short: "h" },
  ...Object.fromEntries(Object.keys(SELECTORS).map((k) => [k, { type: "string" }])),
};

/** Comma-separated lists from repeatable flags. */
const list = (values) => (values ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);

/** The age identity text from the environment, as sops looks for it. */
function identities() {
  const parts = [];
  if (process.env.SOPS_AGE_KEY) parts.push(process.env.SOPS_AGE_KEY);
  if (process.env.SOPS_AGE_KEY_FILE) {
    parts.push(readFileSync(process.env.SOPS_AGE_KEY_FILE, "utf8"));
  } else {
    const base = process.env.XDG_CONFIG_HOME || join(homedir(), ".config");
    const file = join(base, "sops", "age", "keys.txt");
    if (existsSync(file)) parts.push(readFileSync(file, "utf8"));
  }
  return parts.join("\n");
}

/** A Key Vault token: $AZURE_ACCESS_TOKEN, else @azure/identity if it is installed. */
async function getToken(scopes, tenantId) {
  if (process.env.AZURE_ACCESS_TOKEN) return process.env.AZURE_ACCESS_TOKEN.trim();
  let identity;
  try {
    identity = await import("@azure/identity");
  } catch {
    throw new Error(
      "Azure Key Vault needs a token: set AZURE_ACCESS_TOKEN (az account get-access-token " +
        "--resource https://vault.azure.net --query accessToken -o tsv) or install @azure/identity",
    );
  }
  return new identity.DefaultAzureCredential().getToken(scopes, { tenantId });
}

/** A Vault token: $VAULT_TOKEN, else ~/.vault-token (as the Vault CLI writes it). */
function vaultToken() {
  if (process.env.VAULT_TOKEN) return process.env.VAULT_TOKEN.trim();
  const file = join(homedir(), ".vault-token");
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  throw new Error("HashiCorp Vault needs a token: set VAULT_TOKEN or run `vault login` (~/.vault-token)");
}

async function main(argv) {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  const [command, file, ...rest] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  if (!["decrypt", "encrypt", "rotate", "inspect"].includes(command) || !file || rest.length > 0) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const format = values["input-type"] ?? formatFromPath(file);
  const options = {
    format,
    age: { identities: identities() },
    azureKv: {
      getToken,
      endpoint: values["azure-kv-endpoint"],
      remoteEncrypt: values["azure-kv-remote-encrypt"] ?? false,
    },
    hcVault: { getToken: vaultToken, namespace: process.env.VAULT_NAMESPACE || undefined },
  };
  if (values["output-type"]) options.outputFormat = values["output-type"];
  if (values.indent !== undefined) options.indent = Number(values.indent);
  const input = readFileSync(file);

  let out;
  if (command === "inspect") {
    out = `${JSON.stringify(inspect(input, { format }), null, 2)}\n`;
  } else if (command === "decrypt") {
    out = await decrypt(input, { ...options, ignoreMac: values["ignore-mac"] ?? false, extract: values.extract });
  } else if (command === "encrypt") {
    options.age.recipients = list(values.age);
    options.azureKv.keys = list(values["azure-kv"] ?? [process.env.SOPS_AZURE_KEYVAULT_URLS ?? ""]);
    options.hcVault.keys = list(values["hc-vault-transit"] ?? [process.env.SOPS_VAULT_URIS ?? ""]);
    options.macOnlyEncrypted = values["mac-only-encrypted"] ?? false;
    for (const [flag, option] of Object.entries(SELECTORS)) {
      if (values[flag] !== undefined) options[option] = values[flag];
    }
    out = await encrypt(input, options);
  } else {
    out = await rotate(input, { ...options, addAge: list(values["add-age"]), removeAge: list(values["rm-age"]) });
  }
  const target = values["in-place"] ? file : values.output;
  if (target) {
    writeFileSync(target, out);
  } else {
    process.stdout.write(out);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    if (error instanceof LeafcryptError) {
      process.stderr.write(`${error.message}\n`);
      process.exitCode = error.exitCode;
    } else {
      process.stderr.write(`leafcrypt: ${error?.message ?? error}\n`);
      process.exitCode = error?.code === "ENOENT" || error?.code?.startsWith?.("ERR_PARSE_ARGS") ? 2 : 1;
    }
  },
);

// Which SOPS store a file belongs to: from its name when the extension says, else from
// its content.

const BY_EXTENSION = [
  [/\.ya?ml$/i, "yaml"],
  [/\.json$/i, "json"],
  [/\.env$/i, "dotenv"],
  [/\.ini$/i, "ini"],
  // leafcrypt's TOML store (an extension: sops cannot read these files).
  [/\.toml$/i, "toml"],
];

/**
 * The format of an encrypted file, or null when neither the name nor the content tells.
 * @param {string} name the file name ("" for pasted text)
 * @param {string} text the file's content
 * @returns {"yaml" | "json" | "dotenv" | "ini" | "binary" | "toml" | null}
 */
export function detectFormat(name, text) {
  for (const [pattern, format] of BY_EXTENSION) {
    // sops encrypts `.toml` files as binary (JSON): no TOML document starts with `{`.
    if (format === "toml" && text.trimStart().startsWith("{")) continue;
    if (pattern.test(name)) return format;
  }
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{")) {
    try {
      const parsed = JSON.parse(trimmed);
      const keys = parsed && typeof parsed === "object" ? Object.keys(parsed) : [];
      // The binary store writes `{"data": "ENC[…]", "sops": {…}}`.
      const binary = keys.length === 2 && keys.includes("data") && keys.includes("sops");
      return binary ? "binary" : "json";
    } catch {
      return "json"; // let the parser report where it breaks
    }
  }
  // TOML (leafcrypt's own) also has a `[sops]` table, but quotes its strings and writes
  // key groups as `[[sops.age]]`; INI's values are bare.
  if (/^\[\[sops\./m.test(text) || /^\[sops\][ \t]*$[\s\S]*^lastmodified = "/m.test(text)) return "toml";
  if (/^\[sops\][ \t]*$/m.test(text)) return "ini";
  if (/^sops_(version|mac|lastmodified)=/m.test(text)) return "dotenv";
  if (/^sops:[ \t]*$/m.test(text)) return "yaml";
  return null;
}

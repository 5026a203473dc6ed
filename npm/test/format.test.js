// formatFromPath / detectFormat: the core's rule through the package (one copy of it, in
// leafcrypt-core's stores::detect), checked on files the real sops wrote.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { detectFormat, formatFromPath } from "../src/node.js";

const vectors = new URL("../../tests/vectors/", import.meta.url);

test("formatFromPath: by extension, case-sensitive as sops", () => {
  assert.equal(formatFromPath("a/b.yaml"), "yaml");
  assert.equal(formatFromPath("b.yml"), "yaml");
  assert.equal(formatFromPath("b.YAML"), "binary");
  assert.equal(formatFromPath("x.json"), "json");
  assert.equal(formatFromPath("x.env"), "dotenv");
  assert.equal(formatFromPath("x.ini"), "ini");
  assert.equal(formatFromPath("x.toml"), "toml");
  assert.equal(formatFromPath("x.bin"), "binary");
});

test("detectFormat: the name first, then sops's marks in the content", () => {
  const binary = '{"data":"ENC[x]","sops":{}}';
  assert.equal(detectFormat("a.yaml", "{}"), "yaml");
  assert.equal(detectFormat("blob.bin", binary), "binary");
  assert.equal(detectFormat("a.YML", binary), "binary");
  assert.equal(detectFormat("c.toml", binary), "binary");
  assert.equal(detectFormat("", '{"a":1,"sops":{}}'), "json");
  assert.equal(detectFormat("", "a: 1\nsops:\n    version: 3.11.0\n"), "yaml");
  assert.equal(detectFormat("", "A=1\nsops_version=3.11.0\n"), "dotenv");
  assert.equal(detectFormat("", "[s]\na = 1\n[sops]\nversion = 3.11.0\n"), "ini");
  assert.equal(detectFormat("notes.txt", "hello"), null);
  assert.equal(detectFormat("", new TextEncoder().encode("a: 1\nsops:\n")), "yaml");
});

test("detectFormat: sops's own files, named and unnamed", () => {
  for (const [file, format] of [
    ["yaml/encrypted.yaml", "yaml"],
    ["json/encrypted.json", "json"],
    ["dotenv/encrypted.env", "dotenv"],
    ["ini/encrypted.ini", "ini"],
    ["binary/encrypted.bin", "binary"],
  ]) {
    const content = readFileSync(new URL(file, vectors));
    assert.equal(detectFormat(file, content), format, file);
    assert.equal(detectFormat("", content), format, `${file} without its name`);
  }
});

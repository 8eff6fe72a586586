// The benchmark's audit run (bench/plan.mjs): bundled with bakeplan's source into
// .bench/audit-dist/ (scripts/build-dist.mjs's options), so the hooks below reach the very
// liquidjs Parser and TemplateCompiler the CLI uses, then run as `node .bench/audit-dist/bin.js
// plan ...`. Counts file reads and writes per path and template parses (bakeplan's and
// liquidjs's), and writes them as JSON to $BENCH_AUDIT_FILE when the process exits. Not used for
// timing.

import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import { resolve } from "node:path";
import { TemplateCompiler } from "../src/render/compile.ts";
import { main } from "../src/bin.ts";

const reads = new Map();
const writes = new Map();
const renames = new Map();
const parses = [];
const bump = (map, p) => map.set(p, (map.get(p) ?? 0) + 1);
const key = (p) => (typeof p === "string" ? resolve(p) : String(p));

const { readFileSync, writeFileSync: originalWrite, renameSync } = fs;
// A read is counted when it returns: probing for a file that is not there reads nothing.
fs.readFileSync = function (p, ...rest) {
  const out = readFileSync.call(this, p, ...rest);
  bump(reads, key(p));
  return out;
};
fs.writeFileSync = function (p, ...rest) {
  bump(writes, key(p));
  return originalWrite.call(this, p, ...rest);
};
fs.renameSync = function (from, to) {
  bump(renames, key(to));
  return renameSync.call(this, from, to);
};
syncBuiltinESMExports();

// The same require() as src/render/liquidjs.ts, so the bundle holds one copy of liquidjs.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
const { Parser } = require("liquidjs");
const parse = Parser.prototype.parse;
Parser.prototype.parse = function (html, filepath) {
  parses.push(filepath);
  return parse.call(this, html, filepath);
};
// Templates bakeplan compiles are parsed by its own parser, liquidjs's only for what it renders.
const parseFile = TemplateCompiler.prototype.parseFile;
TemplateCompiler.prototype.parseFile = function (template) {
  parses.push(template);
  return parseFile.call(this, template);
};

process.on("exit", () => {
  originalWrite(
    process.env.BENCH_AUDIT_FILE,
    JSON.stringify({ reads: [...reads], writes: [...writes], renames: [...renames], parses }),
  );
});
process.exitCode = await main(process.argv);

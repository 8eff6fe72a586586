#!/usr/bin/env node
// Planning benchmark: `npm run bench` (builds dist/ first). Prints figures; asserts nothing.
//
// For synthetic matrices of 10, 100, 1,000 and 5,000 variants and one shaped like Dynamo's real
// matrix (396 variants, 239 Dockerfiles; see bench/generate.mjs), side by side in one run:
//   - `bakeplan plan` (compiled dist/, as a child process): wall time, peak RSS, and the stage
//     timings it prints with --verbose; the first run writes everything, the second changes nothing
//   - `docker buildx bake --print` on the same targets written with bake's own `matrix`
//   - `node -e 0` and `bakeplan plan` on the bundled example, for the startup ratio, and the steps of
//     start-up: each library alone, bakeplan's CLI module, --version
// and an audit run (bench/audit.mjs) that counts template parses and file reads and writes.
//
// Options: --sizes 10,100,1000,5000,dynamo,5000b  --reps N (default 15 at 10 and 100, 5 at 1,000
// and dynamo, 3 at 5,000)  --json FILE  --profile SIZE (only: one plan of SIZE under node
// --cpu-prof, and the functions with the most self time)  --labels 10000,100000 (context.yaml
// size: a plan of a small matrix whose context.yaml has that many labels; "" skips it)
// bakeplan's up-to-date state goes to .bench/state (BAKEPLAN_CACHE_DIR), not the user's cache.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import os from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { bundle } from "../scripts/build-dist.mjs";
import { copyBundled, expectedCounts, generate, REPO, SHAPES } from "./generate.mjs";

const BIN = join(REPO, "bin", "bakeplan.js");
const WORK = join(REPO, ".bench");
const TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const SIZES = option("sizes", "10,100,1000,5000,dynamo,5000b").split(",");
const STATE_DIR = join(WORK, "state");
const REPS = option("reps") === undefined ? undefined : Number(option("reps"));
const JSON_OUT = option("json", join(WORK, "results.json"));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : "–");
const mb = (kb) => (Number.isFinite(kb) ? (kb / 1024).toFixed(0) : "–");
const int = (n) => n.toLocaleString("en-US");

/**
 * Runs a command; wall time measured here, peak RSS by /usr/bin/time (or, without it, by a
 * wrapper that runs bakeplan in-process and reads process.resourceUsage().maxRSS).
 */
function measure(cmd, args, opts = {}) {
  const argv = TIME ? [TIME, "-f", "BENCH_TIME %e %M", cmd, ...args] : [cmd, ...args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), {
    cwd: opts.cwd ?? REPO,
    encoding: "utf8",
    maxBuffer: 1 << 30,
    env: { ...process.env, BAKEPLAN_CACHE_DIR: STATE_DIR, ...opts.env },
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const stderr = r.stderr ?? "";
  const m = /BENCH_TIME [\d.]+ (\d+)/.exec(stderr);
  const rssKb = m ? Number(m[1]) : Number(/BENCH_RSS (\d+)/.exec(stderr)?.[1] ?? NaN);
  if (r.status !== 0 && !opts.allowFail)
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}:\n${stderr.slice(-2000)}`);
  return { wall, rssKb, stdout: r.stdout ?? "", stderr, status: r.status };
}

const RSS_WRAPPER = `const { main } = await import(${JSON.stringify(join(REPO, "dist", "bin.js"))}); process.exitCode = await main(process.argv); process.on("exit", () => process.stderr.write("BENCH_RSS " + process.resourceUsage().maxRSS + "\\n"));`;

function bakeplan(args, cwd) {
  if (TIME) return measure("node", [BIN, ...args], { cwd });
  return measure("node", ["--input-type=module", "-e", RSS_WRAPPER, "bakeplan", ...args], { cwd });
}

/** Stage timings from `--verbose`: "bakeplan: timings (ms): load+validate 1.0, expand ..." and "bakeplan: write 1.0 ms". */
function stages(stderr) {
  const out = {};
  const line = /bakeplan: timings \(ms\): (.*)/.exec(stderr)?.[1] ?? "";
  for (const part of line.split(", ")) {
    const m = /^(.+) ([\d.]+)$/.exec(part.trim());
    if (m) out[m[1]] = Number(m[2]);
  }
  const w = /bakeplan: write ([\d.]+) ms/.exec(stderr);
  if (w) out.write = Number(w[1]);
  return out;
}

/** "bakeplan: start 250.1 ms": from the process start to planning (Node, modules, the up-to-date check). */
function startMs(stderr) {
  return Number(/bakeplan: start ([\d.]+) ms/.exec(stderr)?.[1] ?? NaN);
}

function written(stdout) {
  return Number(/files: (\d+) written/.exec(stdout)?.[1] ?? NaN);
}

function clean(dir) {
  rmSync(join(dir, "bake"), { recursive: true, force: true });
  rmSync(join(dir, "docker-bake.json"), { force: true });
}

function buildxVersion() {
  const r = spawnSync("docker", ["buildx", "version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function lineCounts(dir, bakeJson) {
  const bake = JSON.parse(readFileSync(bakeJson, "utf8"));
  const linesOf = new Map();
  for (const f of readdirSync(join(dir, "bake"))) {
    const text = readFileSync(join(dir, "bake", f), "utf8");
    linesOf.set(`bake/${f}`, text.split("\n").length - 1);
  }
  const perVariant = Object.values(bake.target).map((t) => linesOf.get(t.dockerfile));
  const files = [...linesOf.values()];
  return {
    variants: perVariant.length,
    files: files.length,
    renderedLines: perVariant.reduce((a, b) => a + b, 0),
    writtenLines: files.reduce((a, b) => a + b, 0),
    minLines: Math.min(...files),
    maxLines: Math.max(...files),
  };
}

function machine() {
  const cpus = os.cpus();
  const osRelease = existsSync("/etc/os-release")
    ? /PRETTY_NAME="([^"]*)"/.exec(readFileSync("/etc/os-release", "utf8"))?.[1]
    : undefined;
  return {
    cpu: `${cpus.length} x ${cpus[0]?.model?.trim() ?? "unknown CPU"}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
    os: `${osRelease ?? os.type()} (kernel ${os.release()})`,
    node: process.version,
    buildx: buildxVersion() ?? "buildx not available",
    loadavg: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(" "),
  };
}

// --- runs -----------------------------------------------------------------------------------------

/** Each library alone, bundled as bakeplan bundles it (scripts/build-dist.mjs), to time its load. */
const LIBRARIES = { commander: "commander", yaml: "yaml", zod: "zod", liquidjs: "liquidjs" };

async function libraryBundles() {
  const dir = join(WORK, "libraries");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const esbuild = await import(pathToFileURL(join(REPO, "node_modules/esbuild/lib/main.js")).href);
  const files = {};
  for (const [name, specifier] of Object.entries(LIBRARIES)) {
    const entry = join(dir, `${name}-entry.mjs`);
    // As src/ loads each: zod and yaml as namespaces (shaken to what is used: here, nothing is
    // shaken, so zod's figure is its whole classic API), liquidjs by require().
    writeFileSync(
      entry,
      name === "liquidjs"
        ? `globalThis.lib = require(${JSON.stringify(specifier)});\n`
        : `import * as lib from ${JSON.stringify(specifier)};\nglobalThis.lib = lib;\n`,
    );
    files[name] = join(dir, `${name}.mjs`);
    await esbuild.build({
      absWorkingDir: REPO,
      entryPoints: [entry],
      outfile: files[name],
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20.19",
      logLevel: "warning",
      banner: { js: 'import { createRequire } from "node:module"; const require = createRequire(import.meta.url);' },
    });
  }
  return files;
}

async function startupRun(reps) {
  const dir = join(WORK, "bundled");
  copyBundled(dir);
  const cfg = join(dir, "context.yaml");
  bakeplan(["plan", "--config", cfg], dir); // warm the disk cache
  const libs = await libraryBundles();
  const runs = {
    node0: [],
    bin: [],
    version: [],
    first: [],
    repeat: [],
    ...Object.fromEntries(Object.keys(libs).map((l) => [l, []])),
  };
  const stageRuns = [];
  for (let i = 0; i < reps; i++) {
    runs.node0.push(measure("node", ["-e", "0"]).wall);
    runs.bin.push(
      measure("node", ["--input-type=module", "-e", `await import(${JSON.stringify(join(REPO, "dist", "bin.js"))})`])
        .wall,
    );
    runs.version.push(bakeplan(["--version"], dir).wall);
    for (const [name, file] of Object.entries(libs)) runs[name].push(measure("node", [file]).wall);
    clean(dir);
    const first = bakeplan(["plan", "--config", cfg, "--verbose"], dir);
    runs.first.push(first.wall);
    stageRuns.push({ start: startMs(first.stderr), ...stages(first.stderr) });
    runs.repeat.push(bakeplan(["plan", "--config", cfg], dir).wall);
  }
  const out = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)]));
  const stageNames = [...new Set(stageRuns.flatMap((s) => Object.keys(s)))];
  out.stages = Object.fromEntries(
    stageNames.map((n) => [n, median(stageRuns.map((s) => s[n]).filter(Number.isFinite))]),
  );
  out.libraries = Object.keys(libs);
  return { ...out, reps };
}

function sizeRun(size, buildx) {
  const shape = SHAPES[size];
  if (!shape) throw new Error(`unknown size ${size}; one of ${Object.keys(SHAPES).join(", ")}`);
  const dir = join(WORK, `plan-${size}`);
  generate(dir, shape);
  const cfg = join(dir, "context.yaml");
  // The linearity goal divides by the 10- and 100-variant runs' difference: more repetitions there.
  const reps = REPS ?? (size.startsWith("5000") ? 3 : size === "10" || size === "100" ? 15 : 5);
  const runs = { first: [], incremental: [], replan: [], buildx: [] };
  for (let i = 0; i < reps; i++) {
    clean(dir);
    const a = bakeplan(["plan", "--config", cfg, "--verbose"], dir);
    runs.first.push({
      wall: a.wall,
      rssKb: a.rssKb,
      stages: stages(a.stderr),
      start: startMs(a.stderr),
      written: written(a.stdout),
    });
    const b = bakeplan(["plan", "--config", cfg, "--verbose"], dir);
    runs.incremental.push({ wall: b.wall, rssKb: b.rssKb, stages: stages(b.stderr), written: written(b.stdout) });
    // The full plan again, without the up-to-date state: renders and compares everything, writes nothing.
    const c = measure("node", [BIN, "plan", "--config", cfg], { cwd: dir, env: { BAKEPLAN_NO_CACHE: "1" } });
    runs.replan.push({ wall: c.wall, written: written(c.stdout) });
    if (buildx && !shape.trim) {
      const x = measure("docker", ["buildx", "bake", "--print", "-f", "docker-bake.hcl"], { cwd: dir });
      const printed = JSON.parse(x.stdout);
      runs.buildx.push({ wall: x.wall, rssKb: x.rssKb, targets: Object.keys(printed.target ?? {}).length });
    }
  }
  const counts = lineCounts(dir, join(dir, "docker-bake.json"));
  const expected = expectedCounts(shape);
  if (counts.variants !== expected.variants || counts.files !== expected.files)
    throw new Error(
      `size ${size}: expected ${expected.variants} variants / ${expected.files} files, got ${counts.variants} / ${counts.files}`,
    );
  const stageNames = [...new Set(runs.first.flatMap((r) => Object.keys(r.stages)))];
  const med = (list, f) => median(list.map(f));
  return {
    size,
    reps,
    ...counts,
    first: {
      wall: med(runs.first, (r) => r.wall),
      rssKb: med(runs.first, (r) => r.rssKb),
      start: med(runs.first, (r) => r.start),
      written: med(runs.first, (r) => r.written),
      stages: Object.fromEntries(stageNames.map((s) => [s, med(runs.first, (r) => r.stages[s] ?? 0)])),
    },
    incremental: {
      wall: med(runs.incremental, (r) => r.wall),
      rssKb: med(runs.incremental, (r) => r.rssKb),
      written: Math.max(...runs.incremental.map((r) => r.written)),
    },
    replan: { wall: med(runs.replan, (r) => r.wall), written: Math.max(...runs.replan.map((r) => r.written)) },
    buildx: runs.buildx.length
      ? {
          wall: med(runs.buildx, (r) => r.wall),
          rssKb: med(runs.buildx, (r) => r.rssKb),
          targets: runs.buildx[0].targets,
        }
      : undefined,
  };
}

/** One plan under bench/audit.mjs: parses per template file, files read more than once, writes per file, duplicate contents. */
async function auditRun(size) {
  const dir = join(WORK, `plan-${size}`);
  clean(dir);
  const auditFile = join(WORK, "audit.json");
  const auditDist = join(WORK, "audit-dist");
  await bundle(REPO, "bench/audit.mjs", auditDist);
  const audited = () => {
    measure("node", [join(auditDist, "bin.js"), "plan", "--config", join(dir, "context.yaml")], {
      cwd: dir,
      env: { BENCH_AUDIT_FILE: auditFile },
    });
    const a = JSON.parse(readFileSync(auditFile, "utf8"));
    // Only the project's files: not bakeplan's own modules, nor its up-to-date state (kept outside the project).
    const inProject = ([p]) => p.startsWith(dir + "/");
    return {
      ...a,
      reads: a.reads.filter(inProject),
      writes: a.writes.filter(inProject),
      renames: a.renames.filter(inProject),
    };
  };
  const audit = audited();
  const templates = readdirSync(join(dir, "templates")).length;
  // Parses without a file are the names of `{% include 'name' %}` tags, parsed with their tag.
  const parsesPerFile = new Map();
  for (const p of audit.parses) if (p) parsesPerFile.set(p, (parsesPerFile.get(p) ?? 0) + 1);
  const rereads = audit.reads.filter(([, n]) => n > 1);
  const outputs = audit.renames.map(([p]) => p);
  const rewritten = audit.renames.filter(([, n]) => n > 1);
  const hashes = new Set(
    readdirSync(join(dir, "bake")).map((f) =>
      createHash("sha256")
        .update(readFileSync(join(dir, "bake", f)))
        .digest("hex"),
    ),
  );
  const dockerfiles = readdirSync(join(dir, "bake")).length;
  // The second run: nothing changed, so nothing is written.
  const audit2 = audited();
  return {
    templates,
    parses: audit.parses.filter(Boolean).length,
    includeNameParses: audit.parses.filter((p) => !p).length,
    maxParsesPerTemplate: Math.max(...parsesPerFile.values()),
    rereads: rereads.length,
    filesRead: audit.reads.length,
    outputsWritten: outputs.length,
    maxWritesPerOutput: Math.max(0, ...audit.renames.map(([, n]) => n)),
    rewritten: rewritten.length,
    dockerfiles,
    distinctContents: hashes.size,
    incrementalWrites: audit2.renames.length,
  };
}

// --- report ---------------------------------------------------------------------------------------

function label(s) {
  if (s.size === "dynamo") return `${int(s.variants)} (Dynamo shape)`;
  if (s.size === "5000b") return `${int(s.variants)} (3 targets per Dockerfile)`;
  return int(s.variants);
}

function report(results) {
  const { machine: m, startup, sizes, audit } = results;
  const out = [];
  const p = (s = "") => out.push(s);
  p(`Machine: ${m.cpu}, ${m.memory}, ${m.os}, Node ${m.node}; ${m.buildx}`);
  p(
    `Load average at start: ${m.loadavg}; at end: ${results.loadavgEnd}. Medians of the repetitions shown; wall times include process start.`,
  );
  p();
  p(`Startup (bundled example, ${startup.reps} runs each, interleaved):`);
  p(
    `| \`node -e 0\` | \`bakeplan plan\` (fresh: bake/ removed) | ratio | \`bakeplan plan\` (nothing changed) | ratio |`,
  );
  p(`|---:|---:|---:|---:|---:|`);
  p(
    `| ${ms(startup.node0)} ms | ${ms(startup.first)} ms | ${(startup.first / startup.node0).toFixed(2)}x | ${ms(startup.repeat)} ms | ${(startup.repeat / startup.node0).toFixed(2)}x |`,
  );
  p();
  p("Start-up, step by step (medians, ms; each library bundled alone as bakeplan bundles it, whole):");
  p(`| step | wall ms | over \`node -e 0\` |`);
  p(`|---|---:|---:|`);
  const over = (x) => `${x - startup.node0 >= 0 ? "+" : ""}${ms(x - startup.node0)}`;
  p(`| \`node -e 0\` | ${ms(startup.node0)} | |`);
  for (const lib of startup.libraries) p(`| ${lib} alone, loaded | ${ms(startup[lib])} | ${over(startup[lib])} |`);
  p(`| dist/bin.js imported (bakeplan's CLI and commander) | ${ms(startup.bin)} | ${over(startup.bin)} |`);
  p(`| \`bakeplan --version\` | ${ms(startup.version)} | ${over(startup.version)} |`);
  p(`| \`bakeplan plan\`, nothing changed | ${ms(startup.repeat)} | ${over(startup.repeat)} |`);
  p(`| \`bakeplan plan\`, fresh | ${ms(startup.first)} | ${over(startup.first)} |`);
  p(
    `| of which (\`--verbose\`): ${Object.entries(startup.stages)
      .map(([k, v]) => `${k} ${ms(v)}`)
      .join(", ")} | | |`,
  );
  p();
  const stageNames = [...new Set(sizes.flatMap((s) => Object.keys(s.first.stages)))];
  p(`\`bakeplan plan\` (first run: bake/ and docker-bake.json removed before each repetition):`);
  p(
    `| variants | Dockerfiles | lines rendered (per variant) | lines written | wall ms | peak RSS MB | start | ${stageNames.join(" | ")} | in-process ms per variant | reps |`,
  );
  p(`|${"---:|".repeat(9 + stageNames.length)}`);
  for (const s of sizes) {
    const inproc = Object.values(s.first.stages).reduce((a, b) => a + b, 0);
    p(
      `| ${label(s)} | ${int(s.files)} | ${int(s.renderedLines)} (${Math.round(s.renderedLines / s.variants)}) | ${int(s.writtenLines)} | ${ms(s.first.wall)} | ${mb(s.first.rssKb)} | ${ms(s.first.start)} | ${stageNames.map((n) => ms(s.first.stages[n])).join(" | ")} | ${(inproc / s.variants).toFixed(3)} | ${s.reps} |`,
    );
  }
  p();
  p(`Against the alternative, and the incremental run:`);
  p(
    `| variants | \`bakeplan plan\` wall ms | \`docker buildx bake --print\` (bake \`matrix\`) wall ms | bakeplan / buildx | buildx peak RSS MB | second \`plan\`, nothing changed: wall ms | files written | second / first | full plan over the existing files (BAKEPLAN_NO_CACHE=1): wall ms | its / buildx |`,
  );
  p(`|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|`);
  for (const s of sizes) {
    const bx = s.buildx;
    p(
      `| ${label(s)} | ${ms(s.first.wall)} | ${bx ? ms(bx.wall) : results.buildx ? "n/a (its excludes have no bake-matrix form)" : "buildx not available"} | ${bx ? `${(s.first.wall / bx.wall).toFixed(2)}x` : "–"} | ${bx ? mb(bx.rssKb) : "–"} | ${ms(s.incremental.wall)} | ${s.incremental.written} | ${((100 * s.incremental.wall) / s.first.wall).toFixed(0)}% | ${ms(s.replan.wall)} (${s.replan.written} written) | ${bx ? `${(s.replan.wall / bx.wall).toFixed(2)}x` : "–"} |`,
    );
  }
  p();
  if (audit) {
    p(
      `Audit (Dynamo shape, bench/audit.mjs): ${audit.parses} template parses for ${audit.templates} template files (at most ${audit.maxParsesPerTemplate} per file; plus ${audit.includeNameParses} parses of include-tag file names); ` +
        `${audit.filesRead} files read, ${audit.rereads} of them more than once; ${audit.outputsWritten} outputs written, at most ${audit.maxWritesPerOutput} time(s) each; ` +
        `${audit.dockerfiles} Dockerfiles for ${audit.distinctContents} distinct contents; second run wrote ${audit.incrementalWrites} files.`,
    );
    p();
  }
  p("Goals:");
  for (const g of goals(results)) p(`- [${g.met ? "x" : " "}] ${g.text}`);
  return out.join("\n");
}

function goals({ startup, sizes, audit }) {
  const by = Object.fromEntries(sizes.map((s) => [s.size, s]));
  const list = [];
  list.push({
    met: startup.first <= 2.5 * startup.node0,
    text: `bundled example, fresh plan, at most 2.5x \`node -e 0\`: ${(startup.first / startup.node0).toFixed(2)}x`,
  });
  list.push({
    met: startup.repeat <= 1.3 * startup.node0,
    text: `bundled example, nothing changed, at most 1.3x \`node -e 0\`: ${(startup.repeat / startup.node0).toFixed(2)}x`,
  });
  if (by.dynamo)
    list.push({
      met: by.dynamo.first.wall <= 4 * startup.node0,
      text: `Dynamo shape (${by.dynamo.variants} variants, ${by.dynamo.files} Dockerfiles, ${int(by.dynamo.renderedLines)} rendered lines), cold from an empty output, at most 4x \`node -e 0\`: ${ms(by.dynamo.first.wall)} ms, ${(by.dynamo.first.wall / startup.node0).toFixed(2)}x`,
    });
  if (by[5000]?.buildx)
    list.push({
      met: by[5000].first.wall <= 0.1 * by[5000].buildx.wall,
      text: `5,000 variants at most 0.1x \`docker buildx bake --print\` on the same matrix: ${ms(by[5000].first.wall)} ms vs ${ms(by[5000].buildx.wall)} ms, ${(by[5000].first.wall / by[5000].buildx.wall).toFixed(2)}x`,
    });
  if (by[5000])
    list.push({
      met: by[5000].first.rssKb <= 200 * 1024,
      text: `peak RSS at 5,000 variants at most 200 MB: ${mb(by[5000].first.rssKb)} MB`,
    });
  const inproc = (s) => Object.values(s.first.stages).reduce((a, b) => a + b, 0);
  if (by[100] && by[5000]) {
    const base = by[10] ?? { variants: 0, first: { stages: {} } };
    const marginal = (s) => (inproc(s) - inproc(base)) / (s.variants - base.variants);
    const r = marginal(by[5000]) / marginal(by[100]);
    const at1000 = by[1000] ? `, ${marginal(by[1000]).toFixed(3)} ms at 1,000` : "";
    list.push({
      met: Math.abs(r - 1) <= 0.25,
      text: `linear: marginal in-process cost per variant (over the ${base.variants}-variant run) ${marginal(by[100]).toFixed(3)} ms at 100${at1000}, ${marginal(by[5000]).toFixed(3)} ms at 5,000 (${r >= 1 ? "+" : ""}${((r - 1) * 100).toFixed(0)}% against 100)`,
    });
  }
  if (by[1000]?.buildx)
    list.push({
      met: by[1000].first.wall < by[1000].buildx.wall,
      text: `ahead of \`docker buildx bake --print\` at 1,000 variants: ${ms(by[1000].first.wall)} ms vs ${ms(by[1000].buildx.wall)} ms (over the existing files, writing none: ${ms(by[1000].replan.wall)} ms)`,
    });
  if (audit)
    list.push({
      met:
        audit.maxParsesPerTemplate === 1 &&
        audit.rereads === 0 &&
        audit.dockerfiles === audit.distinctContents &&
        audit.maxWritesPerOutput <= 1 &&
        audit.incrementalWrites === 0,
      text: `each template parsed once, no file read twice, identical content written once, unchanged files not rewritten`,
    });
  const worst = sizes.reduce((w, s) => Math.max(w, s.incremental.wall / s.first.wall), 0);
  list.push({ met: worst < 0.6, text: `incremental run under 60% of the first: at most ${(worst * 100).toFixed(0)}%` });
  return list;
}

/** One fresh plan of `size` under --cpu-prof: the functions with the most self time, and the total. */
function profileRun(size) {
  const dir = join(WORK, `plan-${size}`);
  generate(dir, SHAPES[size]);
  clean(dir);
  const out = join(WORK, "profiles");
  rmSync(out, { recursive: true, force: true });
  const r = measure(
    "node",
    [
      "--cpu-prof",
      "--cpu-prof-dir",
      out,
      "--cpu-prof-interval",
      "250",
      BIN,
      "plan",
      "--config",
      join(dir, "context.yaml"),
      "--verbose",
    ],
    { cwd: dir, env: { BAKEPLAN_NO_CACHE: "1" } },
  );
  const file = join(out, readdirSync(out)[0]);
  const p = JSON.parse(readFileSync(file, "utf8"));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  p.samples.forEach((id, i) => {
    const f = byId.get(id).callFrame;
    const url = f.url.includes("/node_modules/")
      ? f.url.slice(f.url.lastIndexOf("/node_modules/") + 14)
      : f.url.replace(`file://${REPO}/`, "");
    const key = `${f.functionName || "(anonymous)"} ${url}${f.url ? `:${f.lineNumber + 1}` : ""}`;
    self.set(key, (self.get(key) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const lines = [
    `Profile of one fresh \`bakeplan plan\` at size ${size} (node --cpu-prof, ${file}); wall ${ms(r.wall)} ms, ${ms(total / 1000)} ms sampled:`,
    r.stderr.replace(/^BENCH_TIME.*\n?/m, "").trim(),
    "",
    "| self ms | share | function |",
    "|---:|---:|---|",
  ];
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25))
    lines.push(`| ${ms(v / 1000)} | ${((100 * v) / total).toFixed(1)}% | \`${k}\` |`);
  return lines.join("\n");
}

/**
 * Cost in the size of context.yaml: a 2 x 2 matrix whose defaults carry `n` labels of ~100 bytes
 * (100,000 labels is a 12 MB file; issue 10: near-linear, seconds, not minutes).
 */
function labelsRun(n) {
  const dir = join(WORK, `labels-${n}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "templates"), { recursive: true });
  const labels = Array.from(
    { length: n },
    (_, i) =>
      `    org.example.label${String(i).padStart(6, "0")}: "value number ${i} of the big label set for a test xxxxxxxxxxxxxxxxxxxxxxxxxxxx"\n`,
  ).join("");
  const yaml = `project:\n  name: demo\naxes:\n  framework: [vllm, sglang]\n  target: [runtime, dev]\nstage_axis: target\ndefaults:\n  platforms: [linux/amd64]\n  labels:\n${labels}publish:\n  registry: registry.example.com\n  repository: demo/app\n  tags: ["{name}"]\n`;
  writeFileSync(join(dir, "context.yaml"), yaml);
  writeFileSync(join(dir, "templates", "Dockerfile.liquid"), "FROM scratch AS runtime\nFROM runtime AS dev\n");
  const r = measure("node", [BIN, "plan"], { cwd: dir, env: { BAKEPLAN_NO_CACHE: "1" } });
  return { labels: n, bytes: Buffer.byteLength(yaml), wall: r.wall, rssKb: r.rssKb };
}

function labelsReport(rows) {
  const lines = [
    "",
    "## Cost in the size of context.yaml",
    "",
    "| labels | context.yaml | plan wall ms | peak RSS MB | µs per label |",
    "|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows)
    lines.push(
      `| ${int(r.labels)} | ${(r.bytes / 1e6).toFixed(1)} MB | ${ms(r.wall)} | ${mb(r.rssKb)} | ${((r.wall * 1000) / r.labels).toFixed(0)} |`,
    );
  return lines.join("\n");
}

// --- main -----------------------------------------------------------------------------------------

if (!existsSync(join(REPO, "dist", "bin.js")))
  throw new Error("dist/ is missing: run `npm run build` (npm run bench builds first)");
mkdirSync(WORK, { recursive: true });
rmSync(STATE_DIR, { recursive: true, force: true });
if (option("profile")) {
  process.stdout.write(`${profileRun(option("profile"))}\n`);
  process.exit(0);
}
const results = { machine: machine(), command: `node bench/plan.mjs ${process.argv.slice(2).join(" ")}`.trim() };
const buildx = results.machine.buildx !== "buildx not available";
results.buildx = buildx;
process.stderr.write(`bench: startup ...\n`);
results.startup = await startupRun(REPS ?? 15);
results.sizes = [];
for (const size of SIZES) {
  process.stderr.write(`bench: ${size} ...\n`);
  results.sizes.push(sizeRun(size, buildx));
}
if (SIZES.includes("dynamo")) results.audit = await auditRun("dynamo");
results.labels = [];
for (const n of option("labels", "10000,100000").split(",").filter(Boolean)) {
  process.stderr.write(`bench: ${n} labels ...\n`);
  results.labels.push(labelsRun(Number(n)));
}
results.loadavgEnd = os
  .loadavg()
  .map((x) => x.toFixed(2))
  .join(" ");
writeFileSync(JSON_OUT, `${JSON.stringify(results, null, 2)}\n`);
const table = report(results) + labelsReport(results.labels);
writeFileSync(join(WORK, "results.md"), `${table}\n`);
process.stdout.write(`${table}\n`);

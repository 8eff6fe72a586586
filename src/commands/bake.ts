import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import type { Output, PlanCommandOptions } from "../cli.js";
import { BuildxError, UsageError } from "../errors.js";
import { bakeArgv, checkCacheExport, probeBuildx, runDocker, shellQuote } from "../io/buildx.js";
import { displayPath } from "../io/project-files.js";
import { parsePlainProgress, RawProgress, type Progress } from "../io/progress.js";
import { writePlan } from "../io/write-plan.js";
import { selectVariants } from "../matrix/expand.js";
import { cacheRefs } from "../plan/naming.js";
import type { Plan } from "../plan/plan.js";
import type { ProjectFiles } from "../io/project-files.js";
import { didYouMean } from "../text.js";
import { bakeFilePath, planProject } from "./shared.js";
import { table } from "./table.js";

export interface BakeOptions extends PlanCommandOptions {
  targets: string[];
  out?: string;
  push: boolean;
  load: boolean;
  builder?: string;
  dryRun: boolean;
  metadataFile?: string;
  cacheWarm: boolean;
  /** One `buildx bake` per target instead of one for all (docker/buildx#414). */
  oneByOne?: boolean;
  /** Arguments after `--`, passed to buildx as they are. */
  extra: string[];
}

// bake `network` and `--call` (lint) are the newest features a plan uses; 0.17 also brought --allow.
const MIN_BUILDX: [number, number, number] = [0, 17, 0];

/** Target names to build: positional targets/groups plus --only selectors; the `default` group when none. */
export function selectTargets(
  plan: Plan,
  files: ProjectFiles,
  names: string[],
  only: string[],
): { args: string[]; targets: string[] } {
  const all = plan.targets.map((t) => t.variant.name);
  const targets = new Set<string>();
  for (const name of names) {
    const group = plan.groups.get(name);
    if (group) group.forEach((t) => targets.add(t));
    else if (all.includes(name)) targets.add(name);
    else {
      const hint = didYouMean(name, [...all, ...plan.groups.keys()]);
      throw new UsageError(
        `Unknown target or group "${name}".${hint ? ` Did you mean "${hint}"?` : ""}\nTargets: ${all.join(", ")}\nGroups: ${[...plan.groups.keys()].join(", ")}`,
      );
    }
  }
  if (only.length > 0) {
    const picked = selectVariants(plan.matrix.variants, only, plan.groups, files.project).map((v) => v.name);
    picked.forEach((t) => targets.add(t));
    return {
      args: [...new Set([...names.filter((n) => !plan.groups.has(n)), ...picked])].sort(),
      targets: [...targets].sort(),
    };
  }
  if (names.length === 0) return { args: ["default"], targets: [...(plan.groups.get("default") ?? all)] };
  return { args: names, targets: [...targets].sort() };
}

export async function bake(opts: BakeOptions, output: Output): Promise<void> {
  if (
    opts.cacheWarm &&
    (opts.push ||
      opts.load ||
      opts.extra.some((x) => x === "--push" || x === "--load" || /\.(output|push|load)=/.test(x)))
  )
    throw new UsageError(
      "--cache-warm writes only cache; it cannot be combined with --push, --load or an output override",
    );
  // The written plan is always the whole matrix, so `bakeplan check` stays green; selection is buildx's.
  const { files, plan } = planProject({ ...opts, only: [] }, output);
  const bakeFile = bakeFilePath(files, opts.out);
  const selection = selectTargets(plan, files, opts.targets, opts.only);

  const sets: string[] = [];
  if (opts.cacheWarm) {
    const cache = files.project.cache;
    if (!cache) throw new UsageError("--cache-warm needs a `cache:` section in context.yaml");
    const branch = opts.inputs.branch ?? cache.writeOn[0] ?? "main";
    sets.push("*.output=type=cacheonly");
    for (const name of selection.targets) {
      const t = plan.targets.find((x) => x.variant.name === name)!;
      for (const to of cacheRefs(files.project, t.variant, { ...opts.inputs, branch }, { forceWrite: true }).to)
        sets.push(`${name}.cache-to=${to}`);
    }
  }
  const userMetadata = opts.metadataFile !== undefined ? resolve(opts.metadataFile) : undefined;
  const progressMode = userProgressMode(opts.extra);
  const file = relative(files.dir, bakeFile) || bakeFile;
  // One buildx bake of the whole selection, or (--one-by-one) one per target: the workaround for
  // remote-cache misses when several targets share one bake (docker/buildx#414).
  const runs = opts.oneByOne
    ? selection.targets.map((t) => ({ args: [t], targets: [t] }))
    : [{ args: selection.args, targets: selection.targets }];
  const stamp = `${process.pid}-${Date.now()}`;
  const commands = runs.map((run, i) => {
    // With one run, buildx writes the user's metadata file itself; several runs are merged into it.
    const metadataFile =
      runs.length === 1 && userMetadata ? userMetadata : join(tmpdir(), `bakeplan-metadata-${stamp}-${i}.json`);
    const argv = bakeArgv({
      file,
      targets: run.args,
      push: opts.push,
      load: opts.load,
      ...(opts.builder ? { builder: opts.builder } : {}),
      metadataFile,
      ...(progressMode === undefined ? { progress: "rawjson" } : {}),
      sets:
        runs.length === 1
          ? sets
          : sets.filter((s) => s.startsWith("*.") || run.targets.some((t) => s.startsWith(`${t}.`))),
      extra: opts.extra,
    });
    return { ...run, argv, metadataFile, command: shellQuote(["docker", ...argv]) };
  });
  const where = resolve(process.cwd()) === files.dir ? "" : `cd ${shellQuote([files.dir])} && `;
  if (opts.dryRun) {
    for (const c of commands) output.out(`${where}${c.command}\n`);
    return;
  }

  writePlan(plan, files.dir, bakeFile);
  await probeBuildx(MIN_BUILDX, opts.builder);
  const writesCache =
    opts.cacheWarm ||
    selection.targets.some(
      (name) => (plan.targets.find((t) => t.variant.name === name)?.bake["cache-to"] ?? []).length > 0,
    );
  if (writesCache) await checkCacheExport(opts.builder);

  const stats: Progress["byTarget"] = new Map();
  const metadata: Record<string, unknown> = {};
  const done: string[] = [];
  try {
    for (const c of commands) {
      if (opts.verbose || runs.length > 1) output.err(`bakeplan: ${where}${c.command}\n`);
      // Default: rawjson, rendered plain-style here; it names every target that uses a shared
      // step, which plain output (each step printed once, under one target) cannot.
      const raw = progressMode === undefined || progressMode === "rawjson" ? new RawProgress(c.targets) : undefined;
      const res = await runDocker(c.argv, {
        cwd: files.dir,
        ...(raw
          ? {
              onStderrLine: (line: string) =>
                output.err(progressMode === undefined ? raw.feed(line) : (raw.feed(line), `${line}\n`)),
            }
          : {}),
      });
      if (res.interrupted) throw new BuildxError("interrupted; buildx stopped", 130);
      const progress = raw ? raw.result() : parsePlainProgress(res.stderr, c.targets);
      if (res.exitCode !== 0) {
        const which =
          progress.failedTargets.length > 0
            ? `target ${progress.failedTargets.join(", ")} failed`
            : "see the buildx output above";
        const before =
          runs.length > 1
            ? ` (--one-by-one: ${done.length > 0 ? `built ${done.join(", ")} before it` : "it was the first"}; ${selection.targets.length - done.length - 1} not started)`
            : "";
        throw new BuildxError(
          `docker buildx bake failed with exit code ${res.exitCode}: ${which}${before}`,
          res.exitCode,
        );
      }
      for (const [t, s] of progress.byTarget) stats.set(t, s);
      Object.assign(metadata, readMetadata(c.metadataFile));
      done.push(...c.targets);
    }
    output.out(`\n${summaryTable(selection.targets, metadata, stats)}`);
    if (userMetadata) {
      if (runs.length > 1) writeFileSync(userMetadata, `${JSON.stringify(metadata, null, 2)}\n`);
      output.out(`metadata: ${displayPath(userMetadata)}\n`);
    }
  } finally {
    for (const c of commands) if (c.metadataFile !== userMetadata) rmSync(c.metadataFile, { force: true });
  }
}

/** The value of a `--progress` the user passed to buildx after `--`, if any. */
function userProgressMode(extra: readonly string[]): string | undefined {
  for (const [i, a] of extra.entries()) {
    if (a === "--progress") return extra[i + 1] ?? "";
    if (a.startsWith("--progress=")) return a.slice("--progress=".length);
  }
  return undefined;
}

function readMetadata(file: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function summaryTable(targets: string[], metadata: Record<string, unknown>, stats: Progress["byTarget"]): string {
  const rows = targets.map((t) => {
    const m = (metadata[t] ?? {}) as Record<string, unknown>;
    const s = stats.get(t);
    const cache =
      !s || s.steps === 0
        ? "-"
        : s.cached === s.steps
          ? "fully cached"
          : `${s.steps - s.cached} of ${s.steps} steps built`;
    const digest = typeof m["containerimage.digest"] === "string" ? m["containerimage.digest"].slice(0, 19) : "-";
    const tags = typeof m["image.name"] === "string" ? m["image.name"].split(",").join(" ") : "-";
    return [t, cache, digest, tags];
  });
  return table(["TARGET", "CACHE", "DIGEST", "TAGS"], rows);
}

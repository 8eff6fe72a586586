import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import type { Output, PlanCommandOptions } from "../cli.js";
import { BuildxError, UsageError } from "../errors.js";
import { bakeArgv, checkCacheExport, probeBuildx, runDocker, shellQuote } from "../io/buildx.js";
import { displayPath } from "../io/project-files.js";
import { parsePlainProgress } from "../io/progress.js";
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
  /** Arguments after `--`, passed to buildx as they are. */
  extra: string[];
}

// bake `network` and `--call` (lint) are the newest features a plan uses; 0.17 also brought --allow.
const MIN_BUILDX: [number, number, number] = [0, 17, 0];

/** Target names to build: positional targets/groups plus --only selectors; the `default` group when none. */
export function selectTargets(plan: Plan, files: ProjectFiles, names: string[], only: string[]): { args: string[]; targets: string[] } {
  const all = plan.targets.map((t) => t.variant.name);
  const targets = new Set<string>();
  for (const name of names) {
    const group = plan.groups.get(name);
    if (group) group.forEach((t) => targets.add(t));
    else if (all.includes(name)) targets.add(name);
    else {
      const hint = didYouMean(name, [...all, ...plan.groups.keys()]);
      throw new UsageError(`Unknown target or group "${name}".${hint ? ` Did you mean "${hint}"?` : ""}\nTargets: ${all.join(", ")}\nGroups: ${[...plan.groups.keys()].join(", ")}`);
    }
  }
  if (only.length > 0) {
    const picked = selectVariants(plan.matrix.variants, only, plan.groups, files.project).map((v) => v.name);
    picked.forEach((t) => targets.add(t));
    return { args: [...new Set([...names.filter((n) => !plan.groups.has(n)), ...picked])].sort(), targets: [...targets].sort() };
  }
  if (names.length === 0) return { args: ["default"], targets: [...(plan.groups.get("default") ?? all)] };
  return { args: names, targets: [...targets].sort() };
}

export async function bake(opts: BakeOptions, output: Output): Promise<void> {
  if (opts.cacheWarm && (opts.push || opts.load)) throw new UsageError("--cache-warm writes only cache; it cannot be combined with --push or --load");
  // The written plan is always the whole matrix, so `bakeplan check` stays green; selection is buildx's.
  const { files, plan } = planProject({ ...opts, only: [] }, output);
  const bakeFile = bakeFilePath(files, opts.out);
  const selection = selectTargets(plan, files, opts.targets, opts.only);

  const sets: string[] = [];
  if (opts.cacheWarm) {
    const cache = files.project.context.cache;
    if (!cache) throw new UsageError("--cache-warm needs a `cache:` section in context.yaml");
    const branch = opts.inputs.branch ?? cache.write_on[0] ?? "main";
    sets.push("*.output=type=cacheonly");
    for (const name of selection.targets) {
      const t = plan.targets.find((x) => x.variant.name === name)!;
      for (const to of cacheRefs(files.project.context, t.variant, { ...opts.inputs, branch }, { forceWrite: true }).to) sets.push(`${name}.cache-to=${to}`);
    }
  }
  const ownMetadata = opts.metadataFile === undefined;
  const metadataFile = opts.metadataFile ? resolve(opts.metadataFile) : join(tmpdir(), `bakeplan-metadata-${process.pid}-${Date.now()}.json`);
  const userProgress = opts.extra.some((a) => a.startsWith("--progress"));
  const argv = bakeArgv({
    file: relative(files.dir, bakeFile) || bakeFile,
    targets: selection.args,
    push: opts.push,
    load: opts.load,
    ...(opts.builder ? { builder: opts.builder } : {}),
    metadataFile,
    ...(userProgress ? {} : { progress: "plain" }),
    sets,
    extra: opts.extra,
  });
  const command = shellQuote(["docker", ...argv]);
  const where = resolve(process.cwd()) === files.dir ? "" : `cd ${shellQuote([files.dir])} && `;
  if (opts.dryRun) {
    output.out(`${where}${command}\n`);
    return;
  }

  writePlan(plan, files.dir, bakeFile);
  await probeBuildx(MIN_BUILDX, opts.builder);
  const writesCache = opts.cacheWarm || selection.targets.some((name) => (plan.targets.find((t) => t.variant.name === name)?.bake["cache-to"] ?? []).length > 0);
  if (writesCache) await checkCacheExport(opts.builder);
  if (opts.verbose) output.err(`bakeplan: ${where}${command}\n`);

  try {
    const res = await runDocker(argv, { cwd: files.dir });
    if (res.interrupted) throw new BuildxError("interrupted; buildx stopped", 130);
    const progress = parsePlainProgress(res.stderr, selection.targets);
    if (res.exitCode !== 0) {
      const which = progress.failedTargets.length > 0 ? `target ${progress.failedTargets.join(", ")} failed` : "see the buildx output above";
      throw new BuildxError(`docker buildx bake failed with exit code ${res.exitCode}: ${which}`, res.exitCode);
    }
    output.out(`\n${summaryTable(selection.targets, metadataFile, progress.byTarget)}`);
    if (!ownMetadata) output.out(`metadata: ${displayPath(metadataFile)}\n`);
  } finally {
    if (ownMetadata) rmSync(metadataFile, { force: true });
  }
}

function summaryTable(targets: string[], metadataFile: string, stats: ReturnType<typeof parsePlainProgress>["byTarget"]): string {
  let metadata: Record<string, Record<string, unknown>> = {};
  if (existsSync(metadataFile)) {
    try {
      metadata = JSON.parse(readFileSync(metadataFile, "utf8")) as typeof metadata;
    } catch {
      metadata = {};
    }
  }
  const rows = targets.map((t) => {
    const m = metadata[t] ?? {};
    const s = stats.get(t);
    const cache = !s || s.steps === 0 ? "-" : s.cached === s.steps ? "fully cached" : `${s.steps - s.cached} of ${s.steps} steps built`;
    const digest = typeof m["containerimage.digest"] === "string" ? (m["containerimage.digest"] as string).slice(0, 19) : "-";
    const tags = typeof m["image.name"] === "string" ? (m["image.name"] as string).split(",").join(" ") : "-";
    return [t, cache, digest, tags];
  });
  return table(["TARGET", "CACHE", "DIGEST", "TAGS"], rows);
}

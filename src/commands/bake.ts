import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { bakeFilePath } from "../command-support/bake-file.js";
import { requireSecretEnv, secretFileGrants } from "../command-support/secret-env.js";
import { committedAndWanted, runningInCI, useCommittedPlan } from "../command-support/committed-plan.js";
import { table } from "../command-support/table.js";
import { plannedTarget } from "../command-support/targets.js";
import type { Output, PlanCommandOptions } from "../command-support/types.js";
import { isBranchGlob } from "../config/branches.js";
import type { Project } from "../config/normalize.js";
import { BuildxError, ConfigError, UsageError } from "../errors.js";
import { bakeArgv, checkBuilder, probeBuildx, runDocker, type BuilderNeeds } from "../io/buildx.js";
import { displayPath } from "../io/project-files.js";
import { parsePlainProgress, RawProgress, type Progress } from "../io/progress.js";
import { selectBakeTargets } from "../matrix/select.js";
import { cacheRefs, type BuildInputs } from "../plan/naming.js";
import type { BakeTarget } from "../plan/bake-file.js";
import { bakeOverride, isEmptyOverride, withTargetAttributes } from "../plan/override.js";
import type { Plan } from "../plan/plan.js";
import { shellQuote } from "../text.js";

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
  oneByOne: boolean;
  /** Arguments after `--`, passed to buildx as they are. */
  extra: string[];
}

/** What buildx builds: targets and groups as named on its command line, and the targets they stand for. */
export interface Selection {
  args: string[];
  targets: string[];
}

/** One `docker buildx bake`: what it builds, its argv (after `docker`) and the metadata file buildx writes. */
export interface BakeRun {
  targets: string[];
  argv: string[];
  metadataFile: string;
}

// bake `network` and `--call` (lint) are the newest features a plan uses; 0.17 also brought --allow.
const MIN_BUILDX: [number, number, number] = [0, 17, 0];

export async function bake(opts: BakeOptions, output: Output): Promise<void> {
  refuseCacheWarmOutputs(opts);
  // buildx reads the committed plan (the whole matrix, so `bakeplan check` stays green); this run's
  // settings (branch, sha, version, registry, cache-warm) go into an override file outside the tree.
  const { files, committed, wanted } = committedAndWanted(opts, output);
  const bakeFile = bakeFilePath(opts.config, opts.out);
  const selection = selectBakeTargets(
    { variants: committed.targets.map((t) => t.variant), groups: committed.groups, axes: files.project.axes },
    opts.targets,
    opts.only,
  );
  let override = bakeOverride(committed.bakeFile, wanted.bakeFile, selection.targets);
  if (opts.cacheWarm)
    override = withTargetAttributes(
      override,
      cacheWarmAttributes(wanted, files.project, selection.targets, opts.inputs),
    );
  const userMetadata = opts.metadataFile !== undefined ? resolve(opts.metadataFile) : undefined;
  const tempDir = opts.dryRun
    ? join(tmpdir(), `bakeplan-${process.pid}-${Date.now()}`)
    : mkdtempSync(join(tmpdir(), "bakeplan-"));
  const overrideFile = isEmptyOverride(override) ? undefined : join(tempDir, "override.json");
  const runs = bakeRuns({
    file: relative(files.dir, bakeFile) || bakeFile,
    overrideFile,
    selection,
    sets: override.sets,
    options: opts,
    userMetadata,
    tempMetadata: (i) => join(tempDir, `metadata-${i}.json`),
    allow: secretFileGrants(wanted, selection.targets, files.dir),
  });
  const where = resolve(process.cwd()) === files.dir ? "" : `cd ${shellQuote([files.dir])} && `;
  const ci = runningInCI();
  if (opts.dryRun) {
    useCommittedPlan(committed, files.dir, bakeFile, output, { ci, dryRun: true });
    // A script that does what a run does: the temp directory, the override file, each buildx bake.
    output.out(`mkdir -p ${shellQuote([tempDir])}\n`);
    if (overrideFile) output.out(`cat > ${shellQuote([overrideFile])} <<'EOF'\n${override.json}EOF\n`);
    for (const run of runs) output.out(`${where}${shellQuote(["docker", ...run.argv])}\n`);
    return;
  }

  requireSecretEnv(wanted, selection.targets);
  try {
    useCommittedPlan(committed, files.dir, bakeFile, output, { ci });
    if (overrideFile) writeFileSync(overrideFile, override.json);
    await probeBuildx(MIN_BUILDX, opts.builder);
    await checkBuilder(builderNeeds(wanted, selection.targets, opts.cacheWarm), opts.builder);
    const built = await runInOrder(runs, { cwd: files.dir, where, opts, selection, output });
    output.out(`\n${summaryTable(selection.targets, built.metadata, built.stats)}`);
    if (userMetadata) {
      if (runs.length > 1) writeFileSync(userMetadata, `${JSON.stringify(built.metadata, null, 2)}\n`);
      output.out(`metadata: ${displayPath(userMetadata)}\n`);
    }
  } finally {
    rmSync(tempDir, { recursive: true, force: true });
  }
}

/** --cache-warm writes cache only: an image output (--push, --load, or one passed to buildx) contradicts it. */
export function refuseCacheWarmOutputs(opts: Pick<BakeOptions, "cacheWarm" | "push" | "load" | "extra">): void {
  const outputs =
    opts.push ||
    opts.load ||
    opts.extra.some((x) => x === "--push" || x === "--load" || /\.(output|push|load)=/.test(x));
  if (opts.cacheWarm && outputs)
    throw new UsageError(
      "--cache-warm writes only cache; it cannot be combined with --push, --load or an output override",
    );
}

/** --cache-warm's override attributes: no image output, and each target writes its cache ref even off `cache.write_on`. */
export function cacheWarmAttributes(
  plan: Plan,
  project: Project,
  targets: string[],
  inputs: BuildInputs,
): Record<string, Partial<BakeTarget>> {
  const cache = project.cache;
  if (!cache) throw new UsageError("--cache-warm needs a `cache:` section in context.yaml");
  const branch = inputs.branch ?? cache.writeOn[0] ?? "main";
  if (inputs.branch === undefined && isBranchGlob(branch))
    throw new UsageError(
      `--cache-warm without --branch writes the cache of cache.write_on's first entry, but "${branch}" is a pattern, not a branch; pass --branch`,
    );
  const attrs: Record<string, Partial<BakeTarget>> = {};
  for (const name of targets) {
    const t = plannedTarget(plan, name);
    const refs = cacheRefs(project, t.variant, t.values, { ...inputs, branch }, { forceWrite: true });
    if (refs.problems.length > 0)
      throw new ConfigError(
        refs.problems.map((p) => ({ message: p.message, location: project.source.locate(p.path ?? ["cache"]) })),
      );
    attrs[name] = { output: ["type=cacheonly"], "cache-to": refs.to };
  }
  return attrs;
}

/**
 * The buildx invocations of a bake: one for the whole selection, or (--one-by-one) one per target,
 * the workaround for remote-cache misses when several targets share one bake (docker/buildx#414).
 * With one run buildx writes the user's metadata file itself; several runs each write a temp file.
 * Every run reads the committed bake file and, when this run's settings differ from it, the override.
 */
export function bakeRuns(input: {
  file: string;
  overrideFile?: string;
  selection: Selection;
  sets: string[];
  options: Pick<BakeOptions, "push" | "load" | "builder" | "oneByOne" | "extra">;
  userMetadata: string | undefined;
  tempMetadata: (index: number) => string;
  /** Entitlements for `--allow` (secret files outside the project, see secretFileGrants). */
  allow?: string[];
}): BakeRun[] {
  const { selection, options } = input;
  const runs = options.oneByOne
    ? selection.targets.map((t) => ({ args: [t], targets: [t] }))
    : [{ args: selection.args, targets: selection.targets }];
  return runs.map((run, i) => {
    const metadataFile = runs.length === 1 && input.userMetadata ? input.userMetadata : input.tempMetadata(i);
    const sets =
      runs.length === 1
        ? input.sets
        : input.sets.filter((s) => s.startsWith("*.") || run.targets.some((t) => s.startsWith(`${t}.`)));
    const argv = bakeArgv({
      file: input.file,
      overrideFile: input.overrideFile,
      targets: run.args,
      push: options.push,
      load: options.load,
      builder: options.builder,
      metadataFile,
      // Unless the user chose a progress mode: rawjson, rendered plain-style by RawProgress.
      progress: userProgressMode(options.extra) === undefined ? "rawjson" : undefined,
      sets,
      extra: options.extra,
      allow: input.allow,
    });
    return { targets: run.targets, argv, metadataFile };
  });
}

/** What the selected targets need of the builder: registry cache export, the engine's bridge network. */
export function builderNeeds(plan: Plan, targets: string[], cacheWarm: boolean): BuilderNeeds {
  const bakes = targets.map((name) => plannedTarget(plan, name).bake);
  return {
    cacheExport: cacheWarm || bakes.some((b) => (b["cache-to"] ?? []).length > 0),
    bridgeNetwork: bakes.some((b) => (b.network ?? "default") === "default"),
  };
}

/** The value of a `--progress` the user passed to buildx after `--`, if any. */
export function userProgressMode(extra: readonly string[]): string | undefined {
  for (const [i, a] of extra.entries()) {
    if (a === "--progress") return extra[i + 1] ?? "";
    if (a.startsWith("--progress=")) return a.slice("--progress=".length);
  }
  return undefined;
}

/** Runs each bake in turn and stops at the first that fails; returns the merged metadata and step counts. */
async function runInOrder(
  runs: BakeRun[],
  context: { cwd: string; where: string; opts: BakeOptions; selection: Selection; output: Output },
): Promise<{ metadata: Record<string, unknown>; stats: Progress["byTarget"] }> {
  const { cwd, where, opts, selection, output } = context;
  const progressMode = userProgressMode(opts.extra);
  const stats: Progress["byTarget"] = new Map();
  const metadata: Record<string, unknown> = {};
  const done: string[] = [];
  for (const run of runs) {
    if (opts.verbose || runs.length > 1) output.err(`bakeplan: ${where}${shellQuote(["docker", ...run.argv])}\n`);
    // rawjson names every target that uses a shared step, which plain output (each step printed once,
    // under one target) cannot; shown plain-style unless the user asked for rawjson itself.
    const raw = progressMode === undefined || progressMode === "rawjson" ? new RawProgress(run.targets) : undefined;
    const onStderrLine = raw
      ? (line: string) => output.err(progressMode === undefined ? raw.feed(line) : (raw.feed(line), `${line}\n`))
      : undefined;
    const res = await runDocker(run.argv, { cwd, onStderrLine });
    if (res.interrupted) throw new BuildxError("interrupted; buildx stopped", { argv: run.argv, exitCode: 130 });
    const progress = raw ? raw.result() : parsePlainProgress(res.stderr, run.targets);
    if (res.exitCode !== 0) {
      const oneByOne = runs.length > 1 ? { done, notStarted: selection.targets.length - done.length - 1 } : undefined;
      throw new BuildxError(bakeFailure(res.exitCode, progress.failedTargets, oneByOne), {
        argv: run.argv,
        exitCode: res.exitCode,
      });
    }
    for (const [t, s] of progress.byTarget) stats.set(t, s);
    Object.assign(metadata, readMetadata(run.metadataFile));
    done.push(...run.targets);
  }
  return { metadata, stats };
}

/** Why a bake failed: buildx's exit code, the failed targets, and with --one-by-one how far it got. */
export function bakeFailure(
  exitCode: number,
  failedTargets: string[],
  oneByOne?: { done: string[]; notStarted: number },
): string {
  const which = failedTargets.length > 0 ? `target ${failedTargets.join(", ")} failed` : "see the buildx output above";
  const progress = oneByOne
    ? ` (--one-by-one: ${oneByOne.done.length > 0 ? `built ${oneByOne.done.join(", ")} before it` : "it was the first"}; ${oneByOne.notStarted} not started)`
    : "";
  return `docker buildx bake failed with exit code ${exitCode}: ${which}${progress}`;
}

function readMetadata(file: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Per target: whether every step came from cache, the image digest and the tags, from buildx's metadata. */
export function summaryTable(
  targets: string[],
  metadata: Record<string, unknown>,
  stats: Progress["byTarget"],
): string {
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

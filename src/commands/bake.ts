import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative, resolve } from "node:path";
import { bakeFilePath } from "../command-support/bake-file.js";
import { requireSecretEnv, secretFileGrants } from "../command-support/secret-env.js";
import { committedAndWanted, runningInCI, useCommittedPlan } from "../command-support/committed-plan.js";
import {
  summarize,
  summaryJson,
  summaryMarkdown,
  summaryTable,
  type BuildSummary,
  type TargetRun,
} from "../command-support/build-summary.js";
import { plannedTarget } from "../command-support/targets.js";
import type { Output, PlanCommandOptions } from "../command-support/types.js";
import { isBranchGlob } from "../config/branches.js";
import type { Project } from "../config/normalize.js";
import {
  afterProbes,
  builderAccess,
  builderRuns,
  poolFailure,
  poolTargetRuns,
  probeNotes,
  runPool,
  targetsByBuilder,
  type BuilderAccess,
  type PoolRun,
  type PoolRunSettings,
} from "../command-support/bake-pool.js";
import { BuildxError, ConfigError, UsageError, UserError } from "../errors.js";
import {
  bakeArgv,
  checkBuilder,
  probeBuildx,
  probeBuilder,
  recordedFailures,
  recordedProgress,
  runDocker,
  type BuilderNeeds,
  type BuilderProbe,
  type RecordedFailure,
} from "../io/buildx.js";
import { displayPath, type ProjectFiles } from "../io/project-files.js";
import { templateLineOf } from "../render/source-map.js";
import { parsePlainProgress, RawProgress, type Progress } from "../io/progress.js";
import { selectBakeTargets } from "../matrix/select.js";
import { cacheRefs, type BuildInputs } from "../plan/naming.js";
import type { BakeTarget } from "../plan/bake-file.js";
import { bakeOverride, isEmptyOverride, withTargetAttributes, type BakeOverride } from "../plan/override.js";
import type { Assignment } from "../plan/builders.js";
import type { Plan } from "../plan/plan.js";
import { SharedRenders } from "../plan/render-variants.js";
import { assignPool, poolMembers, type BuilderPlan } from "../plan/pool.js";
import { compareStrings, plural, record, shellQuote } from "../text.js";
import { findAffected } from "../command-support/affected.js";
import {
  imagesOf,
  poolPreflightDeps,
  reportPreflight,
  resolveImages,
  resolvePoolImages,
} from "../command-support/images.js";
import { readLock } from "../io/lock-file.js";

export interface BakeOptions extends PlanCommandOptions {
  targets: string[];
  out?: string;
  push: boolean;
  load: boolean;
  builder?: string;
  dryRun: boolean;
  metadataFile?: string;
  /** Write the per-target summary here as JSON. */
  summaryJson?: string;
  /** Build nothing: write the override file here (for docker/bake-action) and print its `--set` values. */
  writeOverride?: string;
  cacheWarm: boolean;
  /** One `buildx bake` per target instead of one for all (docker/buildx#414). */
  oneByOne: boolean;
  /** Build only what `affected --base REF` lists (of the selected targets). */
  affected?: string;
  /** Check every image and platform first (`--no-preflight` turns it off). */
  preflight: boolean;
  /** Registry request timeout of the preflight. */
  timeoutMs: number;
  /** Arguments after `--`, passed to buildx as they are. */
  extra: string[];
  /** Spread the targets over builders.pool of context.yaml (`--builders` names the pool instead). */
  pool?: boolean;
  /** With a pool: let the other builders finish when one bake fails. */
  keepGoing?: boolean;
  /** With a pool: rebuild the targets of a builder lost mid-run on the next builder of their ranking. */
  retryOnOther?: boolean;
  /** With a pool: at most this many bakes at once (default: one per builder). */
  maxParallel?: number;
  /** With a pool: how long a builder may take to answer `docker buildx inspect --bootstrap`. */
  probeTimeoutSeconds?: number;
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
  refusePoolMisuse(opts);
  refuseOverrideMisuse(opts);
  // buildx reads the committed plan (the whole matrix, so `bakeplan check` stays green); this run's
  // settings (branch, sha, version, registry, cache-warm) go into an override file outside the tree.
  // `--affected` plans BASE too, reusing this run's renders where its templates and scope are the same.
  const renders = opts.affected !== undefined ? new SharedRenders() : undefined;
  const { files, committed, wanted, lock } = committedAndWanted(opts, output, renders);
  const bakeFile = bakeFilePath(opts.config, opts.out);
  let selection = selectBakeTargets(
    { variants: committed.targets.map((t) => t.variant), groups: committed.groups, axes: files.project.axes },
    opts.targets,
    opts.only,
  );
  if (opts.affected !== undefined) {
    // Of what the command line selects (default: every target), only what the change affects.
    const named = opts.targets.length > 0 || opts.only.length > 0;
    const run = await findAffected({ ...opts, only: [], base: opts.affected }, output, {
      files,
      plan: wanted,
      lock,
      renders,
    });
    const affected = new Set(run.result.affected.map((t) => t.target));
    const targets = (named ? selection.targets : wanted.targets.map((t) => t.variant.name)).filter((t) =>
      affected.has(t),
    );
    if (targets.length === 0) {
      output.out(`nothing to build: no ${named ? "selected " : ""}target is affected since ${run.baseLabel}\n`);
      return;
    }
    output.err(`bakeplan: building ${plural(targets.length, "affected target")}: ${targets.join(", ")}\n`);
    selection = { args: targets, targets };
  }
  let override = bakeOverride(committed.bakeFile, wanted.bakeFile, selection.targets);
  if (opts.cacheWarm)
    override = withTargetAttributes(
      override,
      cacheWarmAttributes(wanted, files.project, selection.targets, opts.inputs),
    );
  if (opts.writeOverride !== undefined) {
    // What `bake` would hand buildx next to the committed bake file, for a workflow that runs
    // buildx itself (docker/bake-action): the committed plan checked (in CI) or written first.
    useCommittedPlan(committed, files.dir, bakeFile, output, { ci: runningInCI() });
    writeFileSync(resolve(opts.writeOverride), override.json);
    for (const set of override.sets) output.out(`${set}\n`);
    return;
  }
  const userMetadata = opts.metadataFile !== undefined ? resolve(opts.metadataFile) : undefined;
  // The pool's assignment before any temp file exists, so a bad pool leaves nothing behind.
  const pool = opts.builders !== undefined || opts.pool ? poolOf(opts, files.project, committed) : undefined;
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
    terminal: liveView(opts),
  });
  const where = resolve(process.cwd()) === files.dir ? "" : `cd ${shellQuote([files.dir])} && `;
  const ci = runningInCI();
  if (pool) {
    await bakeOnPool(
      pool,
      { opts, files, committed, wanted, bakeFile, selection, override, overrideFile, userMetadata, tempDir, where, ci },
      output,
    );
    return;
  }
  if (opts.dryRun) {
    useCommittedPlan(committed, files.dir, bakeFile, output, { ci, dryRun: true });
    // A script that does what a run does: the temp directory, the override file, each buildx bake.
    output.out(`mkdir -p ${shellQuote([tempDir])}\n`);
    if (overrideFile) output.out(`cat > ${shellQuote([overrideFile])} <<'EOF'\n${override.json}EOF\n`);
    for (const run of runs) output.out(`${where}${shellQuote(["docker", ...run.argv])}\n`);
    return;
  }

  try {
    // Inside the try: its temp directory is removed whatever stops the bake.
    requireSecretEnv(wanted, selection.targets);
    useCommittedPlan(committed, files.dir, bakeFile, output, { ci });
    if (overrideFile) writeFileSync(overrideFile, override.json);
    await probeBuildx(MIN_BUILDX, opts.builder);
    await checkBuilder(builderNeeds(wanted, selection.targets, opts.cacheWarm), opts.builder);
    if (opts.preflight) {
      // Before any builder time is spent: every image and platform the build pulls must exist.
      const list = imagesOf(files, wanted, selection.targets, readLock(files.dir));
      const lookups = await resolveImages(list, {
        timeoutMs: opts.timeoutMs,
        concurrency: 8,
        builder: opts.builder,
        useLocalImages: true,
      });
      reportPreflight(list, lookups, output, { tableOnFailureOnly: !opts.verbose });
    }
    const built = await runInOrder(runs, { cwd: files.dir, where, opts, selection, output, plan: wanted });
    const at = built.failure?.at ? templateLocation(committed, files, built.failure.at) : undefined;
    const summary = summarize({
      targets: selection.targets,
      metadata: built.metadata,
      runs: built.runs,
      cacheRefs: (t) => usedCacheRefs(wanted, override, t),
      failure: built.failure && { targets: built.failure.targets, at },
    });
    writeSummaries(summary, opts);
    // A failed bake ends with buildx's error and bakeplan's; the table is for what was built.
    if (built.failure)
      throw new BuildxError(`${built.failure.message}${at ? `; the failing step: ${at}` : ""}`, built.failure.error);
    output.out(`\n${summaryTable(summary)}`);
    if (userMetadata) {
      if (runs.length > 1) writeFileSync(userMetadata, `${JSON.stringify(built.metadata, null, 2)}\n`);
      output.out(`metadata: ${displayPath(userMetadata)}\n`);
    }
  } finally {
    rmSync(tempDir, { recursive: true, force: true });
  }
}

/** The cache refs buildx was given for `target`: this run's plan, and --cache-warm's cache-to from the override. */
function usedCacheRefs(
  wanted: Plan,
  override: BakeOverride,
  target: string,
): { cacheFrom: string[]; cacheTo: string[] } {
  const b = plannedTarget(wanted, target).bake;
  return {
    cacheFrom: b["cache-from"] ?? [],
    cacheTo: override.file.target[target]?.["cache-to"] ?? b["cache-to"] ?? [],
  };
}

/** --summary-json, and the Markdown copy for GitHub's job summary when $GITHUB_STEP_SUMMARY names a file. */
function writeSummaries(summary: BuildSummary, opts: Pick<BakeOptions, "summaryJson" | "targets">): void {
  if (opts.summaryJson !== undefined) writeFileSync(resolve(opts.summaryJson), summaryJson(summary));
  const stepSummary = process.env.GITHUB_STEP_SUMMARY;
  if (stepSummary)
    appendFileSync(stepSummary, summaryMarkdown(summary, `bakeplan bake ${opts.targets.join(" ")}`.trim()));
}

/** What `bake` worked out before it runs, for a pool's bakes. */
interface BakeContext {
  opts: BakeOptions;
  files: ProjectFiles;
  committed: Plan;
  wanted: Plan;
  bakeFile: string;
  selection: Selection;
  override: BakeOverride;
  overrideFile: string | undefined;
  userMetadata: string | undefined;
  tempDir: string;
  where: string;
  ci: boolean;
}

/**
 * `bake --builders` / `--pool`: probe every builder, move the units of those that do not answer,
 * run one bake per builder side by side, and print one summary with a BUILDER column.
 */
async function bakeOnPool(pool: BuilderPlan, c: BakeContext, output: Output): Promise<void> {
  const {
    opts,
    files,
    committed,
    wanted,
    bakeFile,
    selection,
    override,
    overrideFile,
    userMetadata,
    tempDir,
    where,
    ci,
  } = c;
  const settings: PoolRunSettings = {
    file: relative(files.dir, bakeFile) || bakeFile,
    overrideFile,
    sets: override.sets,
    push: opts.push,
    load: opts.load,
    oneByOne: opts.oneByOne,
    extra: opts.extra,
    progress: userProgressMode(opts.extra) === undefined ? "rawjson" : undefined,
    allow: secretFileGrants(wanted, selection.targets, files.dir),
  };
  let n = 0;
  const metadataFile = (builder: string) => join(tempDir, `metadata-${builder}-${n++}.json`);
  const timeoutMs = (opts.probeTimeoutSeconds ?? 60) * 1000;
  if (opts.dryRun) {
    useCommittedPlan(committed, files.dir, bakeFile, output, { ci, dryRun: true });
    // Read-only: `inspect` without --bootstrap, so nothing is started.
    const probes = await probePool(pool, { bootstrap: false, timeoutMs });
    const { runs, notes } = poolPlan(pool, probes, selection.targets, settings, metadataFile);
    for (const note of notes) output.err(`bakeplan: ${note}\n`);
    output.out(`mkdir -p ${shellQuote([tempDir])}\n`);
    if (overrideFile) output.out(`cat > ${shellQuote([overrideFile])} <<'EOF'\n${override.json}EOF\n`);
    // One bake per builder at a time, the builders side by side.
    const byBuilder = new Map<string, string[]>();
    for (const run of runs)
      byBuilder.set(run.builder, [
        ...(byBuilder.get(run.builder) ?? []),
        `${where}${shellQuote(["docker", ...run.argv])}`,
      ]);
    for (const commands of byBuilder.values()) output.out(`( ${commands.join(" && ")} ) &\n`);
    output.out("wait\n");
    return;
  }
  try {
    // As a bake on one builder does: before any builder is started or given work.
    requireSecretEnv(wanted, selection.targets);
    useCommittedPlan(committed, files.dir, bakeFile, output, { ci });
    if (overrideFile) writeFileSync(overrideFile, override.json);
    await probeBuildx(MIN_BUILDX);
    if (opts.preflight) {
      // Once for every target, before any builder is started (the probe bootstraps them) or given work.
      const list = imagesOf(files, wanted, selection.targets, readLock(files.dir));
      const lookups = await resolvePoolImages(
        list,
        pool.assignment,
        selection.targets,
        poolPreflightDeps({ timeoutMs: opts.timeoutMs, concurrency: 8 }),
      );
      reportPreflight(list, lookups, output, { tableOnFailureOnly: !opts.verbose });
    }
    const probes = await probePool(pool, { bootstrap: true, timeoutMs });
    const { assignment, runs, notes, access } = poolPlan(pool, probes, selection.targets, settings, metadataFile);
    for (const note of notes) output.err(`bakeplan: ${note}\n`);
    // A docker-driver builder is checked on its own engine (its context), with its own targets.
    for (const b of new Set(runs.map((r) => r.builder)))
      if (access.get(b)?.context !== undefined) {
        const mine = runs.filter((r) => r.builder === b).flatMap((r) => r.targets);
        await checkPoolBuilder(builderNeeds(wanted, mine, opts.cacheWarm), b);
      }
    const outcome = await runPool(
      { assignment, runs },
      {
        settings,
        access,
        keepGoing: opts.keepGoing === true,
        retryOnOther: opts.retryOnOther === true,
        maxParallel: opts.maxParallel ?? Math.max(1, access.size),
        where,
        userProgress: userProgressMode(opts.extra),
      },
      {
        run: (argv, o) => runDocker(argv, { cwd: files.dir, onStderrLine: o.onStderrLine, signal: o.signal }),
        probe: (builder) => probeBuilder(builder, { bootstrap: true, timeoutMs: Math.min(timeoutMs, 20_000) }),
        readMetadata,
        metadataFile,
      },
      output,
    );
    const failed = [...outcome.byTarget].filter(([, o]) => o.status === "failed").map(([t]) => t);
    const firstAt = outcome.failures.find((f) => f.at)?.at;
    const summary = summarize({
      targets: selection.targets,
      metadata: outcome.metadata,
      runs: poolTargetRuns(outcome),
      cacheRefs: (t) => usedCacheRefs(wanted, override, t),
      failure:
        outcome.failures.length > 0
          ? { targets: failed.sort(), at: firstAt && templateLocation(committed, files, firstAt) }
          : undefined,
    });
    writeSummaries(summary, opts);
    // Kept when a bake failed: the others' builds, and what became of each target, are in it.
    output.out(`\n${summaryTable(summary)}`);
    if (userMetadata) {
      writeFileSync(userMetadata, `${JSON.stringify(outcome.metadata, null, 2)}\n`);
      output.out(`metadata: ${displayPath(userMetadata)}\n`);
    }
    if (outcome.interrupted)
      throw new BuildxError("interrupted; buildx stopped on every builder", {
        argv: runs[0]?.argv ?? [],
        exitCode: 130,
      });
    if (outcome.failures.length > 0)
      throw new BuildxError(
        poolFailure(outcome, (at) => templateLocation(committed, files, at)),
        {
          argv: runs.find((r) => r.builder === outcome.failures[0]!.builder)?.argv ?? [],
          exitCode: outcome.failures[0]!.exitCode,
        },
      );
  } finally {
    rmSync(tempDir, { recursive: true, force: true });
  }
}

/** The options that only mean something with a builder pool, and --builder, which contradicts one. */
export function refusePoolMisuse(
  opts: Pick<
    BakeOptions,
    "builders" | "pool" | "builder" | "keepGoing" | "retryOnOther" | "maxParallel" | "probeTimeoutSeconds"
  >,
): void {
  const pool = opts.builders !== undefined || opts.pool === true;
  if (pool && opts.builder !== undefined)
    throw new UsageError(
      "--builder names one builder for every target; it cannot be combined with --builders or --pool",
    );
  if (opts.builders !== undefined && opts.pool === true)
    throw new UsageError("--pool uses builders.pool of context.yaml and --builders names a pool; give one of them");
  const poolOnly = [
    ["--keep-going", opts.keepGoing],
    ["--retry-on-other", opts.retryOnOther],
    ["--max-parallel", opts.maxParallel !== undefined],
    ["--probe-timeout", opts.probeTimeoutSeconds !== undefined],
  ] as const;
  const misplaced = poolOnly.filter(([, given]) => given === true).map(([flag]) => flag);
  if (!pool && misplaced.length > 0)
    throw new UsageError(`${misplaced.join(", ")} only apply to a builder pool: add --builders a,b or --pool`);
}

/** The pool of this bake: `--builders` (assigned now, over the committed plan's targets), or context.yaml's. */
export function poolOf(opts: Pick<BakeOptions, "builders" | "pool">, project: Project, committed: Plan): BuilderPlan {
  if (opts.builders !== undefined) {
    const members = poolMembers(project, opts.builders)!;
    const bodies = new Map(committed.files.map((f) => [f.path, f]));
    const { assignment, unitOf } = assignPool(
      project,
      committed.targets,
      (t) => bodies.get(t.dockerfile)!.content,
      members,
      true,
    );
    return { assignment, unitOf, groups: new Map(), fromCommandLine: true };
  }
  if (!committed.builders)
    throw new UsageError("--pool: context.yaml has no builders.pool; name the builders with --builders a,b");
  return committed.builders;
}

/** Probes every builder of the pool at once. */
async function probePool(
  pool: BuilderPlan,
  opts: { bootstrap: boolean; timeoutMs: number },
): Promise<Map<string, BuilderProbe>> {
  const probes = await Promise.all(pool.assignment.builders.map((b) => probeBuilder(b.name, opts)));
  return new Map(probes.map((p) => [p.builder, p]));
}

/**
 * After the probes: the assignment with unavailable builders' units moved on, the notes saying so,
 * how each builder is reached, and the runs. Every builder gone, or a unit nothing can take now,
 * is an error.
 */
export function poolPlan(
  pool: BuilderPlan,
  probes: ReadonlyMap<string, BuilderProbe>,
  selected: readonly string[],
  settings: PoolRunSettings,
  metadataFile: (builder: string) => string,
): { assignment: Assignment; runs: PoolRun[]; notes: string[]; access: Map<string, BuilderAccess> } {
  const after = afterProbes(pool.assignment, probes);
  const notes = probeNotes(probes, after.moves, new Set(selected));
  const stuck = after.unplaceable.filter((u) => u.unit.targets.some((t) => selected.includes(t)));
  if (stuck.length > 0 || after.assignment.builders.length === 0)
    throw new UserError(
      [
        after.assignment.builders.length === 0
          ? "no builder of the pool is available"
          : `no available builder can build ${stuck.flatMap((u) => u.unit.targets.filter((t) => selected.includes(t))).join(", ")}`,
        ...notes,
      ].join("\n  "),
    );
  const access = new Map([...probes.values()].filter((p) => p.ok).map((p) => [p.builder, builderAccess(p)] as const));
  const runs = [...targetsByBuilder(after.assignment, selected)].flatMap(([b, targets]) =>
    builderRuns(access.get(b)!, targets, settings, metadataFile),
  );
  return { assignment: after.assignment, runs, notes, access };
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

/**
 * --write-override builds nothing, so the options that are about building are refused: docker/bake-action
 * has its own push, load, builder and set inputs.
 */
export function refuseOverrideMisuse(
  opts: Pick<
    BakeOptions,
    | "writeOverride"
    | "push"
    | "load"
    | "builder"
    | "dryRun"
    | "metadataFile"
    | "summaryJson"
    | "oneByOne"
    | "affected"
    | "extra"
    | "builders"
    | "pool"
  >,
): void {
  if (opts.writeOverride === undefined) return;
  const misused = [
    opts.push && "--push (bake-action's push: true)",
    opts.load && "--load (bake-action's load: true)",
    opts.builder !== undefined && "--builder (bake-action's builder input)",
    opts.dryRun && "--dry-run",
    opts.metadataFile !== undefined && "--metadata-file",
    opts.summaryJson !== undefined && "--summary-json",
    opts.oneByOne && "--one-by-one",
    opts.affected !== undefined &&
      "--affected (write the targets of `bakeplan affected --json` to bake-action's targets)",
    (opts.builders !== undefined || opts.pool === true) && "--builders/--pool",
    opts.extra.length > 0 && "arguments after -- (bake-action's set input)",
  ].filter((x): x is string => typeof x === "string");
  if (misused.length > 0)
    throw new UsageError(`--write-override builds nothing; it cannot be combined with ${misused.join(", ")}`);
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
  const attrs = record<Partial<BakeTarget>>();
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
  /** stderr is a terminal: buildx shows its own live view there (no --progress) instead of rawjson. */
  terminal?: boolean;
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
      // Unless the user chose a progress mode: buildx's live view on a terminal, elsewhere rawjson,
      // rendered plain-style by RawProgress (it names every target of a shared step).
      progress: userProgressMode(options.extra) === undefined && !input.terminal ? "rawjson" : undefined,
      sets,
      extra: options.extra,
      allow: input.allow,
    });
    return { targets: run.targets, argv, metadataFile };
  });
}

/** `checkBuilder` on one builder of a pool, its message naming the builder. */
async function checkPoolBuilder(needs: BuilderNeeds, builder: string): Promise<void> {
  try {
    await checkBuilder(needs, builder);
  } catch (e) {
    if (!(e instanceof BuildxError)) throw e;
    throw new BuildxError(`builder ${builder}: ${e.message}`, {
      argv: e.argv,
      exitCode: e.exitCode,
      stderrTail: e.stderrTail,
    });
  }
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

/** buildx shows its own live view (it redraws in place) when stderr is a terminal and no --progress was chosen. */
function liveView(opts: Pick<BakeOptions, "extra">): boolean {
  return process.stderr.isTTY && userProgressMode(opts.extra) === undefined;
}

/** Per-target step counts and times of a finished run from what buildx recorded of each target's build (`buildx history`). */
async function recordedRuns(targets: string[], metadata: Record<string, unknown>): Promise<Map<string, TargetRun>> {
  const runs = new Map<string, TargetRun>();
  for (const t of targets) {
    const ref = (metadata[t] as Record<string, unknown> | undefined)?.["buildx.build.ref"];
    const log = typeof ref === "string" ? await recordedProgress(ref) : undefined;
    if (log === undefined) continue;
    const raw = new RawProgress([t]);
    for (const line of log.split("\n")) raw.feed(line);
    const progress = raw.result();
    runs.set(t, { stats: progress.byTarget.get(t), durationMs: progress.durations.get(t) });
  }
  return runs;
}

/** What a sequence of bakes did: buildx's metadata, and per target its outcome, steps and time. */
interface RunsOutcome {
  metadata: Record<string, unknown>;
  runs: Map<string, TargetRun>;
  /** The run that failed: buildx's message and code, the failed targets, where buildx said it failed. */
  failure?: {
    message: string;
    error: { argv: string[]; exitCode: number };
    targets: string[];
    at?: Progress["failedAt"];
  };
}

/**
 * What became of the targets of a failed bake: `failed` those buildx named, `stopped` the others
 * of that bake (buildx cancels them), `not started` those of the bakes after it (--one-by-one).
 */
export function failedRunOutcome(
  run: Pick<BakeRun, "targets">,
  later: readonly Pick<BakeRun, "targets">[],
  progress: Pick<Progress, "failedTargets" | "byTarget" | "durations">,
): Map<string, TargetRun> {
  const failed = new Set(progress.failedTargets);
  const outcome = new Map<string, TargetRun>();
  for (const t of run.targets)
    outcome.set(t, {
      status: failed.has(t) ? "failed" : "stopped",
      stats: progress.byTarget.get(t),
      durationMs: progress.durations.get(t),
    });
  for (const r of later) for (const t of r.targets) outcome.set(t, { status: "not started" });
  return outcome;
}

/**
 * The targets of a bake whose failed builds buildx recorded (`recordedFailures`): a record names
 * the Dockerfile (as the build context names it; compared by file name) and the stage it built, which is one target's when the plan
 * gives no other selected target the same pair. The first record with a line is where it failed.
 */
export function failedInHistory(
  recorded: readonly RecordedFailure[],
  targets: readonly string[],
  targetOf: (name: string) => { bake: Pick<BakeTarget, "dockerfile" | "target"> },
): { targets: string[]; at?: RecordedFailure["at"] } {
  const failed = new Set<string>();
  let at: RecordedFailure["at"];
  for (const r of recorded) {
    const matches = targets.filter((t) => {
      const b = targetOf(t).bake;
      const same = basename(b.dockerfile ?? "Dockerfile") === basename(r.dockerfile);
      return same && (r.stage === undefined || b.target === r.stage);
    });
    if (matches.length !== 1) continue;
    failed.add(matches[0]!);
    at ??= r.at;
  }
  return { targets: [...failed].sort(compareStrings), at };
}

/** Runs each bake in turn and stops at the first that fails; returns the merged metadata and each target's outcome. */
async function runInOrder(
  runs: BakeRun[],
  context: { cwd: string; where: string; opts: BakeOptions; selection: Selection; output: Output; plan: Plan },
): Promise<RunsOutcome> {
  const { cwd, where, opts, selection, output } = context;
  const progressMode = userProgressMode(opts.extra);
  const outcome = new Map<string, TargetRun>();
  const metadata: Record<string, unknown> = {};
  const done: string[] = [];
  for (const [index, run] of runs.entries()) {
    if (opts.verbose || runs.length > 1) output.err(`bakeplan: ${where}${shellQuote(["docker", ...run.argv])}\n`);
    // rawjson names every target that uses a shared step, which plain output (each step printed once,
    // under one target) cannot; shown plain-style unless the user asked for rawjson itself.
    const terminal = liveView(opts);
    const raw =
      !terminal && (progressMode === undefined || progressMode === "rawjson")
        ? new RawProgress(run.targets)
        : undefined;
    const onStderrLine = raw
      ? (line: string) => output.err(progressMode === undefined ? raw.feed(line) : (raw.feed(line), `${line}\n`))
      : undefined;
    const started = new Date();
    const res = await runDocker(run.argv, { cwd, onStderrLine, terminal });
    if (res.interrupted) throw new BuildxError("interrupted; buildx stopped", { argv: run.argv, exitCode: 130 });
    let progress = raw ? raw.result() : parsePlainProgress(res.stderr, run.targets);
    if (res.exitCode !== 0 && terminal) {
      // buildx's closing error went to the terminal: what failed, and where, from its history.
      const since = new Date(started.getTime() - 1000);
      const found = failedInHistory(await recordedFailures(since, opts.builder), run.targets, (t) =>
        plannedTarget(context.plan, t),
      );
      progress = { ...progress, failedTargets: found.targets, failedAt: found.at };
    }
    if (res.exitCode !== 0) {
      const oneByOne = runs.length > 1 ? { done, notStarted: selection.targets.length - done.length - 1 } : undefined;
      for (const [t, r] of failedRunOutcome(run, runs.slice(index + 1), progress)) outcome.set(t, r);
      return {
        metadata,
        runs: outcome,
        failure: {
          message: bakeFailure(res.exitCode, progress.failedTargets, oneByOne),
          error: { argv: run.argv, exitCode: res.exitCode },
          targets: progress.failedTargets,
          at: progress.failedAt,
        },
      };
    }
    const runMetadata = readMetadata(run.metadataFile);
    if (terminal) for (const [t, r] of await recordedRuns(run.targets, runMetadata)) outcome.set(t, r);
    else
      for (const t of run.targets)
        outcome.set(t, { stats: progress.byTarget.get(t), durationMs: progress.durations.get(t) });
    Object.assign(metadata, runMetadata);
    done.push(...run.targets);
  }
  return { metadata, runs: outcome };
}

/**
 * The template line of the step buildx reported failing (`x.Dockerfile:28`, named relative to the
 * build context), as lint maps its findings; the Dockerfile line when no template line matches.
 */
export function templateLocation(
  plan: Plan,
  files: Pick<ProjectFiles, "templates" | "project">,
  at: { dockerfile: string; line: number },
): string {
  const file = plan.files.find((f) => f.path === at.dockerfile || f.path.endsWith(`/${at.dockerfile}`));
  const label = files.project.build.templates;
  const src = file ? templateLineOf(file.content, at.line, files.templates, label) : undefined;
  const dockerfileLine = `${file?.path ?? at.dockerfile}:${at.line}`;
  // Only a matched template line: the nearest marker alone may name an include the line follows.
  return src?.line ? `${label}/${src.template}:${src.line} (${dockerfileLine})` : dockerfileLine;
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

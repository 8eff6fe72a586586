// `bakeplan bake --builders a,b`: one `docker buildx bake` per builder, run concurrently. What runs
// where is data (probes in, runs out); the scheduler takes its process runner and prober as
// arguments, so the whole orchestration is tested without docker.

import type { BuilderProbe, RunResult } from "../io/buildx.js";
import { bakeArgv } from "../io/buildx.js";
import { parsePlainProgress, RawProgress, type Progress, type StepStats } from "../io/progress.js";
import { reassign, type Assignment, type Move, type Unplaceable } from "../plan/builders.js";
import { compareStrings, plural, shellQuote } from "../text.js";
import type { TargetRun } from "./build-summary.js";
import type { Output } from "./types.js";

/** How buildx is told to use a builder: `--builder X`, and for a `docker`-driver builder also `docker --context X`. */
export interface BuilderAccess {
  builder: string;
  /** The Docker context of a `docker`-driver builder: it refuses `--builder` from another context. */
  context?: string;
}

/** `docker --context X buildx bake --builder X` for the docker driver (field.md 2.3), `--builder X` for every other. */
export function builderAccess(probe: Pick<BuilderProbe, "builder" | "driver">): BuilderAccess {
  return probe.driver === "docker" ? { builder: probe.builder, context: probe.builder } : { builder: probe.builder };
}

/** One `docker buildx bake` on one builder. */
export interface PoolRun {
  builder: string;
  targets: string[];
  argv: string[];
  metadataFile: string;
  /** The builder its targets were first on, when they are rebuilt after it was lost. */
  retryOf?: string;
}

/** What every run of a pool shares: the bake files, overrides and flags of this build. */
export interface PoolRunSettings {
  file: string;
  overrideFile?: string;
  /** `--set` values of the override; each run gets those of its targets (and `*.`). */
  sets: string[];
  push: boolean;
  load: boolean;
  oneByOne: boolean;
  extra: string[];
  progress?: string;
  /** Entitlements for `--allow` (secret files outside the project, see secretFileGrants), on every run. */
  allow?: string[];
}

/** The runs of one builder: its targets in one bake (or, with --one-by-one, one bake each). */
export function builderRuns(
  access: BuilderAccess,
  targets: readonly string[],
  settings: PoolRunSettings,
  metadataFile: (builder: string) => string,
  retryOf?: string,
): PoolRun[] {
  const groups = settings.oneByOne ? targets.map((t) => [t]) : targets.length > 0 ? [[...targets]] : [];
  return groups.map((group) => {
    const file = metadataFile(access.builder);
    return {
      builder: access.builder,
      targets: group,
      argv: bakeArgv({
        context: access.context,
        file: settings.file,
        overrideFile: settings.overrideFile,
        targets: group,
        push: settings.push,
        load: settings.load,
        builder: access.builder,
        metadataFile: file,
        progress: settings.progress,
        sets: settings.sets.filter((s) => s.startsWith("*.") || group.some((t) => s.startsWith(`${t}.`))),
        extra: settings.extra,
        allow: settings.allow,
      }),
      metadataFile: file,
      ...(retryOf !== undefined ? { retryOf } : {}),
    };
  });
}

/** The selected targets of each builder, in builder order; builders without selected targets left out. */
export function targetsByBuilder(assignment: Assignment, selected: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const b of assignment.builders) {
    const mine = selected.filter((t) => assignment.builderOf.get(t) === b.name).sort(compareStrings);
    if (mine.length > 0) out.set(b.name, mine);
  }
  return out;
}

/** The assignment after the probes: builders that do not answer, or lack a unit's platforms, hand their units on. */
export function afterProbes(
  assignment: Assignment,
  probes: ReadonlyMap<string, BuilderProbe>,
): { assignment: Assignment; moves: Move[]; unplaceable: Unplaceable[]; gone: string[] } {
  const gone = [...probes.values()].filter((p) => !p.ok).map((p) => p.builder);
  const result = reassign(assignment, new Set(gone), (b) => {
    const declared = assignment.builders.find((x) => x.name === b)?.platforms;
    const probed = probes.get(b)?.platforms ?? [];
    // What the pool declares wins; otherwise what the builder says it builds, when it says.
    return declared ?? (probed.length > 0 ? probed : undefined);
  });
  return { ...result, gone };
}

/** The lines `bake` prints about probes: each builder that is not used, and where its targets went. */
export function probeNotes(
  probes: ReadonlyMap<string, BuilderProbe>,
  moves: readonly Move[],
  selected: ReadonlySet<string>,
): string[] {
  const notes: string[] = [];
  for (const p of [...probes.values()].sort((a, b) => compareStrings(a.builder, b.builder)))
    if (!p.ok) notes.push(`builder ${p.builder} is not available: ${p.reason ?? "it does not answer"}`);
  for (const m of moves) {
    const targets = m.unit.targets.filter((t) => selected.has(t));
    if (targets.length > 0) notes.push(`${targets.join(", ")}: ${m.from} -> ${m.to} (${m.reason})`);
  }
  return notes;
}

export type TargetStatus = "built" | "failed" | "stopped" | "not started";

export interface TargetOutcome {
  status: TargetStatus;
  builder: string;
  stats?: StepStats;
  /** From its first step's start to its last step's end (rawjson progress only). */
  durationMs?: number;
  /** The builder it was on when that builder was lost (it was rebuilt on `builder`). */
  retriedFrom?: string;
  /** Why it failed: a step, or its builder lost. */
  why?: string;
}

export interface PoolOutcome {
  byTarget: Map<string, TargetOutcome>;
  metadata: Record<string, unknown>;
  /** Failed bakes, first first: their builder, exit code, what failed and the Dockerfile line buildx named. */
  failures: { builder: string; exitCode: number; message: string; at?: Progress["failedAt"] }[];
  interrupted: boolean;
  /** Lost builders and reruns, as said while running. */
  notes: string[];
}

export interface PoolDeps {
  run(argv: string[], opts: { onStderrLine: (line: string) => void; signal: AbortSignal }): Promise<RunResult>;
  /** Asks a builder whose bake failed whether it still answers. */
  probe(builder: string): Promise<BuilderProbe>;
  readMetadata(file: string): Record<string, unknown>;
  /** A new metadata file for a run on `builder`. */
  metadataFile(builder: string): string;
}

export interface PoolOptions {
  settings: PoolRunSettings;
  /** How to reach each builder (from its probe). */
  access: ReadonlyMap<string, BuilderAccess>;
  keepGoing: boolean;
  retryOnOther: boolean;
  maxParallel: number;
  /** Run directory shown before commands (`cd X && `), "" in it. */
  where: string;
  /** The user's --progress after `--`, if any (rawjson is read and shown plain-style otherwise). */
  userProgress?: string;
}

/** Prefixes every line of `text` with `[builder] ` (a blank line with `[builder]`). */
export function prefixed(builder: string, text: string): string {
  if (text === "") return "";
  return `${text
    .replace(/\n$/, "")
    .split("\n")
    .map((l) => (l === "" ? `[${builder}]` : `[${builder}] ${l}`))
    .join("\n")}\n`;
}

/**
 * Runs the bakes of a pool: at most `maxParallel` at once and one per builder at a time. A failed
 * bake stops the others (unless keepGoing); a bake whose builder no longer answers afterwards
 * lost its builder, and with retryOnOther its targets are rebuilt on the next builder of their
 * ranking (the others go on). Ctrl-C stops every bake.
 */
export async function runPool(
  initial: { assignment: Assignment; runs: PoolRun[] },
  opts: PoolOptions,
  deps: PoolDeps,
  output: Output,
): Promise<PoolOutcome> {
  let assignment = initial.assignment;
  const queue: PoolRun[] = [...initial.runs];
  const byTarget = new Map<string, TargetOutcome>();
  for (const run of queue)
    for (const t of run.targets) byTarget.set(t, { status: "not started", builder: run.builder });
  const metadata: Record<string, unknown> = {};
  const failures: PoolOutcome["failures"] = [];
  const notes: string[] = [];
  const gone = new Set<string>();
  const running = new Map<PoolRun, { controller: AbortController; done: Promise<void> }>();
  let stopping = false;
  let interrupted = false;
  const say = (text: string) => {
    notes.push(text);
    output.err(`bakeplan: ${text}\n`);
  };

  const stopAll = () => {
    stopping = true;
    for (const { controller } of running.values()) controller.abort();
  };

  const finish = async (run: PoolRun, res: RunResult, progress: Progress) => {
    if (res.interrupted) {
      interrupted = true;
      for (const t of run.targets) byTarget.get(t)!.status = "stopped";
      stopAll();
      return;
    }
    if (res.exitCode === 0) {
      const got = deps.readMetadata(run.metadataFile);
      Object.assign(metadata, got);
      for (const t of run.targets)
        byTarget.set(t, {
          ...byTarget.get(t)!,
          status: "built",
          builder: run.builder,
          stats: progress.byTarget.get(t),
          durationMs: progress.durations.get(t),
        });
      return;
    }
    if (res.canceled) {
      for (const t of run.targets) byTarget.set(t, { ...byTarget.get(t)!, status: "stopped", builder: run.builder });
      return;
    }
    // Did the bake fail, or did its builder go away? Ask the builder.
    const probe = await deps.probe(run.builder);
    if (!probe.ok) {
      gone.add(run.builder);
      const lost = `builder ${run.builder} was lost during its bake (docker buildx bake exited ${res.exitCode}; ${shellQuote(["docker", ...probe.argv])}: ${probe.reason ?? "no answer"})`;
      // Its other runs (--one-by-one) cannot start there either.
      const pending = queue.filter((r) => r.builder === run.builder);
      for (const r of pending) queue.splice(queue.indexOf(r), 1);
      const targets = [...run.targets, ...pending.flatMap((r) => r.targets)];
      if (opts.retryOnOther && !stopping) {
        const moved = reassign(assignment, gone);
        assignment = moved.assignment;
        if (moved.unplaceable.some((u) => u.unit.targets.some((t) => targets.includes(t)))) {
          say(`${lost}; no other builder can take ${targets.join(", ")}`);
        } else {
          const to = new Map<string, string[]>();
          for (const t of targets) {
            const b = assignment.builderOf.get(t)!;
            to.set(b, [...(to.get(b) ?? []), t]);
          }
          say(
            `${lost}; rebuilding on the next builder of their ranking: ${[...to].map(([b, ts]) => `${ts.join(", ")} on ${b}`).join("; ")}`,
          );
          for (const [b, ts] of to) {
            for (const t of ts) byTarget.set(t, { status: "not started", builder: b, retriedFrom: run.builder });
            queue.push(
              ...builderRuns(opts.access.get(b)!, ts, opts.settings, (x) => deps.metadataFile(x), run.builder),
            );
          }
          return;
        }
      } else say(lost);
      for (const t of run.targets)
        byTarget.set(t, {
          ...byTarget.get(t)!,
          status: "failed",
          builder: run.builder,
          why: `builder ${run.builder} lost`,
        });
      for (const r of pending) for (const t of r.targets) byTarget.get(t)!.status = "not started";
      failures.push({ builder: run.builder, exitCode: res.exitCode, message: lost });
    } else {
      const failed = progress.failedTargets.filter((t) => run.targets.includes(t));
      for (const t of run.targets)
        byTarget.set(t, {
          ...byTarget.get(t)!,
          builder: run.builder,
          status: failed.includes(t) ? "failed" : "stopped",
          ...(failed.includes(t) ? { why: "a build step failed" } : {}),
        });
      failures.push({
        builder: run.builder,
        exitCode: res.exitCode,
        message: `the bake on ${run.builder} failed with exit code ${res.exitCode}: ${failed.length > 0 ? `target ${failed.join(", ")} failed` : "see its output above"}`,
        ...(progress.failedAt ? { at: progress.failedAt } : {}),
      });
    }
    if (!opts.keepGoing) stopAll();
  };

  const start = (run: PoolRun) => {
    const controller = new AbortController();
    const raw =
      opts.userProgress === undefined || opts.userProgress === "rawjson" ? new RawProgress(run.targets) : undefined;
    const plain: string[] = [];
    const onStderrLine = (line: string) => {
      if (raw) {
        const shown = raw.feed(line);
        output.err(prefixed(run.builder, opts.userProgress === undefined ? shown : `${line}\n`));
      } else {
        plain.push(line);
        output.err(prefixed(run.builder, `${line}\n`));
      }
    };
    output.err(`bakeplan: [${run.builder}] ${opts.where}${shellQuote(["docker", ...run.argv])}\n`);
    const done = deps
      .run(run.argv, { onStderrLine, signal: controller.signal })
      .then((res) => finish(run, res, raw ? raw.result() : parsePlainProgress(plain.join("\n"), run.targets)))
      .finally(() => running.delete(run));
    running.set(run, { controller, done });
  };

  for (;;) {
    if (!stopping) {
      for (const run of [...queue]) {
        if (running.size >= opts.maxParallel) break;
        if ([...running.keys()].some((r) => r.builder === run.builder)) continue;
        queue.splice(queue.indexOf(run), 1);
        start(run);
      }
    }
    if (running.size === 0) break;
    await Promise.race([...running.values()].map((r) => r.done));
  }
  return { byTarget, metadata, failures, interrupted, notes };
}

/** A pool's outcome as the summary's per-target runs (the BUILDER column, and what became of each target). */
export function poolTargetRuns(outcome: Pick<PoolOutcome, "byTarget">): Map<string, TargetRun> {
  const runs = new Map<string, TargetRun>();
  for (const [t, o] of outcome.byTarget)
    runs.set(t, {
      // A built target is `cached` or `built` by its step counts.
      ...(o.status !== "built" ? { status: o.status } : {}),
      builder: o.builder,
      ...(o.why !== undefined ? { why: o.why } : {}),
      stats: o.stats,
      durationMs: o.durationMs,
    });
  return runs;
}

/**
 * Why a pool's bake failed, in one message: each failed bake (with its failing step, where
 * `located` names it at its template line), and how many targets were not built.
 */
export function poolFailure(
  outcome: PoolOutcome,
  located: (at: NonNullable<Progress["failedAt"]>) => string = (at) => `${at.dockerfile}:${at.line}`,
): string {
  const notBuilt = [...outcome.byTarget.values()].filter((o) => o.status !== "built").length;
  const lines = outcome.failures.map((f) => (f.at ? `${f.message}; the failing step: ${located(f.at)}` : f.message));
  return `${lines.join("; ")} (${plural(notBuilt, "target")} not built; see the summary above)`;
}

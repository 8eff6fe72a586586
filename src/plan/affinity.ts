// Builder affinity: which targets should build on the same builder because they share cached
// work. Each stage a target builds gets a key close to BuildKit's cache key for it (its
// instructions, its ARG values, its platforms and the keys of the stages and images it is built
// from or copies from); targets that build a stage with the same key can share its cache. The
// content of COPY sources is not known at plan time, so two keys can be equal where BuildKit's
// differ (a COPY of a changed file), never the other way round.

import { createHash } from "node:crypto";
import { ConfigError, formatLocation, type Issue, type SourceLocation } from "../errors.js";
import type { Resolved } from "../resolve/resolve.js";
import { compareStrings } from "../text.js";
import type { PlannedTarget } from "./targets.js";

/** One stage of a rendered Dockerfile, as far as cache keys need it. */
export interface ParsedStage {
  /** The `AS` name, lowercased as BuildKit compares them; `""` for an unnamed stage. */
  name: string;
  /** The FROM line's base, before ARG substitution. */
  base: string;
  /** FROM flags (`--platform=...`), part of the key. */
  flags: string;
  /** Instructions after FROM, one per logical line (continuations joined), comments dropped. */
  instructions: string[];
  /** ARGs the stage declares: name -> default (undefined: none). */
  args: Map<string, string | undefined>;
  /** `COPY --from=`, `RUN --mount=...,from=` references, before substitution. */
  copiesFrom: string[];
  /** Instructions that do work (every one but ARG). */
  work: number;
}

export interface ParsedDockerfile {
  /** Global ARGs (before the first FROM): name -> default. */
  globalArgs: Map<string, string | undefined>;
  stages: ParsedStage[];
}

/** Splits a Dockerfile into stages: logical lines (a trailing `\` continues), comments and blanks dropped. */
export function parseStages(text: string): ParsedDockerfile {
  const globalArgs = new Map<string, string | undefined>();
  const stages: ParsedStage[] = [];
  let pending = "";
  const logical: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (pending === "" && (line === "" || line.startsWith("#"))) continue;
    if (pending !== "" && line.startsWith("#")) continue;
    if (line.endsWith("\\")) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(pending + line);
    pending = "";
  }
  if (pending !== "") logical.push(pending);
  for (const line of logical) {
    const from = /^FROM\s+((?:--\S+\s+)*)(\S+)(?:\s+AS\s+(\S+))?\s*$/i.exec(line);
    if (from) {
      stages.push({
        name: (from[3] ?? "").toLowerCase(),
        base: from[2]!,
        flags: from[1]!.trim(),
        instructions: [],
        args: new Map(),
        copiesFrom: [],
        work: 1,
      });
      continue;
    }
    const stage = stages[stages.length - 1];
    const arg = /^ARG\s+(.+)$/i.exec(line);
    if (arg) {
      for (const [name, value] of argDeclarations(arg[1]!)) (stage ? stage.args : globalArgs).set(name, value);
      if (!stage) continue;
    }
    if (!stage) continue;
    stage.instructions.push(line);
    if (!arg) stage.work++;
    for (const m of line.matchAll(/--from=("[^"]*"|\S+)/gi)) stage.copiesFrom.push(unquote(m[1]!));
    for (const m of line.matchAll(/--mount=(\S+)/gi))
      for (const part of m[1]!.split(",")) if (/^from=/i.test(part)) stage.copiesFrom.push(unquote(part.slice(5)));
  }
  return { globalArgs, stages };
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/** `A B=c D="e f"` -> [[A, undefined], [B, c], [D, e f]]. */
function argDeclarations(decls: string): [string, string | undefined][] {
  const out: [string, string | undefined][] = [];
  for (const m of decls.matchAll(/([A-Za-z_][A-Za-z0-9_]*)(?:=("(?:[^"\\]|\\.)*"|'[^']*'|\S*))?/g)) {
    const v = m[2];
    out.push([m[1]!, v === undefined ? undefined : v.startsWith('"') || v.startsWith("'") ? v.slice(1, -1) : v]);
  }
  return out;
}

/** `${X}`, `$X`, `${X:-d}` substituted from `env`; an unknown name stays as written. */
function substitute(text: string, env: ReadonlyMap<string, string>): string {
  return text.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (whole, braced: string | undefined, fallback: string | undefined, bare: string | undefined) => {
      const v = env.get((braced ?? bare)!);
      if (v !== undefined && v !== "") return v;
      return fallback ?? v ?? whole;
    },
  );
}

/** BuildKit's automatic platform ARGs for `os/arch[/variant]`. */
function platformArgs(platform: string | undefined): Map<string, string> {
  const env = new Map<string, string>();
  if (!platform) return env;
  const [os = "", arch = "", variant = ""] = platform.split("/");
  env.set("TARGETPLATFORM", platform);
  env.set("TARGETOS", os);
  env.set("TARGETARCH", arch);
  env.set("TARGETVARIANT", variant);
  return env;
}

/** A stage a target builds: its key, the work in it and in everything it is built from. */
export interface StageKey {
  key: string;
  /** The stage's name (or `#index` for an unnamed one). */
  stage: string;
  /** Work of the stage itself. */
  work: number;
  /** Work of the stage and every stage it depends on, each counted once. */
  closureWork: number;
}

/**
 * The keys of the stages one target builds (its bake `target` stage, or the last stage when it
 * names none, and everything it needs), with the ARG values of the bake file and its platforms.
 */
export function targetStageKeys(
  parsed: ParsedDockerfile,
  target: { stage?: string; args: Readonly<Record<string, string>>; platforms: readonly string[] },
): Map<string, StageKey> {
  const platforms = target.platforms.length > 0 ? [...target.platforms].sort(compareStrings) : [undefined];
  const args = new Map(Object.entries(target.args));
  const globalEnv = new Map<string, string>();
  for (const [name, def] of parsed.globalArgs) {
    const v = args.get(name) ?? def;
    if (v !== undefined) globalEnv.set(name, v);
  }
  const byName = new Map<string, number>();
  parsed.stages.forEach((s, i) => {
    if (s.name && !byName.has(s.name)) byName.set(s.name, i);
  });
  const keyOf = new Map<number, { key: string; deps: Set<number> }>();
  // A reference to a stage (by name or index) that comes before `index`, else undefined (an image).
  const stageRef = (ref: string, index: number): number | undefined => {
    const named = byName.get(ref.toLowerCase());
    if (named !== undefined && named < index) return named;
    if (/^\d+$/.test(ref) && Number(ref) < index) return Number(ref);
    return undefined;
  };
  const visit = (index: number): { key: string; deps: Set<number> } => {
    const done = keyOf.get(index);
    if (done) return done;
    const stage = parsed.stages[index]!;
    const env = new Map(globalEnv);
    for (const [name, def] of stage.args) {
      const v = args.get(name) ?? def ?? globalEnv.get(name);
      if (v !== undefined) env.set(name, v);
    }
    const parents = new Set<string>();
    const deps = new Set<number>();
    for (const platform of platforms) {
      const penv = new Map([...env, ...platformArgs(platform)]);
      const fromEnv = new Map([...globalEnv, ...platformArgs(platform)]);
      for (const [ref, scope] of [[stage.base, fromEnv], ...stage.copiesFrom.map((c) => [c, penv] as const)] as const) {
        const resolved = substitute(ref, scope);
        const dep = stageRef(resolved, index);
        if (dep === undefined) parents.add(`image ${resolved}`);
        else {
          const d = visit(dep);
          parents.add(`stage ${d.key}`);
          deps.add(dep);
          for (const x of d.deps) deps.add(x);
        }
      }
    }
    const argValues = [...stage.args.keys()].sort(compareStrings).map((n) => `${n}=${env.get(n) ?? ""}`);
    const key = createHash("sha256")
      .update(
        JSON.stringify([
          platforms.map((p) => p ?? ""),
          stage.flags,
          [...parents].sort(compareStrings),
          argValues,
          stage.instructions,
        ]),
      )
      .digest("hex");
    const result = { key, deps };
    keyOf.set(index, result);
    return result;
  };
  const last = parsed.stages.length - 1;
  const top = target.stage === undefined ? last : (byName.get(target.stage.toLowerCase()) ?? last);
  const out = new Map<string, StageKey>();
  if (top < 0) return out;
  const root = visit(top);
  for (const index of [top, ...root.deps]) {
    const { key, deps } = keyOf.get(index)!;
    const closureWork = [index, ...deps].reduce((n, i) => n + parsed.stages[i]!.work, 0);
    const stage = parsed.stages[index]!;
    out.set(key, { key, stage: stage.name || `#${index}`, work: stage.work, closureWork });
  }
  return out;
}

/** Targets that must build on one builder: the targets of one Dockerfile, and targets linked by bake `contexts`. */
export interface AffinityUnit {
  /** Sorted target names. */
  targets: string[];
  /** What the assignment hashes: `stage <sha256>` or `affinity <value>`. */
  key: string;
  /** How the key is shown: the affinity value, or `<stage>@<12 hex digits>`. */
  label: string;
  /** The work of every distinct stage its targets build. */
  weight: number;
  /** Every platform its targets build, sorted. */
  platforms: string[];
  /** Where the key came from. */
  origin: AffinityOrigin;
}

export type AffinityOrigin =
  | { kind: "set"; source: SourceLocation; layer: string }
  | { kind: "shared"; stage: string; dockerfile: string; sharedWith: number }
  | { kind: "own"; stage: string; dockerfile: string };

/** One line on where an affinity key comes from, for `explain` and `builders`. */
export function describeOrigin(origin: AffinityOrigin): string {
  if (origin.kind === "set") return `set at ${formatLocation(origin.source)} (layer ${origin.layer})`;
  if (origin.kind === "shared")
    return `stage ${origin.stage} of ${origin.dockerfile}, the heaviest stage it shares (with ${origin.sharedWith} other unit${origin.sharedWith === 1 ? "" : "s"})`;
  return `stage ${origin.stage} of ${origin.dockerfile}: it shares no stage with another unit`;
}

/**
 * The affinity units of the planned targets and their keys. The default key of a unit is the
 * stage it shares with other units that has the most work in it (its instructions and those of
 * every stage it is built from), skipping stages every unit builds (they say nothing about where
 * to build); without one, its own heaviest stage. An `affinity:` value from context.yaml replaces
 * it; every target of a unit must then agree.
 */
export function affinityUnits(targets: readonly PlannedTarget[], bodyOf: (t: PlannedTarget) => string): AffinityUnit[] {
  const parsedByBody = new Map<string, ParsedDockerfile>();
  const keysOf = new Map<PlannedTarget, Map<string, StageKey>>();
  const memo = new Map<string, Map<string, StageKey>>();
  for (const t of targets) {
    const body = bodyOf(t);
    let parsed = parsedByBody.get(t.dockerfile);
    if (!parsed) parsedByBody.set(t.dockerfile, (parsed = parseStages(body)));
    const input = { stage: t.bake.target, args: t.bake.args ?? {}, platforms: t.bake.platforms ?? [] };
    const memoKey = `${t.dockerfile}\0${JSON.stringify(input)}`;
    let keys = memo.get(memoKey);
    if (!keys) memo.set(memoKey, (keys = targetStageKeys(parsed, input)));
    keysOf.set(t, keys);
  }

  const groups = unitsOf(targets);
  const stagesOfUnit = groups.map((members) => {
    const stages = new Map<string, StageKey & { dockerfile: string }>();
    for (const t of members)
      for (const [k, s] of keysOf.get(t)!) if (!stages.has(k)) stages.set(k, { ...s, dockerfile: t.dockerfile });
    return stages;
  });
  const unitsWith = new Map<string, number>();
  for (const stages of stagesOfUnit) for (const k of stages.keys()) unitsWith.set(k, (unitsWith.get(k) ?? 0) + 1);

  const issues: Issue[] = [];
  const units = groups.map((members, i): AffinityUnit => {
    const stages = stagesOfUnit[i]!;
    const heaviest = (list: (StageKey & { dockerfile: string })[]) =>
      list.sort((a, b) => b.closureWork - a.closureWork || compareStrings(a.key, b.key))[0];
    const shared = heaviest(
      [...stages.values()].filter((s) => {
        const n = unitsWith.get(s.key)!;
        return n > 1 && n < groups.length;
      }),
    );
    const chosen = shared ?? heaviest([...stages.values()]);
    let key = chosen ? `stage ${chosen.key}` : `target ${members[0]!.variant.name}`;
    let label = chosen ? `${chosen.stage}@${chosen.key.slice(0, 12)}` : members[0]!.variant.name;
    let origin: AffinityOrigin = shared
      ? {
          kind: "shared",
          stage: shared.stage,
          dockerfile: shared.dockerfile,
          sharedWith: unitsWith.get(shared.key)! - 1,
        }
      : { kind: "own", stage: chosen?.stage ?? "", dockerfile: members[0]!.dockerfile };
    const set = members
      .map((t) => ({ t, a: t.values.affinity, value: t.values.affinity && fillAffinity(t, t.values.affinity) }))
      .filter((x): x is { t: PlannedTarget; a: Resolved<string>; value: string } => x.a !== undefined);
    if (set.length > 0) {
      const first = set[0]!;
      const other = set.find((x) => x.value !== first.value);
      const unset = members.find((t) => t.values.affinity === undefined);
      if (other || unset) {
        const why =
          first.t.dockerfile === (other?.t ?? unset)!.dockerfile
            ? `one Dockerfile, ${first.t.dockerfile}`
            : "linked by bake contexts";
        const theirs = other
          ? `${JSON.stringify(other.value)} from ${formatLocation(other.a.source)}`
          : "none (a derived key)";
        issues.push({
          message: `${first.t.variant.name} and ${(other?.t ?? unset)!.variant.name} must build on one builder (${why}) but their affinity differs: ${JSON.stringify(first.value)} from ${formatLocation(first.a.source)} and ${theirs}. Set one affinity for all of them`,
          location: first.a.source,
        });
      }
      key = `affinity ${first.value}`;
      label = first.value;
      origin = { kind: "set", source: first.a.source, layer: first.a.layer };
    }
    const work = [...stages.values()].reduce((n, s) => n + s.work, 0);
    return {
      targets: members.map((t) => t.variant.name).sort(compareStrings),
      key,
      label,
      weight: Math.max(1, work),
      platforms: [...new Set(members.flatMap((t) => t.bake.platforms ?? []))].sort(compareStrings),
      origin,
    };
  });
  if (issues.length > 0) throw new ConfigError(issues);
  return units;
}

/** An `affinity:` pattern with its `{axis}` placeholders filled from the target's axis values. */
function fillAffinity(t: PlannedTarget, pattern: Resolved<string>): string {
  // The rule affinityPatternsUseAxes refuses any other placeholder; an axis that does not apply to the target is "".
  return pattern.value.replace(/\{([^{}]*)\}/g, (_whole, axis: string) => t.variant.values[axis] ?? "");
}

/** What grouping into units reads of a planned target. */
export interface UnitMember {
  variant: { name: string };
  dockerfile: string;
  bake: { contexts?: Readonly<Record<string, string>> };
}

/**
 * Targets grouped into units: one Dockerfile's targets together, and a target together with the
 * targets its bake `contexts` name (`target:NAME`). Sorted by their first target.
 */
export function unitsOf<T extends UnitMember>(targets: readonly T[]): T[][] {
  const parent = new Map<T, T>();
  const find = (t: T): T => {
    let root = t;
    while (parent.get(root) !== root) root = parent.get(root)!;
    for (let x = t; x !== root;) {
      const next = parent.get(x)!;
      parent.set(x, root);
      x = next;
    }
    return root;
  };
  const union = (a: T, b: T) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb)
      parent.set(
        compareStrings(ra.variant.name, rb.variant.name) <= 0 ? rb : ra,
        compareStrings(ra.variant.name, rb.variant.name) <= 0 ? ra : rb,
      );
  };
  for (const t of targets) parent.set(t, t);
  const byName = new Map(targets.map((t) => [t.variant.name, t]));
  const byDockerfile = new Map<string, T>();
  for (const t of targets) {
    const first = byDockerfile.get(t.dockerfile);
    if (first) union(first, t);
    else byDockerfile.set(t.dockerfile, t);
    for (const value of Object.values(t.bake.contexts ?? {})) {
      const linked = value.startsWith("target:") ? byName.get(value.slice("target:".length)) : undefined;
      if (linked) union(t, linked);
    }
  }
  const members = new Map<T, T[]>();
  for (const t of targets) {
    const root = find(t);
    let list = members.get(root);
    if (!list) members.set(root, (list = []));
    list.push(t);
  }
  return [...members.values()]
    .map((list) => list.sort((a, b) => compareStrings(a.variant.name, b.variant.name)))
    .sort((a, b) => compareStrings(a[0]!.variant.name, b[0]!.variant.name));
}

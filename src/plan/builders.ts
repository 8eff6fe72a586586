// Spreading a plan over a pool of builders. Each affinity unit ranks the builders by rendezvous
// (highest random weight) hashing of its key: the ranking depends on the key and the builder's
// name only, so it is the same whatever else is in the plan, and a builder that leaves the pool
// takes only its own units with it. A load cap bounds what one builder takes ("consistent hashing
// with bounded loads", Mirrokni, Thorup, Zadimoghaddam 2016): a unit goes to its best-ranked
// builder that has room, and only when none has, to the one with the most room left.

import { createHash } from "node:crypto";
import type { SourceLocation } from "../errors.js";
import { compareStrings } from "../text.js";
import type { AffinityUnit } from "./affinity.js";

/** A builder of the pool, as the plan sees it. */
export interface PoolMember {
  name: string;
  /** Its share of the load relative to the others (default 1). */
  weight: number;
  /** Platforms it builds; undefined = any. */
  platforms?: readonly string[];
  /** Where it was named: context.yaml or the command line. */
  source?: SourceLocation;
}

/** Where one unit builds, and why there. */
export interface Placement {
  unit: AffinityUnit;
  builder: string;
  /** The builders that can build its platforms, best first. */
  ranking: string[];
  /** Builders that cannot build its platforms, with the first platform each lacks. */
  ineligible: { builder: string; lacks: string }[];
  /** Position of `builder` in `ranking` (0: its first choice). */
  choice: number;
  reason: string;
}

export interface Assignment {
  builders: PoolMember[];
  loadFactor: number;
  /** In assignment order (heaviest unit first, then by key). */
  placements: Placement[];
  /** Target -> builder. */
  builderOf: Map<string, string>;
  load: Map<string, number>;
  cap: Map<string, number>;
}

/** A unit no builder of the pool can build. */
export interface Unplaceable {
  unit: AffinityUnit;
  ineligible: { builder: string; lacks: string }[];
}

/** `linux/arm64/v8` and `linux/arm64` are one platform (containerd's normalisation), as are `amd64/v1` and `amd64`. */
export function normalizePlatform(p: string): string {
  const lower = p.toLowerCase();
  const [os = "", arch = "", variant] = lower.split("/");
  const a = arch === "aarch64" ? "arm64" : arch === "x86_64" || arch === "x86-64" ? "amd64" : arch;
  if (variant === undefined) return `${os}/${a}`;
  if ((a === "arm64" && variant === "v8") || (a === "amd64" && variant === "v1")) return `${os}/${a}`;
  return `${os}/${a}/${variant}`;
}

/** The first of `platforms` the builder does not list, or undefined when it builds them all. */
export function missingPlatform(
  builder: Pick<PoolMember, "platforms">,
  platforms: readonly string[],
): string | undefined {
  if (!builder.platforms) return undefined;
  const has = new Set(builder.platforms.map(normalizePlatform));
  return platforms.find((p) => !has.has(normalizePlatform(p)));
}

/** A number in (0, 1) from sha256(key, builder): the builder's random weight for this key. */
function hashUnit(key: string, builder: string): number {
  const hex = createHash("sha256").update(`${key}\n${builder}`).digest("hex").slice(0, 13);
  return (Number.parseInt(hex, 16) + 0.5) / 2 ** 52;
}

/** Weighted rendezvous score (Schindelhauer and Schomaker 2005): `-weight / ln(h)`, higher is better. */
export function rendezvousScore(key: string, builder: PoolMember): number {
  return -builder.weight / Math.log(hashUnit(key, builder.name));
}

/** The builders ranked for a key, best first; ties (equal scores) by name. */
export function rank(key: string, builders: readonly PoolMember[]): PoolMember[] {
  return builders
    .map((b) => ({ b, score: rendezvousScore(key, b) }))
    .sort((x, y) => y.score - x.score || compareStrings(x.b.name, y.b.name))
    .map((x) => x.b);
}

/** Heaviest first, then by key and first target: an order that depends on the units, not on how they were listed. */
function assignmentOrder(a: AffinityUnit, b: AffinityUnit): number {
  return b.weight - a.weight || compareStrings(a.key, b.key) || compareStrings(a.targets[0]!, b.targets[0]!);
}

/**
 * Each builder's cap: `loadFactor` times its fair share, where a unit's weight is shared among the
 * builders that can build it in proportion to their weights.
 */
function caps(
  units: readonly AffinityUnit[],
  builders: readonly PoolMember[],
  loadFactor: number,
): Map<string, number> {
  const share = new Map(builders.map((b) => [b.name, 0]));
  for (const u of units) {
    const eligible = builders.filter((b) => missingPlatform(b, u.platforms) === undefined);
    const total = eligible.reduce((n, b) => n + b.weight, 0);
    for (const b of eligible) share.set(b.name, share.get(b.name)! + (u.weight * b.weight) / total);
  }
  // The small epsilon keeps an exact fair share (4.000000001 from float sums) from rounding up.
  return new Map([...share].map(([name, s]) => [name, Math.ceil(loadFactor * s - 1e-9)]));
}

interface Placer {
  load: Map<string, number>;
  cap: Map<string, number>;
}

/** Places one unit among `candidates` (eligible builders, best first) given the loads so far. */
function place(
  unit: AffinityUnit,
  candidates: readonly PoolMember[],
  state: Placer,
  firstChoice = "first choice",
): { builder: string; choice: number; reason: string } {
  const full: string[] = [];
  for (const [i, b] of candidates.entries()) {
    const load = state.load.get(b.name)!;
    const cap = state.cap.get(b.name)!;
    if (load + unit.weight <= cap) {
      const reason = i === 0 ? firstChoice : `choice ${i + 1}: ${full.join(", ")}`;
      return { builder: b.name, choice: i, reason };
    }
    full.push(`${b.name} full (${load} + ${unit.weight} > cap ${cap})`);
  }
  // No builder has room (a unit heavier than any cap, or platforms that leave few builders): of the
  // builders still under their cap (so none ends over it by more than this unit; with every builder
  // eligible there always is one, since the caps add up to more than all the work), the one that
  // would be least over its cap, relative to the cap; of those equally over, the one with the least
  // work already, then the ranking's order. Only when every candidate is at its cap, any of them.
  const under = candidates.some((b) => state.load.get(b.name)! < state.cap.get(b.name)!);
  let best = 0;
  let bestRatio = Infinity;
  let bestLoad = Infinity;
  for (const [i, b] of candidates.entries()) {
    const load = state.load.get(b.name)!;
    if (under && load >= state.cap.get(b.name)!) continue;
    const ratio = (load + unit.weight) / Math.max(1, state.cap.get(b.name)!);
    if (ratio < bestRatio || (ratio === bestRatio && load < bestLoad)) {
      best = i;
      bestRatio = ratio;
      bestLoad = load;
    }
  }
  return {
    builder: candidates[best]!.name,
    choice: best,
    reason: `no builder had room for its weight ${unit.weight}; the one least over its cap`,
  };
}

function eligibility(unit: AffinityUnit, builders: readonly PoolMember[]) {
  const ineligible: { builder: string; lacks: string }[] = [];
  const eligible: PoolMember[] = [];
  for (const b of builders) {
    const lacks = missingPlatform(b, unit.platforms);
    if (lacks === undefined) eligible.push(b);
    else ineligible.push({ builder: b.name, lacks });
  }
  return { eligible, ineligible: ineligible.sort((x, y) => compareStrings(x.builder, y.builder)) };
}

/**
 * Assigns every unit to a builder. Deterministic, and independent of the order of `units` and
 * `builders`. Units that no builder can build (platforms) are returned, not placed.
 */
export function assignBuilders(
  units: readonly AffinityUnit[],
  builders: readonly PoolMember[],
  loadFactor: number,
): { assignment: Assignment; unplaceable: Unplaceable[] } {
  const pool = [...builders].sort((a, b) => compareStrings(a.name, b.name));
  const ordered = [...units].sort(assignmentOrder);
  const unplaceable: Unplaceable[] = [];
  const placeable: AffinityUnit[] = [];
  for (const u of ordered) {
    const { eligible, ineligible } = eligibility(u, pool);
    if (eligible.length === 0) unplaceable.push({ unit: u, ineligible });
    else placeable.push(u);
  }
  const state: Placer = { load: new Map(pool.map((b) => [b.name, 0])), cap: caps(placeable, pool, loadFactor) };
  const placements: Placement[] = [];
  for (const unit of placeable) {
    const { eligible, ineligible } = eligibility(unit, pool);
    const ranking = rank(unit.key, eligible);
    const { builder, choice, reason } = place(unit, ranking, state);
    state.load.set(builder, state.load.get(builder)! + unit.weight);
    placements.push({ unit, builder, ranking: ranking.map((b) => b.name), ineligible, choice, reason });
  }
  return { assignment: finish(pool, loadFactor, placements, state), unplaceable };
}

function finish(pool: PoolMember[], loadFactor: number, placements: Placement[], state: Placer): Assignment {
  const builderOf = new Map<string, string>();
  for (const p of placements) for (const t of p.unit.targets) builderOf.set(t, p.builder);
  return { builders: pool, loadFactor, placements, builderOf, load: state.load, cap: state.cap };
}

/** A unit that left its builder at run time. */
export interface Move {
  unit: AffinityUnit;
  from: string;
  to: string;
  reason: string;
}

/**
 * The assignment without some builders (gone, or unable to build a unit's platforms): units on a
 * builder that stays eligible keep it; every other unit moves to its best-ranked remaining builder
 * with room (caps recomputed over the remaining builders). Units nothing can take are returned.
 */
export function reassign(
  assignment: Assignment,
  gone: ReadonlySet<string>,
  platformsOf: (builder: string) => readonly string[] | undefined = (b) =>
    assignment.builders.find((x) => x.name === b)?.platforms,
): { assignment: Assignment; moves: Move[]; unplaceable: Unplaceable[] } {
  const pool = assignment.builders
    .filter((b) => !gone.has(b.name))
    .map((b) => ({ ...b, platforms: platformsOf(b.name) }));
  const units = assignment.placements.map((p) => p.unit);
  const state: Placer = { load: new Map(pool.map((b) => [b.name, 0])), cap: new Map() };
  const kept: Placement[] = [];
  const moving: Placement[] = [];
  for (const p of assignment.placements) {
    const stays = pool.find((b) => b.name === p.builder);
    if (stays && missingPlatform(stays, p.unit.platforms) === undefined) {
      kept.push(p);
      state.load.set(p.builder, state.load.get(p.builder)! + p.unit.weight);
    } else moving.push(p);
  }
  const unplaceable: Unplaceable[] = [];
  state.cap = caps(
    units.filter((u) => pool.some((b) => missingPlatform(b, u.platforms) === undefined)),
    pool,
    assignment.loadFactor,
  );
  const moves: Move[] = [];
  const placements = [...kept];
  for (const p of moving) {
    const { eligible, ineligible } = eligibility(p.unit, pool);
    if (eligible.length === 0) {
      unplaceable.push({ unit: p.unit, ineligible });
      continue;
    }
    const ranking = rank(p.unit.key, eligible);
    const { builder, choice, reason } = place(p.unit, ranking, state, "the next builder in its ranking");
    state.load.set(builder, state.load.get(builder)! + p.unit.weight);
    const why = gone.has(p.builder)
      ? `${p.builder} is not available`
      : `${p.builder} cannot build ${missingPlatform(
          pool.find((b) => b.name === p.builder)!,
          p.unit.platforms,
        )}`;
    moves.push({ unit: p.unit, from: p.builder, to: builder, reason: `${why}; ${reason}` });
    placements.push({ unit: p.unit, builder, ranking: ranking.map((b) => b.name), ineligible, choice, reason });
  }
  placements.sort((a, b) => assignmentOrder(a.unit, b.unit));
  return { assignment: finish(pool, assignment.loadFactor, placements, state), moves, unplaceable };
}

// The builder assignment (src/plan/builders.ts): rendezvous ranking with a load cap, properties
// checked with fast-check on random pools and units.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { AffinityUnit } from "../../../src/plan/affinity.js";
import {
  assignBuilders,
  missingPlatform,
  normalizePlatform,
  rank,
  reassign,
  type Assignment,
  type PoolMember,
} from "../../../src/plan/builders.js";

const PLATFORMS = ["linux/amd64", "linux/arm64"];
const UNBOUNDED = 1e9;

function unit(id: string, key: string, weight = 1, platforms: string[] = []): AffinityUnit {
  return {
    targets: [id],
    key,
    label: key,
    weight,
    platforms,
    origin: { kind: "own", stage: "s", dockerfile: `${id}.Dockerfile` },
  };
}

const poolOf = (...members: [string, number][]): PoolMember[] => members.map(([name, weight]) => ({ name, weight }));

const builderArb = (opts: { platforms: boolean; weights: boolean }) =>
  fc
    .uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/), { minLength: 1, maxLength: 7 })
    .chain((names) =>
      fc.tuple(
        ...names.map((name) =>
          fc.record({
            name: fc.constant(name),
            weight: opts.weights ? fc.integer({ min: 1, max: 4 }) : fc.constant(1),
            platforms: opts.platforms
              ? fc.option(fc.subarray(PLATFORMS, { minLength: 1 }), { nil: undefined })
              : fc.constant(undefined),
          }),
        ),
      ),
    )
    .map((bs): PoolMember[] => bs.map((b) => (b.platforms ? b : { name: b.name, weight: b.weight })));

const unitsArb = (opts: { platforms: boolean; weights: boolean }) =>
  fc
    .array(
      fc.record({
        key: fc.constantFrom("k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"),
        weight: opts.weights ? fc.integer({ min: 1, max: 20 }) : fc.constant(1),
        platforms: opts.platforms ? fc.subarray(PLATFORMS) : fc.constant([] as string[]),
      }),
      { minLength: 1, maxLength: 30 },
    )
    .map((us) => us.map((u, i) => unit(`t${String(i).padStart(2, "0")}`, u.key, u.weight, u.platforms)));

const sorted = (a: Assignment) => [...a.builderOf].sort(([x], [y]) => (x < y ? -1 : 1));

function shuffle<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe("rank: rendezvous hashing", () => {
  it("ranks builders by sha256(key, builder): the same for a key whatever the pool's order", () => {
    const pool: PoolMember[] = ["a", "b", "c", "d"].map((name) => ({ name, weight: 1 }));
    const ranking = rank("stage abc", pool).map((b) => b.name);
    expect([...ranking].sort()).toEqual(["a", "b", "c", "d"]);
    expect(rank("stage abc", [...pool].reverse()).map((b) => b.name)).toEqual(ranking);
    // Removing a builder leaves the order of the others as it was.
    expect(
      rank(
        "stage abc",
        pool.filter((b) => b.name !== ranking[0]),
      ).map((b) => b.name),
    ).toEqual(ranking.slice(1));
  });

  it("a builder of weight 3 is ranked first for about 3 times as many keys as one of weight 1", () => {
    const pool: PoolMember[] = [
      { name: "big", weight: 3 },
      { name: "small", weight: 1 },
    ];
    let big = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) if (rank(`key-${i}`, pool)[0]!.name === "big") big++;
    // Weighted rendezvous gives weight / total weight of the keys: 0.75 here.
    expect(big / n).toBeGreaterThan(0.72);
    expect(big / n).toBeLessThan(0.78);
  });
});

describe("platforms", () => {
  it.each([
    ["linux/arm64/v8", "linux/arm64"],
    ["linux/amd64/v1", "linux/amd64"],
    ["Linux/AMD64", "linux/amd64"],
    ["linux/arm/v7", "linux/arm/v7"],
  ])("%s is %s", (p, n) => expect(normalizePlatform(p)).toBe(n));

  it("a builder without platforms builds any; one with platforms builds only those", () => {
    expect(missingPlatform({}, ["linux/riscv64"])).toBeUndefined();
    expect(missingPlatform({ platforms: ["linux/amd64", "linux/arm64/v8"] }, ["linux/arm64"])).toBeUndefined();
    expect(missingPlatform({ platforms: ["linux/amd64"] }, ["linux/amd64", "linux/arm64"])).toBe("linux/arm64");
  });
});

describe("assignBuilders: properties", () => {
  const params = { numRuns: 300 };

  it("is deterministic and independent of the order of units and builders", () => {
    fc.assert(
      fc.property(
        unitsArb({ platforms: true, weights: true }),
        builderArb({ platforms: true, weights: true }),
        fc.integer({ min: 1, max: 1000 }),
        (units, builders, seed) => {
          const a = assignBuilders(units, builders, 1.25);
          const b = assignBuilders(shuffle(units, seed), shuffle(builders, seed + 1), 1.25);
          expect(sorted(b.assignment)).toEqual(sorted(a.assignment));
          expect(b.unplaceable.map((u) => u.unit.targets)).toEqual(a.unplaceable.map((u) => u.unit.targets));
          expect(sorted(assignBuilders(units, builders, 1.25).assignment)).toEqual(sorted(a.assignment));
        },
      ),
      params,
    );
  });

  it("places every unit on a builder that builds its platforms, or reports it as unplaceable", () => {
    fc.assert(
      fc.property(
        unitsArb({ platforms: true, weights: true }),
        builderArb({ platforms: true, weights: true }),
        (units, builders) => {
          const { assignment, unplaceable } = assignBuilders(units, builders, 1.25);
          for (const p of assignment.placements) {
            const b = builders.find((x) => x.name === p.builder)!;
            expect(missingPlatform(b, p.unit.platforms), `${p.unit.targets[0]} on ${b.name}`).toBeUndefined();
          }
          for (const u of unplaceable) {
            for (const b of builders) expect(missingPlatform(b, u.unit.platforms)).toBeDefined();
            expect(assignment.builderOf.has(u.unit.targets[0]!)).toBe(false);
          }
          expect(assignment.placements.length + unplaceable.length).toBe(units.length);
        },
      ),
      params,
    );
  });

  it("keeps every builder within its cap: at most its cap with units of weight 1, and never over by more than its heaviest unit", () => {
    fc.assert(
      fc.property(
        unitsArb({ platforms: false, weights: true }),
        builderArb({ platforms: false, weights: true }),
        fc.boolean(),
        (units, builders, unitWeights) => {
          const list = unitWeights ? units.map((u) => ({ ...u, weight: 1 })) : units;
          const { assignment } = assignBuilders(list, builders, 1.25);
          for (const b of assignment.builders) {
            const load = assignment.load.get(b.name)!;
            const cap = assignment.cap.get(b.name)!;
            const heaviest = Math.max(
              0,
              ...assignment.placements.filter((p) => p.builder === b.name).map((p) => p.unit.weight),
            );
            if (unitWeights) expect(load, b.name).toBeLessThanOrEqual(cap);
            else expect(load - heaviest, b.name).toBeLessThan(Math.max(cap, 1));
          }
        },
      ),
      {
        ...params,
        // Found by CI and by 30,000-run sweeps: a unit no builder had room for went to a builder
        // already at (or over) its cap, as the least over it relative to its cap.
        examples: [
          [
            [unit("t00", "k0", 16), unit("t01", "k1", 16)],
            poolOf(["j-", 2], ["ksw34", 2], ["ts3b", 4], ["n134", 2]),
            false,
          ],
          [
            [unit("t00", "k0", 5), unit("t01", "k0", 5)],
            poolOf(["dwe", 1], ["qo-", 1], ["x--2", 3], ["i3-7-", 1]),
            false,
          ],
          [
            [unit("t00", "k0", 8), unit("t01", "k0", 7), unit("t02", "k0", 6)],
            poolOf(["v", 4], ["uvrx9uv", 1], ["fv-88", 1], ["e0--0f4", 1], ["da", 1], ["a-g-", 1], ["f2i-", 1]),
            false,
          ],
        ],
      },
    );
  });

  it("spreads one key over several builders only when the cap says so", () => {
    // 8 units of one key on 4 builders: the cap (ceil(1.25 * 8 / 4) = 3) sends 3 to the first choice.
    const units = Array.from({ length: 8 }, (_, i) => unit(`u${i}`, "same"));
    const pool = ["a", "b", "c", "d"].map((name) => ({ name, weight: 1 }));
    const { assignment } = assignBuilders(units, pool, 1.25);
    const first = rank("same", pool)[0]!.name;
    expect(assignment.load.get(first)).toBe(3);
    expect([...assignment.builderOf.values()].filter((b) => b === first)).toHaveLength(3);
    // Without a cap, all of them go to the first choice.
    expect(new Set(assignBuilders(units, pool, UNBOUNDED).assignment.builderOf.values())).toEqual(new Set([first]));
  });

  it("without a binding cap, removing a builder moves only its units, each to its next-ranked builder", () => {
    fc.assert(
      fc.property(
        unitsArb({ platforms: false, weights: true }),
        builderArb({ platforms: false, weights: true }).filter((b) => b.length >= 2),
        fc.nat(),
        (units, builders, pick) => {
          const before = assignBuilders(units, builders, UNBOUNDED).assignment;
          const removed = builders[pick % builders.length]!.name;
          const after = assignBuilders(
            units,
            builders.filter((b) => b.name !== removed),
            UNBOUNDED,
          ).assignment;
          for (const p of before.placements) {
            const now = after.builderOf.get(p.unit.targets[0]!);
            if (p.builder !== removed) expect(now).toBe(p.builder);
            else expect(now).toBe(p.ranking.find((b) => b !== removed));
          }
        },
      ),
      params,
    );
  });

  it("without a binding cap, adding a builder moves units only onto the new builder", () => {
    fc.assert(
      fc.property(
        unitsArb({ platforms: false, weights: true }),
        builderArb({ platforms: false, weights: true }),
        (units, builders) => {
          const before = assignBuilders(units, builders, UNBOUNDED).assignment;
          const added = { name: "zz-new", weight: 1 };
          const after = assignBuilders(units, [...builders, added], UNBOUNDED).assignment;
          for (const [t, b] of before.builderOf) expect([b, added.name]).toContain(after.builderOf.get(t));
        },
      ),
      params,
    );
  });

  it("with the cap, a unit that was not on a removed builder moves only to a builder it ranks higher, or off a builder that is now full", () => {
    fc.assert(
      fc.property(
        unitsArb({ platforms: false, weights: true }),
        builderArb({ platforms: false, weights: true }).filter((b) => b.length >= 2),
        fc.nat(),
        fc.boolean(),
        (units, builders, pick, add) => {
          const removed = builders[pick % builders.length]!.name;
          const small = builders.filter((b) => b.name !== removed);
          // Removing `removed` (before: the whole pool), or adding it (before: without it).
          const [beforePool, afterPool] = add ? [small, builders] : [builders, small];
          const before = assignBuilders(units, beforePool, 1.25).assignment;
          const after = assignBuilders(units, afterPool, 1.25).assignment;
          for (const p of before.placements) {
            if (p.builder === removed) continue;
            const now = after.placements.find((x) => x.unit === p.unit)!;
            if (now.builder === p.builder) continue;
            if (add && now.builder === removed) continue;
            const movedUp = now.ranking.indexOf(now.builder) < now.ranking.indexOf(p.builder);
            const oldFull = after.load.get(p.builder)! + p.unit.weight > after.cap.get(p.builder)!;
            expect(movedUp || oldFull, `${p.unit.targets[0]}: ${p.builder} -> ${now.builder}`).toBe(true);
          }
        },
      ),
      params,
    );
  });
});

describe("reassign: a builder lost at run time", () => {
  it("moves exactly the lost builder's units, each to its best-ranked remaining builder with room", () => {
    fc.assert(
      fc.property(
        unitsArb({ platforms: true, weights: true }),
        builderArb({ platforms: true, weights: true }).filter((b) => b.length >= 2),
        fc.nat(),
        (units, builders, pick) => {
          const { assignment } = assignBuilders(units, builders, 1.25);
          const lost = builders[pick % builders.length]!.name;
          const { assignment: after, moves, unplaceable } = reassign(assignment, new Set([lost]));
          for (const p of assignment.placements) {
            const now = after.builderOf.get(p.unit.targets[0]!);
            if (p.builder !== lost) expect(now).toBe(p.builder);
            else if (now === undefined) expect(unplaceable.map((u) => u.unit)).toContain(p.unit);
            else {
              expect(now).not.toBe(lost);
              expect(
                missingPlatform(
                  builders.find((b) => b.name === now)!,
                  p.unit.platforms,
                ),
              ).toBeUndefined();
            }
          }
          expect(moves.map((m) => m.unit).sort((a, b) => (a.targets[0]! < b.targets[0]! ? -1 : 1))).toEqual(
            assignment.placements
              .filter((p) => p.builder === lost && after.builderOf.has(p.unit.targets[0]!))
              .map((p) => p.unit)
              .sort((a, b) => (a.targets[0]! < b.targets[0]! ? -1 : 1)),
          );
          for (const m of moves) expect(m.reason).toMatch(new RegExp(`^${lost} is not available; `));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("a unit goes to the next builder of its ranking when that one has room", () => {
    const pool = ["a", "b", "c"].map((name) => ({ name, weight: 1 }));
    const units = [unit("x", "k1", 1), unit("y", "k2", 1), unit("z", "k3", 1)];
    const { assignment } = assignBuilders(units, pool, UNBOUNDED);
    const x = assignment.placements.find((p) => p.unit.targets[0] === "x")!;
    const { assignment: after, moves } = reassign(assignment, new Set([x.builder]));
    expect(after.builderOf.get("x")).toBe(x.ranking[1]);
    expect(moves.find((m) => m.unit.targets[0] === "x")).toMatchObject({
      from: x.builder,
      to: x.ranking[1],
      reason: `${x.builder} is not available; the next builder in its ranking`,
    });
  });

  it("moves a unit off a builder that cannot build its platforms (as probed), and says so", () => {
    const pool = [
      { name: "a", weight: 1 },
      { name: "b", weight: 1 },
    ];
    const units = [unit("m", "k", 1, ["linux/arm64"])];
    const { assignment } = assignBuilders(units, pool, 1.25);
    const on = assignment.builderOf.get("m")!;
    const other = on === "a" ? "b" : "a";
    const { assignment: after, moves } = reassign(assignment, new Set(), (b) =>
      b === on ? ["linux/amd64"] : undefined,
    );
    expect(after.builderOf.get("m")).toBe(other);
    expect(moves[0]!.reason).toMatch(new RegExp(`^${on} cannot build linux/arm64; `));
  });
});

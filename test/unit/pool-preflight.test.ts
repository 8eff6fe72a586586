// The preflight of a builder pool (`bake --builders a,b,c`), without docker: which builders answer,
// their drivers and image stores, and the registry are data; the result says, per image, whether
// the builders that will build its targets hold it, and what is left to the registry.
import { describe, expect, it } from "vitest";
import { afterProbes } from "../../src/command-support/bake-pool.js";
import { resolvePoolImages, type PoolPreflightDeps } from "../../src/command-support/images.js";
import type { ImageList, ImageNeed } from "../../src/images/collect.js";
import type { Lookup } from "../../src/images/preflight.js";
import type { BuilderProbe } from "../../src/io/buildx.js";
import type { AffinityUnit } from "../../src/plan/affinity.js";
import { assignBuilders, type Assignment } from "../../src/plan/builders.js";

function unit(targets: string[], key: string): AffinityUnit {
  return { targets, key, label: key, weight: 1, platforms: [], origin: { kind: "own", stage: "s", dockerfile: "d" } };
}

const POOL = ["e1", "e2", "e3"].map((name) => ({ name, weight: 1 }));

/** Units a, b, c on e1, e2, e3 (keys found by trying, since the ranking is a hash): one unit per builder. */
function spread(): Assignment {
  for (let i = 0; i < 1000; i++) {
    const keys = ["a", "b", "c"].map((u) => `${u}${i}`);
    const { assignment } = assignBuilders(
      keys.map((k, j) => unit([`${"abc"[j]}-runtime`, `${"abc"[j]}-dev`], k)),
      POOL,
      1e9,
    );
    if (["a", "b", "c"].every((u, j) => assignment.builderOf.get(`${u}-runtime`) === POOL[j]!.name)) return assignment;
  }
  throw new Error("no keys spread the units over the pool");
}

function need(ref: string, targets: string[], platforms = ["linux/amd64"]): ImageNeed {
  return {
    ref,
    platforms,
    targets,
    byTarget: new Map(targets.map((t) => [t, platforms])),
    sources: [],
    args: [],
  };
}

const REGISTRY_ANSWER: Lookup = { digest: `sha256:${"1".repeat(64)}`, mediaType: "", platforms: [], via: "registry" };

/** docker and the registry as data; every question asked is recorded. */
function deps(world: {
  drivers: Record<string, string | undefined>;
  down?: string[];
  stores: Record<string, string[]>;
}): PoolPreflightDeps & { asked: { stores: string[]; registry: string[] } } {
  const asked = { stores: [] as string[], registry: [] as string[] };
  return {
    asked,
    driver: (b) => Promise.resolve(world.drivers[b]),
    engineAnswers: (context) => Promise.resolve(!(world.down ?? []).includes(context)),
    localImages: (refs, context) => {
      asked.stores.push(context);
      const held = world.stores[context] ?? [];
      return Promise.resolve(new Map(refs.filter((r) => held.includes(r)).map((r) => [r, "linux/amd64"])));
    },
    resolve: (images) => {
      asked.registry.push(...images.map((n) => n.ref));
      return Promise.resolve(images.map(() => REGISTRY_ANSWER));
    },
  };
}

const ALL = ["a-dev", "a-runtime", "b-dev", "b-runtime", "c-dev", "c-runtime"];

describe("resolvePoolImages (the preflight of bake on a builder pool)", () => {
  it("an image counts as there when every builder that builds a target needing it holds it; the rest go to the registry", async () => {
    const assignment = spread();
    const list: ImageList = {
      images: [
        need("local/base:1", ALL),
        need("local/only-a:1", ["a-runtime"]),
        need("local/only-b:1", ["b-dev"]),
        need("local/amd64-only:1", ["a-dev"], ["linux/amd64", "linux/arm64"]),
      ],
      problems: [],
    };
    const d = deps({
      drivers: { e1: "docker", e2: "docker", e3: "docker" },
      stores: {
        e1: ["local/base:1", "local/only-a:1", "local/only-b:1", "local/amd64-only:1"],
        e2: ["local/base:1"],
        e3: ["local/base:1"],
      },
    });
    const lookups = await resolvePoolImages(list, assignment, ALL, d);
    expect(Object.fromEntries([...lookups].map(([ref, l]) => [ref, "via" in l ? l.via : l.failure]))).toEqual({
      "local/base:1": "local image store (e1, e2, e3)",
      "local/only-a:1": "local image store (e1)",
      // b builds on e2, whose store lacks it: e1's copy does not count.
      "local/only-b:1": "registry",
      // e1 holds it for linux/amd64 only; a-dev builds linux/arm64 too.
      "local/amd64-only:1": "registry",
    });
    expect(d.asked.registry).toEqual(["local/only-b:1", "local/amd64-only:1"]);
    expect(d.asked.stores.sort()).toEqual(["e1", "e2", "e3"]);
  });

  it("a builder that does not answer is left out: its targets' images count on the builder they move to (the bake's own assignment after the probe), not on the others", async () => {
    const assignment = spread();
    const probes = new Map<string, BuilderProbe>(
      POOL.map(({ name }) => [name, { builder: name, ok: name !== "e3", driver: "docker", platforms: [], argv: [] }]),
    );
    // Where the bake sends c's targets once e3 is found down (afterProbes, as poolPlan does).
    const to = afterProbes(assignment, probes).assignment.builderOf.get("c-runtime")!;
    expect(["e1", "e2"]).toContain(to);
    const other = to === "e1" ? "e2" : "e1";
    const list: ImageList = { images: [need("local/only-c:1", ["c-runtime", "c-dev"])], problems: [] };
    const d = deps({
      drivers: { e1: "docker", e2: "docker", e3: "docker" },
      down: ["e3"],
      stores: { [to]: ["local/only-c:1"], [other]: [], e3: ["local/only-c:1"] },
    });
    const lookups = await resolvePoolImages(list, assignment, ALL, d);
    expect(lookups.get("local/only-c:1")).toMatchObject({ via: `local image store (${to})` });
    expect(d.asked.registry).toEqual([]);
    // The builder that is down is not asked for its store.
    expect(d.asked.stores).not.toContain("e3");

    // Held only where c's targets do not go: the registry decides.
    const elsewhere = deps({
      drivers: { e1: "docker", e2: "docker", e3: "docker" },
      down: ["e3"],
      stores: { [to]: [], [other]: ["local/only-c:1"], e3: ["local/only-c:1"] },
    });
    const moved = await resolvePoolImages(list, assignment, ALL, elsewhere);
    expect(moved.get("local/only-c:1")).toMatchObject({ via: "registry" });
    expect(elsewhere.asked.registry).toEqual(["local/only-c:1"]);
  });

  it("a builder that is not docker-driven pulls from the registry: its targets' images are looked up there, its store never asked", async () => {
    const assignment = spread();
    const list: ImageList = { images: [need("local/base:1", ALL), need("local/only-a:1", ["a-dev"])], problems: [] };
    const d = deps({
      drivers: { e1: "docker", e2: "docker-container", e3: "docker" },
      stores: { e1: ["local/base:1", "local/only-a:1"], e2: ["local/base:1"], e3: ["local/base:1"] },
    });
    const lookups = await resolvePoolImages(list, assignment, ALL, d);
    expect(lookups.get("local/base:1")).toMatchObject({ via: "registry" });
    expect(lookups.get("local/only-a:1")).toMatchObject({ via: "local image store (e1)" });
    expect(d.asked.stores.sort()).toEqual(["e1", "e3"]);
  });

  it("only the selected targets count: a builder with none is not asked, and an image only they need is not there without it", async () => {
    const assignment = spread();
    const list: ImageList = { images: [need("local/only-a:1", ["a-runtime"])], problems: [] };
    const d = deps({
      drivers: { e1: "docker", e2: "docker", e3: undefined },
      stores: { e1: ["local/only-a:1"], e2: [] },
    });
    const lookups = await resolvePoolImages(list, assignment, ["a-runtime"], d);
    expect(lookups.get("local/only-a:1")).toMatchObject({ via: "local image store (e1)" });
    expect(d.asked.stores).toEqual(["e1"]);
  });
});

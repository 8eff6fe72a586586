// Affinity keys (src/plan/affinity.ts) and the planner's pool stage (src/plan/pool.ts): stage keys
// from rendered Dockerfiles, units, the key of each unit, `affinity:` overrides, bake groups.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/errors.js";
import { affinityUnits, parseStages, targetStageKeys, unitsOf, type UnitMember } from "../../../src/plan/affinity.js";
import { assignBuilders } from "../../../src/plan/builders.js";
import { buildPlan } from "../../../src/plan/plan.js";
import type { PlannedTarget } from "../../../src/plan/targets.js";
import { capturedProjectPlan, loadProject, MINI_CONTEXT, templateFiles } from "../../helpers.js";

const DOCKERFILE = `ARG BASE=img:1
FROM \${BASE} AS base
ARG X=1
# a comment
RUN echo $X \\
    && echo more
FROM --platform=linux/amd64 tool:1 AS tool_amd64
FROM --platform=linux/arm64 tool:1 AS tool_arm64
FROM tool_\${TARGETARCH} AS tool
RUN make
FROM base AS app
COPY --from=tool /out /out
RUN --mount=type=bind,from=base,source=/x,target=/y cat /y
FROM app AS dev
RUN echo dev
`;

describe("parseStages", () => {
  it("reads stages, ARGs, logical lines and the stages an instruction copies from", () => {
    const parsed = parseStages(DOCKERFILE);
    expect(parsed.globalArgs).toEqual(new Map([["BASE", "img:1"]]));
    expect(parsed.stages.map((s) => [s.name, s.base, s.flags])).toEqual([
      ["base", "${BASE}", ""],
      ["tool_amd64", "tool:1", "--platform=linux/amd64"],
      ["tool_arm64", "tool:1", "--platform=linux/arm64"],
      ["tool", "tool_${TARGETARCH}", ""],
      ["app", "base", ""],
      ["dev", "app", ""],
    ]);
    expect(parsed.stages[0]!.instructions).toEqual(["ARG X=1", "RUN echo $X  && echo more"]);
    expect(parsed.stages[0]!.args).toEqual(new Map([["X", "1"]]));
    // FROM counts as work, ARG does not.
    expect(parsed.stages.map((s) => s.work)).toEqual([2, 1, 1, 2, 3, 2]);
    expect(parsed.stages[4]!.copiesFrom).toEqual(["tool", "base"]);
  });
});

describe("targetStageKeys", () => {
  const parsed = parseStages(DOCKERFILE);
  const keys = (stage: string, args: Record<string, string> = {}, platforms = ["linux/amd64"]) =>
    targetStageKeys(parsed, { stage, args, platforms });

  it("keys the target stage and every stage it needs, resolving TARGETARCH per platform", () => {
    expect([...keys("dev").values()].map((k) => k.stage).sort()).toEqual(["app", "base", "dev", "tool", "tool_amd64"]);
    expect([...keys("dev", {}, ["linux/amd64", "linux/arm64"]).values()].map((k) => k.stage).sort()).toEqual([
      "app",
      "base",
      "dev",
      "tool",
      "tool_amd64",
      "tool_arm64",
    ]);
    const dev = [...keys("dev").values()].find((k) => k.stage === "dev")!;
    // dev (2) + app (3) + base (2) + tool (2) + tool_amd64 (1)
    expect(dev.closureWork).toBe(10);
  });

  it("the same stage with the same values has the same key in another target; an ARG value changes it and what is built on it", () => {
    const a = keys("dev");
    const b = keys("app");
    const stage = (m: typeof a, name: string) => [...m.values()].find((k) => k.stage === name)!.key;
    expect(stage(a, "base")).toBe(stage(b, "base"));
    expect(stage(a, "app")).toBe(stage(b, "app"));
    const c = keys("dev", { X: "2" });
    expect(stage(c, "base")).not.toBe(stage(a, "base"));
    expect(stage(c, "app")).not.toBe(stage(a, "app"));
    expect(stage(c, "tool")).toBe(stage(a, "tool"));
    // A global ARG reaches the FROM line.
    expect(stage(keys("dev", { BASE: "img:2" }), "base")).not.toBe(stage(a, "base"));
    // Platforms are part of the key.
    expect(stage(keys("dev", {}, ["linux/arm64"]), "base")).not.toBe(stage(a, "base"));
  });

  it("a target that names no stage builds the last one (bake without `target`)", () => {
    const last = targetStageKeys(parsed, { args: {}, platforms: ["linux/amd64"] });
    expect([...last.keys()]).toEqual([...keys("dev").keys()]);
  });
});

describe("affinityUnits on the end-to-end fixture", () => {
  it("keys each Dockerfile by its framework stage, the heaviest it shares; the shared stage of every Dockerfile is skipped", () => {
    const { plan } = capturedProjectPlan();
    const units = affinityUnits(plan.targets, bodyOf(plan.targets, plan));
    // The template's branch on the stage axis gives runtime and dev a Dockerfile each: a unit each.
    const targets = ["alpha-cuda12", "alpha-cuda13", "beta-cuda12", "beta-cuda13"].flatMap((t) => [t, `${t}-dev`]);
    expect(units.map((u) => [u.targets, u.label.replace(/@.*/, "")])).toEqual(targets.map((t) => [[t], "framework"]));
    // The runtime and dev targets of one framework and CUDA version share their framework stage
    // (the runtime stage differs by the branch), more work than the toolkit stage one CUDA
    // version's four targets share: one key per pair.
    for (let i = 0; i < units.length; i += 2) expect(units[i]!.key, targets[i]).toBe(units[i + 1]!.key);
    expect(new Set(units.map((u) => u.key)).size).toBe(4);
    expect(units[0]!.origin).toEqual({
      kind: "shared",
      stage: "framework",
      dockerfile: "bake/alpha-cuda12.Dockerfile",
      sharedWith: 1,
    });
    // shared (FROM + RUN) + toolkit (FROM + RUN) + framework (FROM + RUN) + runtime (FROM, LABEL, RUN, CMD)
    expect(units[0]!.weight).toBe(10);
    // + the branch's LABEL in runtime + dev (FROM, LABEL, RUN)
    expect(units[1]!.weight).toBe(14);
    // beta-cuda13-dev builds the combination's stage debug (FROM, LABEL) on top of dev.
    expect(units[7]!.weight).toBe(16);
    expect(units[0]!.platforms).toEqual(["linux/amd64"]);
  });
});

function bodyOf(targets: readonly PlannedTarget[], plan: { files: { path: string; content: string }[] }) {
  const byPath = new Map(plan.files.map((f) => [f.path, f.content]));
  return (t: PlannedTarget) => byPath.get(t.dockerfile)!;
}

const POOL = `builders:
  pool:
    - name: b1
    - name: b2
      platforms: [linux/amd64, linux/arm64]
      weight: 2
`;

describe("the pool in the plan", () => {
  const templates = templateFiles();

  it("adds a bake group per builder with its targets, and every target is in exactly one", () => {
    const plan = buildPlan(loadProject(`${MINI_CONTEXT}${POOL}`), templates, { configLabel: "context.yaml" });
    const b = plan.builders!;
    expect(b.fromCommandLine).toBe(false);
    const members = [...b.groups.values()].flat().sort();
    expect(members).toEqual(plan.targets.map((t) => t.variant.name).sort());
    for (const [group, targets] of b.groups) {
      expect(plan.bakeFile.group[group]).toEqual({ targets });
      for (const t of targets) expect(`builder-${b.assignment.builderOf.get(t)}`).toBe(group);
    }
    // One Dockerfile's targets share a builder.
    expect(b.assignment.builderOf.get("vllm")).toBe(b.assignment.builderOf.get("vllm-dev"));
  });

  it("--builders replaces the pool; a name of the pool keeps its platforms and weight", () => {
    const plan = buildPlan(loadProject(`${MINI_CONTEXT}${POOL}`), templates, {
      configLabel: "context.yaml",
      builders: ["b2", "x"],
    });
    expect(plan.builders!.fromCommandLine).toBe(true);
    expect(plan.builders!.assignment.builders).toEqual([
      {
        name: "b2",
        weight: 2,
        platforms: ["linux/amd64", "linux/arm64"],
        source: { file: "command line", path: "--builders" },
      },
      { name: "x", weight: 1, platforms: undefined, source: { file: "command line", path: "--builders" } },
    ]);
    expect(
      Object.keys(plan.bakeFile.group)
        .filter((g) => g.startsWith("builder-"))
        .sort(),
    ).toEqual([...plan.builders!.groups.keys()].sort());
  });

  it("without a pool, the plan has no builders and no builder groups", () => {
    const plan = buildPlan(loadProject(MINI_CONTEXT), templates, { configLabel: "context.yaml" });
    expect(plan.builders).toBeUndefined();
    expect(Object.keys(plan.bakeFile.group).some((g) => g.startsWith("builder-"))).toBe(false);
    expect(plan.timings.builders).toBeUndefined();
  });

  it("an affinity from context.yaml replaces the derived key, with its source", () => {
    const yaml = `${MINI_CONTEXT}${POOL}combinations:\n  - when: { framework: vllm }\n    affinity: "fw-{framework}"\n`;
    const plan = buildPlan(loadProject(yaml), templates, { configLabel: "context.yaml" });
    const unit = plan.builders!.unitOf.get("vllm-ubi-dev")!;
    expect(unit.label).toBe("fw-vllm");
    expect(unit.key).toBe("affinity fw-vllm");
    expect(unit.origin).toMatchObject({
      kind: "set",
      layer: "framework=vllm",
      source: { file: "context.yaml", line: 39, path: "combinations[0].affinity" },
    });
    // Both vllm Dockerfiles share the key, so both rank the builders alike.
    expect(plan.builders!.unitOf.get("vllm")!.key).toBe(unit.key);
    expect(plan.builders!.unitOf.get("sglang")!.origin.kind).not.toBe("set");
  });

  it("targets of one Dockerfile with different affinities are an error naming both and where each is set", () => {
    const yaml = `${MINI_CONTEXT}${POOL}combinations:\n  - when: { target: dev }\n    affinity: dev-builds\n`;
    let error: unknown;
    try {
      buildPlan(loadProject(yaml), templates, { configLabel: "context.yaml" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const messages = (error as ConfigError).issues.map((i) => i.message);
    // One per Dockerfile: sglang, sglang-ubi, vllm, vllm-ubi.
    expect(messages).toHaveLength(4);
    expect(messages.find((m) => m.startsWith("vllm-dev "))).toMatch(
      /^vllm-dev and vllm must build on one builder \(one Dockerfile, bake\/vllm.Dockerfile\) but their affinity differs: "dev-builds" from context.yaml:39:15: combinations\[0\].affinity and none \(a derived key\)\. Set one affinity for all of them$/,
    );
  });

  it("a target no builder can build is an error naming its platforms and what each builder lacks", () => {
    const yaml = MINI_CONTEXT.replace("platforms: [linux/amd64]", "platforms: [linux/amd64, linux/s390x]");
    expect(() =>
      buildPlan(
        loadProject(`${yaml}${POOL.replace("    - name: b1\n", "    - name: b1\n      platforms: [linux/amd64]\n")}`),
        templates,
        {
          configLabel: "context.yaml",
        },
      ),
    ).toThrow(
      /No builder can build vllm, vllm-dev \(platforms linux\/amd64, linux\/s390x\): b1 lacks linux\/s390x; b2 lacks linux\/s390x/,
    );
  });

  it("a builder whose group is the name of a target or group is an error", () => {
    const yaml = `${MINI_CONTEXT}builders:\n  pool:\n    - name: x\ngroups:\n  define:\n    builder-x: { target: dev }\n`;
    expect(() => buildPlan(loadProject(yaml), templates, { configLabel: "context.yaml" })).toThrow(
      /context.yaml:\d+:\d+: builders.pool\[0\].name: Builder "x" gets the bake group "builder-x", which is already the name of a group/,
    );
  });
});

describe("units: targets linked by bake contexts never split", () => {
  const target = (name: string, dockerfile: string, links: string[]): UnitMember => ({
    variant: { name },
    dockerfile,
    bake: { contexts: Object.fromEntries(links.map((l, i) => [`c${i}`, `target:${l}`])) },
  });

  it("puts one Dockerfile's targets and every contexts link in one unit, and the assignment keeps a unit on one builder", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }).chain((n) =>
          fc.tuple(
            fc.array(fc.integer({ min: 0, max: 5 }), { minLength: n, maxLength: n }),
            fc.array(fc.tuple(fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 0, max: n - 1 })), {
              maxLength: 6,
            }),
          ),
        ),
        ([dockerfiles, links]) => {
          const names = dockerfiles.map((_, i) => `t${i}`);
          const targets = names.map((name, i) =>
            target(
              name,
              `d${dockerfiles[i]}`,
              links.filter(([a]) => a === i).map(([, b]) => names[b]!),
            ),
          );
          const units = unitsOf(targets);
          const unitOf = new Map(units.flatMap((u, i) => u.map((t) => [t.variant.name, i] as const)));
          expect(units.flat()).toHaveLength(targets.length);
          for (const [a, b] of links) expect(unitOf.get(names[a]!)).toBe(unitOf.get(names[b]!));
          for (let i = 0; i < targets.length; i++)
            for (let j = 0; j < targets.length; j++)
              if (dockerfiles[i] === dockerfiles[j]) expect(unitOf.get(names[i]!)).toBe(unitOf.get(names[j]!));
          // A unit is placed whole: all its targets get the same builder.
          const { assignment } = assignBuilders(
            units.map((u, i) => ({
              targets: u.map((t) => t.variant.name),
              key: `k${i % 3}`,
              label: "",
              weight: u.length,
              platforms: [],
              origin: { kind: "own", stage: "", dockerfile: "" },
            })),
            [
              { name: "a", weight: 1 },
              { name: "b", weight: 1 },
            ],
            1.25,
          );
          for (const [a, b] of links)
            expect(assignment.builderOf.get(names[a]!)).toBe(assignment.builderOf.get(names[b]!));
        },
      ),
      { numRuns: 300 },
    );
  });
});

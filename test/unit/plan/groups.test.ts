import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/errors.js";
import { expandMatrix } from "../../../src/matrix/expand.js";
import { computeGroups, plannedGroups } from "../../../src/plan/groups.js";
import { loadProject, MINI_CONTEXT } from "../../helpers.js";

describe("plannedGroups", () => {
  it("keeps only planned members and drops the groups left empty", () => {
    const groups = new Map([
      ["all", ["a", "b", "c"]],
      ["gpu", ["b"]],
      ["default", ["a", "c"]],
    ]);
    expect([...plannedGroups(groups, new Set(["a", "c"]))]).toEqual([
      ["all", ["a", "c"]],
      ["default", ["a", "c"]],
    ]);
  });
});

describe("computeGroups: a group that is a union", () => {
  const groups = (define: string) => {
    const project = loadProject(`${MINI_CONTEXT}groups:\n  per_axis: [os]\n  define:\n${define}`);
    const matrix = expandMatrix(project);
    return computeGroups(project, matrix.variants, matrix.excluded);
  };

  it("adds up selectors, target names and other groups (Dynamo's PR set: runtime and dev, plus one more image)", () => {
    const g = groups(
      "    pr: [{framework: vllm, target: [runtime, dev]}, sglang-ubi, gpu]\n    gpu: {os: ubi, target: dev}\n",
    );
    expect(g.get("pr")).toEqual(["sglang-ubi", "sglang-ubi-dev", "vllm", "vllm-dev", "vllm-ubi", "vllm-ubi-dev"]);
    expect(groups("    base: [ubi, {framework: vllm, os: ubuntu}]\n").get("base")).toEqual([
      "sglang-ubi",
      "sglang-ubi-dev",
      "vllm",
      "vllm-dev",
      "vllm-ubi",
      "vllm-ubi-dev",
    ]);
  });

  it.each([
    {
      name: "an unknown name, with did-you-mean",
      define: "    pr: [{target: dev}, vlm]\n",
      message:
        'context.yaml:34:25: groups.define.pr[1]: Unknown target or group "vlm" in group "pr". Did you mean "vllm"?',
    },
    {
      name: "groups that include each other",
      define: "    a: [b]\n    b: [{os: ubi}, a]\n",
      message: "context.yaml:34:5: groups.define.a: Groups a -> b -> a include each other",
    },
  ])("refuses $name", ({ define, message }) => {
    expect(() => groups(define)).toThrow(message);
  });

  it("says so when a name is an excluded combination", () => {
    const project = loadProject(
      `${MINI_CONTEXT}exclude:\n  - when: {framework: sglang, os: ubi}\n    reason: no\ngroups:\n  define:\n    pr: [sglang-ubi]\n`,
    );
    const matrix = expandMatrix(project);
    expect(() => computeGroups(project, matrix.variants, matrix.excluded)).toThrow(
      'Unknown target or group "sglang-ubi" in group "pr". "sglang-ubi" is an excluded combination.',
    );
  });
});

describe("computeGroups", () => {
  const groupsOf = (extra: string) => {
    const project = loadProject(`${MINI_CONTEXT}${extra}`);
    const matrix = expandMatrix(project);
    return computeGroups(project, matrix.variants, matrix.excluded);
  };

  it("has all, one group per value of the per_axis axes, the defined ones, and default as all", () => {
    const groups = groupsOf("groups:\n  per_axis: [os]\n  define:\n    gpu: {framework: vllm, target: runtime}\n");
    expect([...groups.keys()]).toEqual(["all", "ubuntu", "ubi", "gpu", "default"]);
    expect(groups.get("ubi")).toEqual(["sglang-ubi", "sglang-ubi-dev", "vllm-ubi", "vllm-ubi-dev"]);
    expect(groups.get("gpu")).toEqual(["vllm", "vllm-ubi"]);
    expect(groups.get("default")).toEqual(groups.get("all"));
  });

  it("merges a defined group into the per-axis group of the same name, and leaves out empty groups", () => {
    const groups = groupsOf(
      "groups:\n  per_axis: [os]\n  define:\n    ubi: {framework: vllm, os: ubuntu, target: runtime}\n" +
        "exclude:\n  - when: {os: ubuntu, framework: sglang}\n    reason: r\n",
    );
    expect(groups.get("ubi")).toEqual(["sglang-ubi", "sglang-ubi-dev", "vllm", "vllm-ubi", "vllm-ubi-dev"]);
  });

  it("refuses, at the key, a group name bake rejects and one that is a target's name", () => {
    let error: unknown;
    try {
      groupsOf("groups:\n  define:\n    gpu.x: {framework: vllm}\n    vllm-dev: {framework: vllm}\n");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => [i.location?.path, i.message.slice(0, 30)])).toEqual([
      ['groups.define["gpu.x"]', 'Group name "gpu.x" has charact'],
      ["groups.define.vllm-dev", 'Group "vllm-dev" has the name '],
    ]);
  });
});

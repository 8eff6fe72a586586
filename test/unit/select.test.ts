import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { expandMatrix } from "../../src/matrix/expand.js";
import { selectBakeTargets, selectVariants, type Selectable } from "../../src/matrix/select.js";
import { computeGroups } from "../../src/plan/groups.js";
import { loadProject, MINI_CONTEXT } from "../helpers.js";

const ALL = ["sglang", "sglang-dev", "sglang-ubi", "sglang-ubi-dev", "vllm", "vllm-dev", "vllm-ubi", "vllm-ubi-dev"];

function selectable(
  yaml = `${MINI_CONTEXT}groups:\n  define:\n    gpu: {framework: vllm, target: runtime}\n`,
): Selectable {
  const project = loadProject(yaml);
  const { variants } = expandMatrix(project);
  return { variants, groups: computeGroups(project, variants), axes: project.axes };
}

function usageError(run: () => unknown): UsageError {
  try {
    run();
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error("expected a UsageError");
}

describe("selectVariants", () => {
  it("keeps matrix order whatever the order of the selectors", () => {
    const from = selectable();
    expect(selectVariants(from, ["vllm-ubi", "sglang"]).map((v) => v.name)).toEqual(["vllm-ubi", "sglang"]);
    expect(selectVariants(from, ["sglang", "vllm-ubi"]).map((v) => v.name)).toEqual(["vllm-ubi", "sglang"]);
  });

  it("reports every unknown name and bad selector in one error, the closest names and the counts once", () => {
    const e = usageError(() => selectVariants(selectable(), ["vllm-ub", "framework=trt", "glu", "os=ubi", "gpu"]));
    expect(e.message.split("\n")).toEqual([
      'Unknown target or group "vllm-ub". Did you mean "vllm-ubi", "vllm-ubi-dev"?',
      'Unknown value "trt" for axis "framework" in selector "framework=trt". Values: vllm, sglang',
      'Unknown target or group "glu". Did you mean "gpu"?',
      "8 targets and 3 groups; `bakeplan list` lists the targets",
    ]);
  });

  it("suggests the closest axis and value", () => {
    expect(usageError(() => selectVariants(selectable(), ["framewrk=vllm"])).message).toBe(
      'Unknown axis "framewrk" in selector "framewrk=vllm". Did you mean "framework"? Axes: framework, os, target',
    );
    expect(usageError(() => selectVariants(selectable(), ["framework=vlm"])).message).toBe(
      'Unknown value "vlm" for axis "framework" in selector "framework=vlm". Did you mean "vllm"? Values: vllm, sglang',
    );
  });

  it("counts the targets only when a name is wrong", () => {
    expect(usageError(() => selectVariants(selectable(), ["os"])).message).toContain("\n8 targets and 3 groups;");
    expect(usageError(() => selectVariants(selectable(), ["os=deb"])).message).not.toContain("targets and");
  });
});

describe("selectBakeTargets", () => {
  const sorted = (from: Selectable): Selectable => ({
    ...from,
    variants: [...from.variants].sort((a, b) => (a.name < b.name ? -1 : 1)),
  });

  // prettier-ignore
  it.each([
    { name: "nothing: the default group", names: [], only: [], args: ["default"], targets: ALL },
    { name: "a target", names: ["vllm-dev"], only: [], args: ["vllm-dev"], targets: ["vllm-dev"] },
    { name: "a group stays a group for buildx", names: ["gpu", "sglang"], only: [], args: ["gpu", "sglang"], targets: ["sglang", "vllm", "vllm-ubi"] },
    { name: "--only names its targets", names: [], only: ["os=ubi,target=dev"], args: ["sglang-ubi-dev", "vllm-ubi-dev"], targets: ["sglang-ubi-dev", "vllm-ubi-dev"] },
    { name: "--only with a target", names: ["sglang"], only: ["gpu"], args: ["sglang", "vllm", "vllm-ubi"], targets: ["sglang", "vllm", "vllm-ubi"] },
  ])("$name", ({ names, only, args, targets }) => {
    expect(selectBakeTargets(sorted(selectable()), names, only)).toEqual({ args, targets });
  });

  it("reports unknown positional names and --only selectors together", () => {
    const e = usageError(() => selectBakeTargets(selectable(), ["vlm", "gpu"], ["os=deb", "sglang-ub"]));
    expect(e.message.split("\n").slice(0, 3)).toEqual([
      'Unknown target or group "vlm". Did you mean "vllm"?',
      'Unknown value "deb" for axis "os" in selector "os=deb". Values: ubuntu, ubi',
      'Unknown target or group "sglang-ub". Did you mean "sglang-ubi", "sglang-ubi-dev", "sglang", "sglang-dev"?',
    ]);
  });

  it("takes no axis selector as a positional name (buildx only knows targets and groups)", () => {
    expect(usageError(() => selectBakeTargets(selectable(), ["os=ubi"], [])).message).toContain(
      'Unknown target or group "os=ubi".',
    );
  });
});

import { describe, expect, it } from "vitest";
import { ConfigError, UsageError } from "../../src/errors.js";
import { expandMatrix } from "../../src/matrix/expand.js";
import { selectVariants } from "../../src/matrix/select.js";
import { computeGroups } from "../../src/plan/groups.js";
import { loadProject, MINI_CONTEXT } from "../helpers.js";

// MINI_CONTEXT: framework [vllm, sglang] x os [ubuntu (name ""), ubi] x target [runtime (name ""), dev].

const ALL = ["vllm", "vllm-dev", "vllm-ubi", "vllm-ubi-dev", "sglang", "sglang-dev", "sglang-ubi", "sglang-ubi-dev"];

function names(yaml: string, opts: { strict?: boolean; maxVariants?: number } = {}): string[] {
  return expandMatrix(loadProject(yaml), opts).variants.map((v) => v.name);
}

function expandError(yaml: string, opts: { strict?: boolean; maxVariants?: number } = {}): ConfigError {
  const project = loadProject(yaml);
  try {
    expandMatrix(project, opts);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected expandMatrix to throw a ConfigError");
}

describe("expandMatrix", () => {
  it("builds the product of the axes in axis order, naming targets from the name tokens", () => {
    const { variants, excluded, warnings } = expandMatrix(loadProject(MINI_CONTEXT));
    expect(variants.map((v) => v.name)).toEqual(ALL);
    expect(excluded).toEqual([]);
    expect(warnings).toEqual([]);
    expect(variants.find((v) => v.name === "sglang-ubi-dev")).toMatchObject({
      values: { framework: "sglang", os: "ubi", target: "dev" },
      dockerfileName: "sglang-ubi",
    });
  });

  it("takes a name token from `name`", () => {
    const yaml = MINI_CONTEXT.replace("    dev: {}", "    dev: {name: devel, stage: development}");
    const dev = expandMatrix(loadProject(yaml)).variants.find(
      (v) => v.values.target === "dev" && v.values.framework === "vllm" && v.values.os === "ubuntu",
    );
    expect(dev).toMatchObject({ name: "vllm-devel", dockerfileName: "vllm" });
  });

  it("names the Dockerfile `Dockerfile` when only the stage axis contributes tokens", () => {
    const yaml = `project: {name: p}\naxes:\n  target: [runtime, dev]\nstage_axis: target\npublish: {registry: r.example.com, repository: p, tags: ["{name}"]}\n`;
    expect(expandMatrix(loadProject(yaml)).variants.map((v) => [v.name, v.dockerfileName])).toEqual([
      ["runtime", "Dockerfile"],
      ["dev", "Dockerfile"],
    ]);
  });

  it("drops excluded combinations and keeps them, with the rule, for list --all and explain", () => {
    const { variants, excluded } = expandMatrix(
      loadProject(`${MINI_CONTEXT}exclude:\n  - when: {framework: sglang, os: ubi}\n    reason: no sglang on UBI\n`),
    );
    expect(variants.map((v) => v.name)).toEqual([
      "vllm",
      "vllm-dev",
      "vllm-ubi",
      "vllm-ubi-dev",
      "sglang",
      "sglang-dev",
    ]);
    expect(excluded.map((e) => [e.name, e.rule.reason, e.rule.path])).toEqual([
      ["sglang-ubi", "no sglang on UBI", ["exclude", 0]],
      ["sglang-ubi-dev", "no sglang on UBI", ["exclude", 0]],
    ]);
  });

  it("re-adds combinations an include matches, even though an exclude matches them too", () => {
    const yaml = `${MINI_CONTEXT}exclude:\n  - when: {os: ubi}\n    reason: UBI on request only\ninclude:\n  - when: {framework: vllm, os: ubi}\n    reason: OpenShift users\n`;
    const { variants, excluded } = expandMatrix(loadProject(yaml));
    expect(variants.map((v) => v.name)).toEqual([
      "vllm",
      "vllm-dev",
      "vllm-ubi",
      "vllm-ubi-dev",
      "sglang",
      "sglang-dev",
    ]);
    expect(variants.filter((v) => v.includedBy).map((v) => [v.name, v.includedBy?.reason])).toEqual([
      ["vllm-ubi", "OpenShift users"],
      ["vllm-ubi-dev", "OpenShift users"],
    ]);
    expect(excluded.map((e) => e.name)).toEqual(["sglang-ubi", "sglang-ubi-dev"]);
  });

  it("reads a list in a selector as 'any of these values'", () => {
    const yaml = `${MINI_CONTEXT}exclude:\n  - when: {framework: [vllm, sglang], target: dev}\n    reason: no dev images\n`;
    expect(names(yaml)).toEqual(["vllm", "vllm-ubi", "sglang", "sglang-ubi"]);
  });

  it("does not warn when every exclude and include takes effect", () => {
    const yaml = `${MINI_CONTEXT}exclude:\n  - when: {os: ubi}\n    reason: a\n  - when: {framework: sglang, target: dev}\n    reason: b\ninclude:\n  - when: {framework: vllm, os: ubi}\n    reason: c\n`;
    expect(expandMatrix(loadProject(yaml)).warnings).toEqual([]);
  });

  const location = (w: { message: string; location?: { line?: number; col?: number; path?: string } }) =>
    `${w.location?.line}:${w.location?.col}: ${w.location?.path}: ${w.message}`;

  it("warns about an exclude that removes nothing, and --strict makes it an error", () => {
    // exclude[1] only matches combinations exclude[0] already removes.
    const yaml = `${MINI_CONTEXT}exclude:\n  - when: {framework: sglang, os: ubi}\n    reason: a\n  - when: {framework: sglang, os: ubi, target: dev}\n    reason: b\n`;
    const { warnings, variants } = expandMatrix(loadProject(yaml));
    expect(variants).toHaveLength(6);
    expect(warnings.map(location)).toEqual([
      "34:5: exclude[1]: This exclude only matches combinations an earlier exclude already matches (framework=sglang, os=ubi, target=dev)",
    ]);
    expect(expandError(yaml, { strict: true }).message).toContain(
      "context.yaml:34:5: exclude[1]: This exclude only matches combinations an earlier exclude already matches (framework=sglang, os=ubi, target=dev) (an error with --strict)",
    );
  });

  it("warns about an include that re-adds nothing", () => {
    const yaml = `${MINI_CONTEXT}exclude:\n  - when: {os: ubi}\n    reason: a\ninclude:\n  - when: {framework: vllm, os: ubi}\n    reason: b\n  - when: {framework: vllm, os: ubi, target: dev}\n    reason: c\n`;
    expect(expandMatrix(loadProject(yaml)).warnings.map(location)).toEqual([
      "37:5: include[1]: This include only matches combinations an earlier include already matches (framework=vllm, os=ubi, target=dev)",
    ]);
  });

  it("warns about an include that matches nothing any exclude removes, and --strict makes it an error", () => {
    const yaml = `${MINI_CONTEXT}include:\n  - when: {framework: vllm, os: ubi}\n    reason: nothing excludes it\n`;
    expect(expandMatrix(loadProject(yaml)).warnings.map(location)).toEqual([
      "32:5: include[0]: This include only matches combinations no exclude removes (framework=vllm, os=ubi); it has no effect",
    ]);
    expect(expandError(yaml, { strict: true }).message).toContain("it has no effect (an error with --strict)");
  });

  it("fails when two variants get the same target name, naming both", () => {
    const yaml = MINI_CONTEXT.replace("    ubi:\n", '    ubi:\n      name: ""\n');
    expect(expandError(yaml).message).toContain(
      'Two variants map to the target name "vllm": framework=vllm, os=ubuntu, target=runtime and framework=vllm, os=ubi, target=runtime. Give the axis values distinct `name` tokens',
    );
  });

  it("fails when a `name` token has characters bake rejects", () => {
    const yaml = MINI_CONTEXT.replace("    ubi:\n", '    ubi:\n      name: "ubi9.4"\n');
    const message = expandError(yaml).message;
    expect(message).toContain(
      'context.yaml:17:13: axes.os.ubi.name: Target name "vllm-ubi9.4" (framework=vllm, os=ubi, target=runtime) has characters bake rejects: the `name` of os=ubi is "ubi9.4"',
    );
    expect(message).toContain("only [a-zA-Z0-9_-] are allowed");
  });

  it("derives a bake-safe token from a value without `name:`: each run of other characters becomes _", () => {
    const yaml = MINI_CONTEXT.replace("    ubi:\n", '    "ubi9.4":\n').replace("    sglang:\n", '    "sg lang/1.0":\n');
    const { variants } = expandMatrix(loadProject(yaml));
    expect(variants.map((v) => v.name)).toContain("vllm-ubi9_4-dev");
    expect(variants.map((v) => v.name)).toContain("sg_lang_1_0-ubi9_4");
    // The value itself is untouched: templates, tags and labels read it.
    expect(variants.find((v) => v.name === "vllm-ubi9_4")?.values.os).toBe("ubi9.4");
  });

  it("names both variants when two values derive the same token", () => {
    const yaml = MINI_CONTEXT.replace("    ubi:\n", '    "ubi.9":\n      package_manager: dnf\n    ubi_9:\n');
    expect(expandError(yaml).message).toContain(
      'Two variants map to the target name "vllm-ubi_9": framework=vllm, os=ubi.9, target=runtime and framework=vllm, os=ubi_9, target=runtime',
    );
  });

  it("fails when every combination is excluded", () => {
    expect(
      expandError(`${MINI_CONTEXT}exclude:\n  - when: {target: [runtime, dev]}\n    reason: none\n`).message,
    ).toContain("context.yaml:32:3: exclude: Every combination is excluded: the matrix produces no variant");
  });

  it.each([
    { name: "limits.max_variants", yaml: `${MINI_CONTEXT}limits: {max_variants: 7}\n`, opts: {}, limit: 7 },
    { name: "--max-variants", yaml: MINI_CONTEXT, opts: { maxVariants: 5 }, limit: 5 },
  ])("stops at the variant limit from $name", ({ yaml, opts, limit }) => {
    expect(expandError(yaml, opts).message).toContain(
      `More than ${limit} variants: the matrix is larger than limits.max_variants`,
    );
  });

  it("lets --max-variants raise limits.max_variants", () => {
    expect(names(`${MINI_CONTEXT}limits: {max_variants: 2}\n`, { maxVariants: 8 })).toEqual(ALL);
  });

  it("refuses a product far above the limit before enumerating it", () => {
    const values = Array.from({ length: 60 }, (_, i) => `v${i}`).join(", ");
    const yaml = `project: {name: p}\naxes:\n  a: [${values}]\n  b: [${values}]\n  c: [${values}]\n  target: [runtime]\nstage_axis: target\npublish: {registry: r.example.com, repository: p, tags: ["{name}"]}\nlimits: {max_variants: 100}\n`;
    expect(expandError(yaml).message).toContain(
      "The matrix has 216000 combinations, far above the limit of 100 variants",
    );
  });
});

describe("selectVariants", () => {
  const yaml = `${MINI_CONTEXT}groups:\n  define:\n    gpu: {framework: vllm, target: runtime}\n`;

  function select(selectors: string[]): string[] {
    const project = loadProject(yaml);
    const { variants } = expandMatrix(project);
    return selectVariants({ variants, groups: computeGroups(project, variants), axes: project.axes }, selectors).map(
      (v) => v.name,
    );
  }

  // prettier-ignore
  it.each([
    { selectors: [], expected: ALL },
    { selectors: ["framework=vllm"], expected: ["vllm", "vllm-dev", "vllm-ubi", "vllm-ubi-dev"] },
    { selectors: ["framework=vllm,os=ubi"], expected: ["vllm-ubi", "vllm-ubi-dev"] },
    { selectors: ["framework=vllm,framework=sglang,target=dev"], expected: ["vllm-dev", "vllm-ubi-dev", "sglang-dev", "sglang-ubi-dev"] },
    { selectors: [" os = ubi "], expected: ["vllm-ubi", "vllm-ubi-dev", "sglang-ubi", "sglang-ubi-dev"] },
    { selectors: ["sglang-ubi"], expected: ["sglang-ubi"] },
    { selectors: ["gpu"], expected: ["vllm", "vllm-ubi"] },
    { selectors: ["all"], expected: ALL },
    { selectors: ["sglang", "framework=vllm,target=dev"], expected: ["vllm-dev", "vllm-ubi-dev", "sglang"] },
  ])("picks $selectors", ({ selectors, expected }) => {
    expect(select(selectors)).toEqual(expected);
  });

  // prettier-ignore
  it.each([
    { selector: "fw=vllm", message: 'Unknown axis "fw" in selector "fw=vllm". Axes: framework, os, target' },
    { selector: "framework=trt", message: 'Unknown value "trt" for axis "framework" in selector "framework=trt". Values: vllm, sglang' },
    { selector: "framework", message: 'Unknown target or group "framework".' },
    { selector: "vllm-ub", message: 'Unknown target or group "vllm-ub". Did you mean "vllm-ubi", "vllm-ubi-dev"?' },
  ])("refuses $selector as a usage error", ({ selector, message }) => {
    let error: unknown;
    try {
      select([selector]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toContain(message);
  });

  it("refuses a selector that only matches excluded combinations", () => {
    const project = loadProject(`${MINI_CONTEXT}exclude:\n  - when: {framework: sglang, os: ubi}\n    reason: no\n`);
    const { variants } = expandMatrix(project);
    expect(() =>
      selectVariants({ variants, groups: computeGroups(project, variants), axes: project.axes }, [
        "framework=sglang,os=ubi",
      ]),
    ).toThrow('Selector "framework=sglang,os=ubi" matches no target (the combination is excluded)');
  });
});

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, formatIssue, UsageError } from "../../src/errors.js";
import { expandMatrix } from "../../src/matrix/expand.js";
import { selectVariants } from "../../src/matrix/select.js";
import { computeGroups } from "../../src/plan/groups.js";
import { DEVICE_CONTEXT, DEVICE_TEMPLATE, loadProject, MINI_CONTEXT, runCli, testdir } from "../helpers.js";

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

/** Every problem `loadProject` + `expandMatrix` report for `yaml`, one formatted line each. */
function problems(yaml: string): string[] {
  try {
    expandMatrix(loadProject(yaml));
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map(formatIssue);
    throw e;
  }
  return [];
}

describe("axes that do not apply to every combination (axes.AXIS.when)", () => {
  it("give xpu and cpu variants once, with no name token and no value of the absent axis", () => {
    const { variants, excluded } = expandMatrix(loadProject(DEVICE_CONTEXT));
    expect(variants.map((v) => v.name)).toEqual([
      "vllm-cuda12",
      "vllm-cuda12-dev",
      "vllm-cuda13",
      "vllm-cuda13-dev",
      "vllm-xpu",
      "vllm-xpu-dev",
      "vllm-cpu",
      "vllm-cpu-dev",
      "sglang-cuda12",
      "sglang-cuda12-dev",
      "sglang-cuda13",
      "sglang-cuda13-dev",
    ]);
    const xpu = variants.find((v) => v.name === "vllm-xpu")!;
    expect(xpu.values).toEqual({ framework: "vllm", device: "xpu", target: "runtime" });
    expect(Object.hasOwn(xpu.values, "cuda")).toBe(false);
    expect(xpu.dockerfileName).toBe("vllm-xpu");
    // Excludes see the absent axis as absent too: sglang's xpu and cpu combinations, once each per target.
    expect(excluded.map((e) => e.name)).toEqual(["sglang-xpu", "sglang-xpu-dev", "sglang-cpu", "sglang-cpu-dev"]);
  });

  it("take the list form, and restrictions on restricted axes (transitively absent)", () => {
    const yaml = DEVICE_CONTEXT.replace(
      "  target:\n",
      '  arch:\n    when: {cuda: "13.0"}\n    values: [sm90, sm100]\n  target:\n',
    ).replace(/ {4}values:\n {6}"12\.9".*\n {6}"13\.0".*\n/, '    values: ["12.9", "13.0"]\n');
    const names = expandMatrix(loadProject(yaml))
      .variants.filter((v) => v.values.framework === "vllm" && v.values.target === "runtime")
      .map((v) => v.name);
    expect(names).toEqual(["vllm-12_9", "vllm-13_0-sm90", "vllm-13_0-sm100", "vllm-xpu", "vllm-cpu"]);
  });

  it("a selector asks for the absent axis with ~ (null): exclude, groups, combinations, tags and a when", async () => {
    const exclude = DEVICE_CONTEXT.replace(
      "exclude:\n",
      "exclude:\n  - when: {framework: vllm, cuda: ~, target: dev}\n    reason: no dev images without CUDA\n",
    );
    const names = expandMatrix(loadProject(exclude)).variants.map((v) => v.name);
    expect(names.filter((n) => n.startsWith("vllm-"))).toEqual([
      "vllm-cuda12",
      "vllm-cuda12-dev",
      "vllm-cuda13",
      "vllm-cuda13-dev",
      "vllm-xpu",
      "vllm-cpu",
    ]);

    const groups = `${DEVICE_CONTEXT}groups:\n  define:\n    nocuda: {cuda: ~, target: runtime}\n    some: {cuda: [null, "13.0"], framework: vllm, target: runtime}\n`;
    const project = loadProject(groups);
    const computed = computeGroups(project, expandMatrix(project).variants);
    expect(computed.get("nocuda")).toEqual(["vllm-cpu", "vllm-xpu"]);
    expect(computed.get("some")).toEqual(["vllm-cpu", "vllm-cuda13", "vllm-xpu"]);

    // A combination naming cuda: ~ is a layer of those targets only, labelled as it is written.
    const layered = DEVICE_CONTEXT.replace(
      "exclude:\n",
      'combinations:\n  - when: {framework: vllm, cuda: ~}\n    args: {CUDA_VERSION: "none"}\nexclude:\n',
    ).replace(
      '  tags: ["{framework}-{target}[-{cuda.name}][-{device.name}]"]\n',
      '  tags:\n    - "{framework}-{target}[-{cuda.name}][-{device.name}]"\n    - {tag: "{framework}-nocuda-{device}", when: {cuda: ~, target: runtime}}\n',
    );
    const dir = testdir({
      "context.yaml": layered,
      "templates/Dockerfile.liquid": `${DEVICE_TEMPLATE}{% arg CUDA_VERSION %}\n`,
    });
    const res = await runCli(["explain", "vllm-xpu", "CUDA_VERSION"], dir);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(
      /CUDA_VERSION +"none" +context\.yaml:\d+:\d+: combinations\[0\]\.args\.CUDA_VERSION +framework=vllm, cuda=~ /,
    );
    expect((await runCli(["explain", "vllm-cuda12", "CUDA_VERSION"], dir)).stdout).toMatch(/CUDA_VERSION +"12\.9" /);
    const plan = await runCli(["plan", "--out", "out.json"], dir);
    expect(plan.code, plan.stderr).toBe(0);
    const bake = JSON.parse(readFileSync(join(dir, "out.json"), "utf8")) as {
      target: Record<string, { tags: string[] }>;
    };
    const tagged = Object.keys(bake.target).filter((t) => bake.target[t]!.tags.some((x) => x.includes("-nocuda-")));
    expect(tagged.sort()).toEqual(["vllm-cpu", "vllm-xpu"]);

    // An axis that applies only where another is absent.
    const isa = DEVICE_CONTEXT.replace(
      "  target:\n",
      "  isa:\n    when: {cuda: ~, device: cpu}\n    values: [avx2, avx512]\n  target:\n",
    );
    const withIsa = expandMatrix(loadProject(isa)).variants.map((v) => v.name);
    expect(withIsa.filter((n) => n.startsWith("vllm-") && !n.endsWith("-dev"))).toEqual([
      "vllm-cuda12",
      "vllm-cuda13",
      "vllm-xpu",
      "vllm-cpu-avx2",
      "vllm-cpu-avx512",
    ]);
  });

  // prettier-ignore
  it.each([
    {
      name: "~ on an axis that applies everywhere",
      yaml: DEVICE_CONTEXT.replace("exclude:\n", "exclude:\n  - when: {framework: ~}\n    reason: r\n"),
      expected: 'context.yaml:22:23: exclude[0].when.framework: ~ (null) matches where an axis is absent, but "framework" has a value in every combination (it has no when): name its values (vllm, sglang)',
    },
    {
      name: "~ where the selector's other axes make the axis apply",
      yaml: DEVICE_CONTEXT.replace("exclude:\n", "exclude:\n  - when: {device: cuda, cuda: ~}\n    reason: r\n"),
      expected: "context.yaml:22:26: exclude[0].when.cuda: This exclude can never match: it asks for cuda absent (~), but cuda has a value wherever device=cuda (axes.cuda.when, context.yaml:9:5), and this selector asks for device=cuda. Remove cuda from it, or ask for values where it is absent",
    },
    {
      name: "~ on an axis another named axis needs",
      yaml: DEVICE_CONTEXT.replace("  target:\n", '  arch:\n    when: {cuda: "13.0"}\n    values: [sm90]\n  target:\n').replace("exclude:\n", "exclude:\n  - when: {arch: sm90, cuda: ~}\n    reason: r\n"),
      expected: "exclude[0].when.arch: This exclude can never match: arch has a value only where cuda=13.0 (axes.arch.when, context.yaml:15:5), and this selector asks for cuda=~.",
    },
  ])("refuses $name, located", ({ yaml, expected }) => {
    expect(problems(yaml).join("\n")).toContain(expected);
  });

  it("a selector naming the absent axis does not match where it is absent", () => {
    const yaml = `${DEVICE_CONTEXT.replace("exclude:\n", 'exclude:\n  - when: {cuda: "13.0"}\n    reason: not yet\n')}`;
    const names = expandMatrix(loadProject(yaml)).variants.map((v) => v.name);
    expect(names).toContain("vllm-xpu");
    expect(names).not.toContain("vllm-cuda13");
  });

  // prettier-ignore
  it.each([
    {
      name: "a when naming an unknown axis, with the closest name",
      edit: ["when: {device: cuda}", "when: {devcie: cuda}"],
      expected: 'context.yaml:9:12: axes.cuda.when.devcie: Unknown axis "devcie". Did you mean "device"?',
    },
    {
      name: "a when naming an unknown value",
      edit: ["when: {device: cuda}", "when: {device: gpu}"],
      expected: 'context.yaml:9:20: axes.cuda.when.device: Unknown value "gpu" for axis "device". Did you mean "xpu"? Values: cuda, xpu, cpu.',
    },
    {
      name: "a restriction on the axis itself",
      edit: ["when: {device: cuda}", 'when: {device: cuda, cuda: "12.9"}'],
      expected: "context.yaml:9:26: axes.cuda.when.cuda: axes.cuda.when names cuda itself: a restriction says where an axis applies from the values of other axes, listed before it",
    },
    {
      name: "a restriction on a later axis",
      edit: ["when: {device: cuda}", "when: {target: dev}"],
      expected: "context.yaml:9:12: axes.cuda.when.target: axes.cuda.when names target, which comes after cuda in axes: a restriction may only name axes listed before it (axis order is naming order). Move cuda after target",
    },
    {
      name: "an empty restriction",
      edit: ["when: {device: cuda}", "when: {}"],
      expected: "context.yaml:9:11: axes.cuda.when: Empty selector: name the axes where cuda applies, e.g. when: {device: cuda}",
    },
    {
      name: "a misspelt key of the {when, values} form",
      edit: ["    values:\n", "    valuse:\n"],
      expected: 'context.yaml:11:5: axes.cuda.valuse: Unknown key "valuse". Did you mean "values"?',
    },
    {
      name: "a description key in the mapping form of an axis, as a value with text for settings",
      edit: ['    cpu: {}\n', "    cpu: {}\n    description: the accelerator\n"],
      expected: 'context.yaml:8:18: axes.device.description: In a mapping of value -> settings every key is a value of axis device, and the settings of "description" must be a mapping (name, stage, package_manager, description, args, images, labels, platforms, secrets, vars, affinity), not text "the accelerator". A description of the whole axis is a key of the {when, values, description} form only; here, describe each value: device: {cuda: {description: ...}}',
    },
    {
      name: "text as the settings of an axis value",
      edit: ["    cpu: {}\n", "    cpu: apt\n"],
      expected: 'context.yaml:7:10: axes.device.cpu: In a mapping of value -> settings every key is a value of axis device, and the settings of "cpu" must be a mapping (name, stage, package_manager, description, args, images, labels, platforms, secrets, vars, affinity), not text "apt": write cpu: {} for a value without settings, or list the values (device: [cpu, ...])',
    },
    {
      name: "an axis with an empty name, whose values are fine (the name stays the problem)",
      edit: ["  device:\n", '  "":\n'],
      expected: 'context.yaml:4:3: axes[""]: Invalid key "": must be lower_snake_case',
    },
    {
      name: "the {when, values} form without its when",
      edit: ["    when: {device: cuda}\n", ""],
      expected: 'context.yaml:9:5: axes.cuda: Missing key "when": an axis written as {values: ...} is one that applies only where its when selector matches (when: {device: cuda}); an axis that applies everywhere is written as its values, a list (cuda: [a, b]) or a mapping of value -> settings (cuda: {a: {description: ...}}), with no values key',
    },
    {
      name: "a restriction that contradicts the one of the axis it names",
      edit: ["  target:\n", '  arch:\n    when: {device: xpu, cuda: "13.0"}\n    values: [sm90]\n  target:\n'],
      expected: "context.yaml:15:25: axes.arch.when.cuda: axes.arch.when (so arch would never have a value) can never match: cuda has a value only where device=cuda (axes.cuda.when, context.yaml:9:5), and this selector asks for device=xpu. Remove cuda from it, or name a value of device where cuda applies",
    },
  ])("refuses $name, located", ({ edit: [from, to], expected }) => {
    expect(DEVICE_CONTEXT).toContain(from);
    expect(problems(DEVICE_CONTEXT.replace(from!, to!)).join("\n")).toContain(expected);
  });

  it("refuses a restricted stage axis", () => {
    const yaml = DEVICE_CONTEXT.replace(
      "  target:\n    runtime:",
      "  target:\n    when: {device: cuda}\n    values:\n     runtime:",
    ).replace("    dev: {}\n", "     dev: {}\n");
    expect(problems(yaml)[0]).toMatch(
      /^context\.yaml:15:5: axes\.target\.when: The stage axis "target" applies to every combination/,
    );
  });

  // prettier-ignore
  it.each([
    { key: "combinations", yaml: 'combinations:\n  - when: {device: xpu, cuda: "12.9"}\n    args: {X: "1"}\n', expected: 'context.yaml:29:25: combinations[0].when.cuda: This combination can never match: cuda has a value only where device=cuda (axes.cuda.when, context.yaml:9:5), and this selector asks for device=xpu.' },
    { key: "include", yaml: 'include:\n  - when: {framework: sglang, device: cpu, cuda: "13.0"}\n    reason: r\n', expected: "context.yaml:29:44: include[0].when.cuda: This include can never match: cuda has a value only where device=cuda (axes.cuda.when, context.yaml:9:5), and this selector asks for device=cpu." },
    { key: "groups", yaml: 'groups:\n  define:\n    g: {cuda: "12.9", device: [cpu, xpu]}\n', expected: "context.yaml:30:9: groups.define.g.cuda: This member of group g can never match: cuda has a value only where device=cuda (axes.cuda.when, context.yaml:9:5), and this selector asks for device={cpu,xpu}." },
  ])("refuses a $key selector that names an axis where it is absent", ({ yaml, expected }) => {
    expect(problems(DEVICE_CONTEXT + yaml).join("\n")).toContain(expected);
  });

  it("refuses a tag's when that names an axis where it is absent", () => {
    const yaml = DEVICE_CONTEXT.replace(
      '  tags: ["{framework}-{target}[-{cuda.name}][-{device.name}]"]\n',
      '  tags:\n    - "{framework}-{target}[-{cuda.name}][-{device.name}]"\n    - {tag: "xpu-{cuda}", when: {device: xpu, cuda: "12.9"}}\n',
    );
    expect(problems(yaml).join("\n")).toContain("publish.tags[1].when.cuda: This tag's when can never match");
  });

  it("stays bounded when the product of the axes is far above the limit but few combinations exist", () => {
    // 12 axes of 9 values, each only for one device: a product of 12 x 10^12, 108 combinations.
    const devices = Array.from({ length: 12 }, (_, i) => `d${i}`);
    const axes = devices
      .map(
        (d) =>
          `  ${d}_opt:\n    when: {device: ${d}}\n    values: [${Array.from({ length: 9 }, (_, j) => `v${j}`).join(", ")}]\n`,
      )
      .join("");
    const yaml = `project: {name: p}\naxes:\n  device: [${devices.join(", ")}]\n${axes}publish: {registry: r.example.com, repository: p, tags: ["{name}"]}\n`;
    expect(expandMatrix(loadProject(yaml)).variants).toHaveLength(108);
    // With one variant left and 107 excluded, a limit of 1 stops the walk at its 101st combination.
    const excluded = yaml.replace(
      "publish:",
      `exclude:\n  - {when: {device: [${devices.slice(1).join(", ")}]}, reason: r}\n  - {when: {d0_opt: [v1, v2, v3, v4, v5, v6, v7, v8]}, reason: r}\npublish:`,
    );
    expect(expandMatrix(loadProject(excluded)).excluded).toHaveLength(107);
    expect(() => expandMatrix(loadProject(excluded), { maxVariants: 1 })).toThrow(
      "context.yaml:3:3: axes: The matrix has more than 100 combinations, far above the limit of 1 variants",
    );
  });
});

import { describe, expect, it } from "vitest";
import { loadContext } from "../../src/config/load.js";
import { ConfigError } from "../../src/errors.js";
import { MINI_CONTEXT } from "../helpers.js";

// MINI_CONTEXT is 30 lines long: text appended to it starts on line 31.

/** Replaces one exact piece of MINI_CONTEXT, failing loudly if the fixture no longer has it. */
function edit(from: string, to: string): string {
  expect(MINI_CONTEXT).toContain(from);
  return MINI_CONTEXT.replace(from, to);
}

function loadError(yaml: string): ConfigError {
  try {
    loadContext("context.yaml", yaml);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError, but the file loaded");
}

describe("loadContext: shape errors carry file:line:col and the key path", () => {
  // prettier-ignore
  const cases = [
    {
      name: "unknown nested key, with a suggestion",
      yaml: () => edit("  platforms: [linux/amd64]", "  platform: [linux/amd64]"),
      expected: 'context.yaml:24:3: defaults.platform: Unknown key "platform". Did you mean "platforms"?',
    },
    {
      name: "unknown top-level key, with a suggestion",
      yaml: () => `${MINI_CONTEXT}combinatons: []\n`,
      expected: 'context.yaml:31:1: combinatons: Unknown key "combinatons". Did you mean "combinations"?',
    },
    {
      name: "unknown key without a close match lists the known keys",
      yaml: () => edit("  source: https://example.com/demo", "  homepage: https://example.com/demo"),
      expected: 'context.yaml:3:3: project.homepage: Unknown key "homepage". Known keys: name, title, source.',
    },
    {
      name: "unquoted 3.10 is a number: quote it",
      yaml: () => edit("FW_REF: v1", "FW_REF: 3.10"),
      expected: 'context.yaml:8:17: axes.framework.vllm.args.FW_REF: Invalid type: expected a string, but YAML reads 3.10 as the number 3.1. Quote it: "3.10"',
    },
    {
      name: "unquoted true is a boolean: quote it",
      yaml: () => edit("FW_REF: s1", "FW_REF: true"),
      expected: 'context.yaml:11:17: axes.framework.sglang.args.FW_REF: Invalid type: expected a string, but YAML reads true as the boolean true. Quote it: "true"',
    },
    {
      name: "13.0 as a map key",
      yaml: () => edit("    ubi:\n", "    13.0:\n"),
      expected: 'context.yaml:16:5: axes.os["13"]: Invalid key: YAML reads 13.0 as the number 13. Quote it: "13.0"',
    },
    {
      name: "wrong type: a string where a list belongs",
      yaml: () => edit("  platforms: [linux/amd64]", "  platforms: linux/amd64"),
      expected: "context.yaml:24:14: defaults.platforms: Invalid type: expected array, got string",
    },
    {
      name: "an empty value asks for an explicit empty string",
      yaml: () => edit("FW_REF: v1", "FW_REF:"),
      expected: 'axes.framework.vllm.args.FW_REF: Empty value: expected string (write "" for an empty string)',
    },
    {
      name: "missing nested required key points at its parent",
      yaml: () => edit("  repository: demo/app\n", ""),
      expected: 'context.yaml:28:3: publish: Missing required key "repository"',
    },
    {
      name: "missing top-level required key",
      yaml: () => edit("publish:\n  registry: registry.example.com\n  repository: demo/app\n  tags: [\"{name}\"]\n", ""),
      expected: 'context.yaml:1:1: Missing required key "publish"',
    },
    {
      // Reported at the [ that is never closed, not where the parser gave up (the next line).
      name: "YAML syntax error",
      yaml: () => edit('  tags: ["{name}"]', '  tags: ["{name}"'),
      expected: "context.yaml:30:9: YAML: This [ opens a list that is never closed: end it with ]",
    },
    {
      name: "tab indentation",
      yaml: () => edit("  name: demo", "\tname: demo"),
      expected: "context.yaml:2:1: YAML: Tabs are not allowed as indentation",
    },
    {
      name: "duplicate key",
      yaml: () => `${MINI_CONTEXT}stage_axis: os\n`,
      expected: "context.yaml:31:1: stage_axis: YAML: Duplicate key \"stage_axis\"",
    },
    {
      name: "an axis that is neither a list nor a mapping",
      yaml: () => edit("  target:\n    runtime:\n      name: \"\"\n    dev: {}\n", "  target: 5\n"),
      expected: "context.yaml:18:11: axes.target: Invalid value: an axis is a list of strings, a mapping of value -> settings, or {when: {axis: value}, values: ...}",
    },
    {
      name: "unknown package manager",
      yaml: () => edit("package_manager: dnf", "package_manager: zypper"),
      expected: 'context.yaml:17:24: axes.os.ubi.package_manager: Invalid value: Invalid option: expected one of "apt"|"dnf"|"microdnf"|"yum"|"apk"',
    },
    {
      name: "platform that is not os/arch",
      yaml: () => edit("[linux/amd64]", "[linux-amd64]"),
      expected: 'context.yaml:24:15: defaults.platforms[0]: Invalid value: must look like "linux/amd64"',
    },
    {
      name: "secret with both env and src",
      yaml: () => edit("  platforms: [linux/amd64]\n", "  secrets:\n    key: {env: A, src: b}\n"),
      expected: "context.yaml:25:10: defaults.secrets.key: Invalid value: give exactly one of env or src",
    },
    {
      name: "a list instead of a mapping at the top",
      yaml: () => "- a\n- b\n",
      expected: "context.yaml:1:1: Invalid type: expected object, got a list",
    },
    {
      name: "an empty file",
      yaml: () => "",
      expected: "context.yaml:1:1: Empty file: expected a mapping with project, axes and publish",
    },
    {
      name: "alias expansion bomb",
      yaml: () => "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
      expected: "context.yaml:2:8: YAML: Excessive alias count",
    },
  ];

  it.each(cases)("$name", ({ yaml, expected }) => {
    expect(loadError(yaml()).message).toContain(expected);
  });
});

describe("loadContext: every problem at once", () => {
  it("a duplicate key does not hide the schema's problems", () => {
    const e = loadError(`${edit("  platforms: [linux/amd64]", "  platform: [linux/amd64]")}stage_axis: os\n`);
    expect(e.issues.map((i) => i.message)).toEqual([
      'YAML: Duplicate key "stage_axis": keys of a mapping must be unique; remove or merge one of them',
      'Unknown key "platform". Did you mean "platforms"?',
    ]);
  });

  it("a non-string key does not hide the schema's problems", () => {
    const e = loadError(`${MINI_CONTEXT}combinatons: []\nx:\n  13.0: a\n`);
    expect(e.message).toContain('Invalid key: YAML reads 13.0 as the number 13. Quote it: "13.0"');
    expect(e.message).toContain('Unknown key "combinatons". Did you mean "combinations"?');
  });

  it("a duplicate key does not hide the semantic rules' problems", () => {
    const e = loadError(`${edit("stage_axis: target", "stage_axis: nope")}stage_axis: nope\n`);
    expect(e.issues[0]!.message).toContain("YAML: Duplicate key");
    expect(e.issues.length).toBeGreaterThan(1);
  });

  it("a syntax error stops there: the rest of the document cannot be trusted", () => {
    const e = loadError(`${edit('  tags: ["{name}"]', '  tags: ["{name}"')}combinatons: []\n`);
    expect(e.issues.every((i) => i.message.startsWith("YAML: "))).toBe(true);
  });
});

describe("loadContext: semantic rules carry file:line:col and the key path", () => {
  // prettier-ignore
  const cases = [
    {
      name: "selector naming an unknown axis",
      yaml: () => `${MINI_CONTEXT}exclude:\n  - when: {frameworx: vllm}\n    reason: no\n`,
      expected: 'context.yaml:32:12: exclude[0].when.frameworx: Unknown axis "frameworx". Did you mean "framework"?',
    },
    {
      name: "selector naming an unknown value",
      yaml: () => `${MINI_CONTEXT}exclude:\n  - when: {framework: vlm}\n    reason: no\n`,
      expected: 'context.yaml:32:23: exclude[0].when.framework: Unknown value "vlm" for axis "framework". Did you mean "vllm"? Values: vllm, sglang.',
    },
    {
      name: "unknown value inside a selector list points at the list item",
      yaml: () => `${MINI_CONTEXT}include:\n  - when: {os: [ubuntu, ubl]}\n    reason: no\n`,
      expected: 'context.yaml:32:25: include[0].when.os[1]: Unknown value "ubl" for axis "os". Did you mean "ubi"?',
    },
    {
      name: "combination naming an unknown axis lists the axes",
      yaml: () => `${MINI_CONTEXT}combinations:\n  - when: {cuda: "12.9"}\n    args: {X: "1"}\n`,
      expected: 'context.yaml:32:12: combinations[0].when.cuda: Unknown axis "cuda". Axes: framework, os, target.',
    },
    {
      name: "group selector naming an unknown value",
      yaml: () => `${MINI_CONTEXT}groups:\n  define:\n    gpu: {framework: trt}\n`,
      expected: 'context.yaml:33:22: groups.define.gpu.framework: Unknown value "trt" for axis "framework"',
    },
    {
      name: "per_axis group of an unknown axis",
      yaml: () => `${MINI_CONTEXT}groups:\n  per_axis: [fw]\n`,
      expected: 'context.yaml:32:14: groups.per_axis[0]: Unknown axis "fw"',
    },
    {
      name: "empty selector",
      yaml: () => `${MINI_CONTEXT}exclude:\n  - when: {}\n    reason: no\n`,
      expected: "context.yaml:32:11: exclude[0].when: Empty selector: name at least one axis",
    },
    {
      name: "unknown stage axis",
      yaml: () => edit("stage_axis: target", "stage_axis: targte"),
      expected: 'context.yaml:22:13: stage_axis: Unknown axis "targte". Did you mean "target"?',
    },
    {
      name: "stage on a value outside the stage axis",
      yaml: () => edit("      package_manager: dnf\n", "      package_manager: dnf\n      stage: base\n"),
      expected: 'context.yaml:18:7: axes.os.ubi.stage: "stage" is only meaningful on the stage axis "target"',
    },
    {
      name: "a value without package_manager on the package manager axis",
      yaml: () => edit("      package_manager: dnf\n", ""),
      expected: 'context.yaml:16:9: axes.os.ubi: Missing package_manager for os=ubi: every value of axis "os" needs one',
    },
    {
      name: "package_manager on two axes",
      yaml: () => edit("    dev: {}", "    dev: {package_manager: apt}"),
      expected: "axes.target: package_manager is set on axes os and target; set it on one axis (usually os)",
    },
    {
      name: "duplicate value in a list axis",
      yaml: () => `${MINI_CONTEXT.replace("  target:\n    runtime:\n      name: \"\"\n    dev: {}\n", "  target: [runtime, dev, dev]\n")}`,
      expected: 'axes.target[2]: Duplicate value "dev" in axis "target"',
    },
    {
      name: "image reference with an uppercase repository",
      yaml: () => edit("docker.io/library/ubuntu:24.04", "docker.io/Library/ubuntu:24.04"),
      expected: 'context.yaml:26:17: defaults.images.BASE_IMAGE: Invalid image reference "docker.io/Library/ubuntu:24.04": the repository must be lowercase',
    },
    {
      name: "the same name under args and images",
      yaml: () => edit("  images:\n", "  args:\n    BASE_IMAGE: x\n  images:\n"),
      expected: "defaults.images.BASE_IMAGE: BASE_IMAGE is set under both args and images; keep one",
    },
    {
      name: "an ARG value with a line break",
      yaml: () => edit("FW_REF: v1", 'FW_REF: "v1\\nRUN evil"'),
      expected: "context.yaml:8:17: axes.framework.vllm.args.FW_REF: The ARG FW_REF contains a line break",
    },
    {
      name: "unknown tag placeholder",
      yaml: () => edit('["{name}"]', '["{nam}"]'),
      expected: "context.yaml:30:10: publish.tags[0]: Unknown placeholder {nam}. Did you mean {name}?",
    },
    {
      name: "cache tag without {branch} or {branch_kind}, with a fallback",
      yaml: () => `${MINI_CONTEXT}cache:\n  repository: demo/cache\n  tag: "{name}"\n  fallback: [main]\n`,
      expected:
        'context.yaml:34:13: cache.fallback: The cache tag "{name}" has no {branch} or {branch_kind}: every branch reads and writes the same ref',
    },
    {
      name: "cache in the image repository with tags that can collide",
      yaml: () => `${MINI_CONTEXT}cache:\n  repository: demo/app\n`,
      expected:
        'context.yaml:32:15: cache.repository: The cache shares the image repository demo/app, but the cache tag "{name}-{branch}" and the image tag "{name}" (publish.tags[0]) can both be "',
    },
    {
      name: "a glob in cache.fallback",
      yaml: () => `${MINI_CONTEXT}cache:\n  repository: demo/cache\n  fallback: [main, "release/*"]\n`,
      expected:
        'context.yaml:33:20: cache.fallback[1]: cache.fallback names branches whose cache is read; "release/*" is a pattern',
    },
    {
      name: "a branch pattern with a character git refuses",
      yaml: () => `${MINI_CONTEXT}cache:\n  repository: demo/cache\n  write_on: ["release/[0-9]*"]\n`,
      expected:
        'context.yaml:33:14: cache.write_on[0]: Branch pattern "release/[0-9]*": "[" "]" cannot appear in a branch name',
    },
    {
      name: "a negated branch pattern",
      yaml: () => `${MINI_CONTEXT}cache:\n  repository: demo/cache\n  write_on: ["!main"]\n`,
      expected: 'cache.write_on[0]: Branch pattern "!main": negation with "!" is not supported',
    },
    {
      name: "{branch_kind} without branch_kinds",
      yaml: () => `${MINI_CONTEXT}cache:\n  repository: demo/cache\n  tag: "{branch_kind}-{name}"\n`,
      expected: 'context.yaml:33:8: cache.tag: "{branch_kind}-{name}" uses {branch_kind}, but no branch_kinds are defined',
    },
    {
      name: "a fallback that is not a branch kind when the cache tag uses {branch_kind}",
      yaml: () =>
        `${MINI_CONTEXT}branch_kinds: {main: [main], release: ["release/*"]}\ncache:\n  repository: demo/cache\n  tag: "{branch_kind}-{name}"\n  fallback: [main, releases]\n`,
      expected:
        'context.yaml:35:20: cache.fallback[1]: cache.fallback names "releases", but the cache tag uses {branch_kind}, so fallbacks are branch kinds. Did you mean "release"?',
    },
    {
      name: "the default fallback when no branch kind is called main",
      yaml: () =>
        `${MINI_CONTEXT}branch_kinds: {trunk: [master]}\ncache:\n  repository: demo/cache\n  tag: "{branch_kind}-{name}"\n`,
      expected: 'context.yaml:33:3: cache: cache.fallback (default [main]) names "main", but the cache tag uses {branch_kind}',
    },
    {
      name: "{branch} and {branch_kind} in one cache tag",
      yaml: () =>
        `${MINI_CONTEXT}branch_kinds: {main: [main]}\ncache:\n  repository: demo/cache\n  tag: "{branch_kind}-{branch}-{name}"\n`,
      expected: 'cache.tag: The cache tag "{branch_kind}-{branch}-{name}" uses both {branch} and {branch_kind}; use one',
    },
    {
      name: "a placeholder named like an axis and a built-in",
      yaml: () => edit("  framework:\n", "  version:\n").replace('["{name}"]', '["{name}-{version}"]'),
      expected:
        'context.yaml:30:10: publish.tags[0]: {version} is ambiguous in "{name}-{version}": it could be the built-in {version} (--image-version) or the value of axis "version". Write {build.version} or {matrix.version}',
    },
    {
      name: "an axis named like a placeholder namespace",
      yaml: () => edit("  framework:\n", "  vars:\n"),
      expected: 'context.yaml:5:3: axes.vars: An axis cannot be named "vars": {vars.…} is a placeholder namespace',
    },
    {
      name: "a template value no layer sets",
      yaml: () => edit('["{name}"]', '["{name}-{vars.python}"]'),
      expected: "context.yaml:30:10: publish.tags[0]: {vars.python}: no value in this file sets the template value python.",
    },
    {
      name: "an optional part without a placeholder",
      yaml: () => edit('["{name}"]', '["{name}[-efa]"]'),
      expected:
        'publish.tags[0]: Invalid tag pattern "{name}[-efa]": The optional part "[-efa]" has no placeholder, so it would always be kept',
    },
    {
      name: "nested optional parts",
      yaml: () => edit('["{name}"]', '["{name}[-[{os}]]"]'),
      expected: 'Invalid tag pattern "{name}[-[{os}]]": "[" at position 9 opens an optional part inside another',
    },
    {
      name: "an unclosed optional part",
      yaml: () => edit('["{name}"]', '["{name}[-{os}"]'),
      expected: 'Invalid tag pattern "{name}[-{os}": "[" is not closed by "]"',
    },
    {
      name: "a tag entry limited to an unknown axis value",
      yaml: () => edit('["{name}"]', '[{tag: latest, when: {target: prod}}]'),
      expected: 'context.yaml:30:39: publish.tags[0].when.target: Unknown value "prod" for axis "target". Values: runtime, dev.',
    },
    {
      name: "a secret src with a shell expansion bake cannot do",
      yaml: () => edit("  platforms: [linux/amd64]\n", '  platforms: [linux/amd64]\n  secrets:\n    t: {src: "${TOKEN_FILE:-/tmp/t}"}\n'),
      expected:
        'context.yaml:26:14: defaults.secrets.t.src: Secret t: src "${TOKEN_FILE:-/tmp/t}" may name environment variables only as ${NAME}',
    },
    {
      name: "a secret src with a $${ escape",
      // A function replacement: in a replacement string "$$" would mean a single "$".
      yaml: () =>
        MINI_CONTEXT.replace("  platforms: [linux/amd64]\n", () => '  platforms: [linux/amd64]\n  secrets:\n    t: {src: "/x/$${A}"}\n'),
      expected: 'defaults.secrets.t.src: Secret t: src "/x/$${A}" may name environment variables only as ${NAME}',
    },
    {
      name: "a secret condition with an unknown key",
      yaml: () =>
        edit("  platforms: [linux/amd64]\n", '  platforms: [linux/amd64]\n  secrets:\n    t: {env: T, when: {arg: {A: "1"}}}\n'),
      expected: 'defaults.secrets.t.when.arg: Unknown key "arg". Did you mean "args"?',
    },
    {
      name: "a tag entry with an unknown key",
      yaml: () => edit('["{name}"]', '[{tag: "{name}", branch: [main]}]'),
      expected: 'context.yaml:30:26: publish.tags[0].branch: Unknown key "branch". Did you mean "branches"?',
    },
  ];

  it.each(cases)("$name", ({ yaml, expected }) => {
    expect(loadError(yaml()).message).toContain(expected);
  });
});

describe("loadContext", () => {
  it("reports every problem of a file at once, each with its own position", () => {
    const err = loadError(
      edit("FW_REF: v1", "FW_REF: 3.10").replace("  platforms: [linux/amd64]", "  platform: [linux/amd64]"),
    );
    expect(err.issues.map((i) => i.location)).toEqual([
      { file: "context.yaml", line: 8, col: 17, path: "axes.framework.vllm.args.FW_REF" },
      { file: "context.yaml", line: 24, col: 3, path: "defaults.platform" },
    ]);
  });

  it("names the file it was given in every message", () => {
    const err = (() => {
      try {
        loadContext("deploy/matrix.yaml", `${MINI_CONTEXT}combinatons: []\n`);
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error("expected a ConfigError");
    })();
    expect(err.message).toContain("deploy/matrix.yaml:31:1: combinatons");
  });

  it("normalises axis values: name tokens, stages, package managers and precedence ranks", () => {
    const { project, warnings } = loadContext(
      "context.yaml",
      `${MINI_CONTEXT}combinations:\n  - when: {framework: vllm}\n    args: {A: "1"}\n  - when: {framework: vllm, os: ubi, target: dev}\n    args: {A: "2"}\n`,
    );
    expect(warnings).toEqual([]);
    expect(
      project.axes.map((a) => [a.name, a.values.map((v) => [v.value, v.token, v.stage, v.packageManager ?? "-"])]),
    ).toEqual([
      [
        "framework",
        [
          ["vllm", "vllm", "vllm", "-"],
          ["sglang", "sglang", "sglang", "-"],
        ],
      ],
      [
        "os",
        [
          ["ubuntu", "", "ubuntu", "apt"],
          ["ubi", "ubi", "ubi", "dnf"],
        ],
      ],
      [
        "target",
        [
          ["runtime", "", "runtime", "-"],
          ["dev", "dev", "dev", "-"],
        ],
      ],
    ]);
    expect(project.layers.map((l) => [l.label, l.rank])).toEqual([
      ["defaults", 0],
      ["framework=vllm", 1],
      ["framework=sglang", 1],
      // Each stage axis value is a layer: it sets the stage.
      ["target=runtime", 1],
      ["target=dev", 1],
      ["framework=vllm", 2],
      ["framework=vllm, os=ubi, target=dev", 3],
    ]);
  });

  it.each([
    { tags: '["{sha}"]', warns: true },
    { tags: '["latest"]', warns: true },
    { tags: '["{sha}-{name}", "latest-{name}"]', warns: false },
    { tags: '["{framework}-{os}-{target}"]', warns: false },
  ])("warns (without failing) when no tag pattern has {name}: $tags", ({ tags, warns }) => {
    const { warnings } = loadContext("context.yaml", edit('["{name}"]', tags));
    const messages = warnings.map((w) => `${w.location?.line}: ${w.message}`);
    if (warns) expect(messages).toEqual(["30: No tag pattern contains {name}: every target would push the same tags"]);
    else expect(messages).toEqual([]);
  });
});

// Tags and cache refs as real projects write them: Dynamo's CI scheme (dynamo.md 3.2, "Exact
// cache strings") and docker-library's alias tags (peers.md 2).
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/errors.js";
import type { BuildInputs } from "../../../src/plan/naming.js";
import { buildPlan } from "../../../src/plan/plan.js";
import { DEVICE_CONTEXT, loadProject, templateFiles } from "../../helpers.js";

const ECR = "123456789012.dkr.ecr.us-west-2.amazonaws.com";
const SHA = "0123456789abcdef0123456789abcdef01234567";

export const DYNAMO = `project: {name: dynamo}
axes:
  framework: [vllm, sglang, trtllm]
  target:
    runtime: {name: ""}
    dev: {}
  cuda:
    "12.9": {name: cuda12}
    "13.0": {name: cuda13}
  efa:
    "off": {name: ""}
    "on": {name: efa, platforms: [linux/amd64]}
stage_axis: target
defaults:
  platforms: [linux/amd64, linux/arm64]
branch_kinds:
  main: [main]
  release: ["release/*"]
publish:
  registry: ${ECR}
  repository: ai-dynamo/dynamo
  tags:
    - "{sha}-{framework}-{target}[-{efa.name}]-{cuda.name}"
    - {tag: "main-{framework}-{cuda.name}", branches: [main], when: {target: runtime, efa: "off"}}
    - {tag: "main-{framework}-{sha}-{cuda.name}", branches: [main], when: {target: runtime, efa: "off"}}
cache:
  repository: ai-dynamo/dynamo
  tag: "{branch_kind}-{framework}-{cuda.name}-{platforms}-cache"
  fallback: [main, release]
  write_on: [main, "release/*"]
  allow_shared_writes: true
`;

const TEMPLATE = "FROM scratch AS runtime\nFROM runtime AS dev\n";

function plan(yaml: string, inputs: BuildInputs = {}) {
  return buildPlan(loadProject(yaml), templateFiles({ "Dockerfile.liquid": TEMPLATE }), {
    configLabel: "context.yaml",
    inputs,
  });
}

function planError(yaml: string, inputs: BuildInputs = {}): ConfigError {
  try {
    plan(yaml, inputs);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

const target = (p: ReturnType<typeof plan>, name: string) => {
  const t = p.bakeFile.target[name];
  if (!t) throw new Error(`no target ${name}: ${Object.keys(p.bakeFile.target).join(" ")}`);
  return t;
};

describe("Dynamo's CI tags and cache refs", () => {
  // dynamo.md 3.2: CACHE_TAG="${framework}-cuda${CUDA_VERSION_MAJOR}-${PLATFORM_SAFE}-cache", read from
  // main- and release-, written to the one of the current branch kind, in the image repository.
  const from = (fw: string, cuda: string, platforms: string) => [
    `type=registry,ref=${ECR}/ai-dynamo/dynamo:main-${fw}-${cuda}-${platforms}-cache`,
    `type=registry,ref=${ECR}/ai-dynamo/dynamo:release-${fw}-${cuda}-${platforms}-cache`,
  ];
  const to = (kind: string, fw: string, cuda: string, platforms: string) => [
    `type=registry,ref=${ECR}/ai-dynamo/dynamo:${kind}-${fw}-${cuda}-${platforms}-cache,mode=max,image-manifest=true,oci-mediatypes=true,ignore-error=true`,
  ];

  it.each([
    { branch: "main", writes: "main" },
    { branch: "release/1.0", writes: "release" },
    { branch: "feat/x", writes: undefined },
    { branch: undefined, writes: undefined },
  ])("on $branch: reads main- and release-, writes $writes", ({ branch, writes }) => {
    const p = plan(DYNAMO, { branch, sha: SHA });
    for (const name of ["vllm-cuda12", "vllm-dev-cuda12"]) {
      const t = target(p, name);
      expect(t["cache-from"]).toEqual(from("vllm", "cuda12", "amd64-arm64"));
      expect(t["cache-to"]).toEqual(writes && to(writes, "vllm", "cuda12", "amd64-arm64"));
    }
    const efa = target(p, "trtllm-cuda13-efa");
    expect(efa["cache-from"]).toEqual(from("trtllm", "cuda13", "amd64"));
    expect(efa["cache-to"]).toEqual(writes && to(writes, "trtllm", "cuda13", "amd64"));
  });

  it("tags {sha}-{framework}-{target}[-efa]-cuda{major}, and main- tags only on main", () => {
    const onMain = plan(DYNAMO, { branch: "main", sha: SHA });
    expect(target(onMain, "vllm-cuda12").tags).toEqual([
      `${ECR}/ai-dynamo/dynamo:${SHA}-vllm-runtime-cuda12`,
      `${ECR}/ai-dynamo/dynamo:main-vllm-cuda12`,
      `${ECR}/ai-dynamo/dynamo:main-vllm-${SHA}-cuda12`,
    ]);
    expect(target(onMain, "vllm-cuda12-efa").tags).toEqual([`${ECR}/ai-dynamo/dynamo:${SHA}-vllm-runtime-efa-cuda12`]);
    expect(target(onMain, "sglang-dev-cuda13").tags).toEqual([`${ECR}/ai-dynamo/dynamo:${SHA}-sglang-dev-cuda13`]);
    for (const branch of ["feat/x", "release/1.0", "mainline"])
      expect(target(plan(DYNAMO, { branch, sha: SHA }), "vllm-cuda12").tags).toEqual([
        `${ECR}/ai-dynamo/dynamo:${SHA}-vllm-runtime-cuda12`,
      ]);
    // A local plan: no --sha, no --branch, so no tag at all.
    expect(target(plan(DYNAMO), "vllm-cuda12").tags).toBeUndefined();
  });

  it("refuses the shared cache refs unless cache.allow_shared_writes says they are intended", () => {
    const err = planError(DYNAMO.replace("  allow_shared_writes: true\n", ""));
    expect(err.message).toContain(
      "context.yaml:28:8: cache.tag: Targets vllm-cuda12 and vllm-dev-cuda12 write the same cache ref {branch_kind}-vllm-cuda12-amd64-arm64-cache: in one bake the last to finish replaces the other's cache",
    );
    expect(err.message).toContain("set cache.allow_shared_writes: true if that is intended");
    // One issue per shared ref: framework x cuda x platform set.
    expect(err.issues).toHaveLength(3 * 2 * 2);
  });

  it("refuses a cache in the image repository when a cache tag could equal an image tag", () => {
    const yaml = DYNAMO.replace('"{sha}-{framework}-{target}[-{efa.name}]-{cuda.name}"', '"{branch}-{version}"');
    expect(() => loadProject(yaml)).toThrow(
      'context.yaml:27:15: cache.repository: The cache shares the image repository ai-dynamo/dynamo, but the cache tag "{branch_kind}-{framework}-{cuda.name}-{platforms}-cache" and the image tag "{branch}-{version}" (publish.tags[0]) can both be "main-vllm-cuda12-amd64-cache"',
    );
  });

  it("a branch matching write_on without a branch kind is an error, not a silent miss", () => {
    const yaml = DYNAMO.replace('write_on: [main, "release/*"]', 'write_on: [main, "release/*", "hotfix/*"]');
    expect(planError(yaml, { branch: "hotfix/1" }).message).toContain(
      'context.yaml:30:13: cache.write_on: Branch "hotfix/1" matches cache.write_on, but no branch_kinds pattern matches it',
    );
  });
});

describe("tag patterns", () => {
  const PY = `project: {name: python}
axes:
  version:
    "3.14": {vars: {full: 3.14.0, major: "3"}}
    "3.13": {vars: {full: 3.13.9, major: "3"}}
  variant: [trixie, slim-trixie, alpine3.22]
  image:
    python: {name: ""}
stage_axis: image
publish:
  registry: ""
  repository: library/python
  tags:
    - "{vars.full}-{variant}"
    - "{matrix.version}-{variant}"
    - {tag: "{vars.major}-{variant}", when: {version: "3.14"}}
    - {tag: "{variant}", when: {version: "3.14"}}
    - {tag: "{vars.full}", when: {variant: trixie}}
    - {tag: "{matrix.version}", when: {variant: trixie}}
    - {tag: "latest", when: {version: "3.14", variant: trixie}}
`;
  const pyPlan = () =>
    buildPlan(loadProject(PY), templateFiles({ "Dockerfile.liquid": "FROM scratch AS python\n" }), {
      configLabel: "context.yaml",
    });

  it("docker-library aliases land on exactly one variant each; dots in values give bake-safe names", () => {
    const p = pyPlan();
    const tags = (name: string) => (p.bakeFile.target[name]?.tags ?? []).map((t) => t.split(":")[1]);
    expect(Object.keys(p.bakeFile.target).sort()).toEqual([
      "3_13-alpine3_22",
      "3_13-slim-trixie",
      "3_13-trixie",
      "3_14-alpine3_22",
      "3_14-slim-trixie",
      "3_14-trixie",
    ]);
    expect(tags("3_14-trixie")).toEqual([
      "3.14.0-trixie",
      "3.14-trixie",
      "3-trixie",
      "trixie",
      "3.14.0",
      "3.14",
      "latest",
    ]);
    expect(tags("3_14-alpine3_22")).toEqual(["3.14.0-alpine3.22", "3.14-alpine3.22", "3-alpine3.22", "alpine3.22"]);
    expect(tags("3_13-trixie")).toEqual(["3.13.9-trixie", "3.13-trixie", "3.13.9", "3.13"]);
  });

  it("two targets claiming one tag is an error naming both", () => {
    const yaml = PY.replace(
      '{tag: "latest", when: {version: "3.14", variant: trixie}}',
      '{tag: "latest", when: {variant: trixie}}',
    );
    expect(() =>
      buildPlan(loadProject(yaml), templateFiles({ "Dockerfile.liquid": "FROM scratch AS python\n" }), {
        configLabel: "context.yaml",
      }),
    ).toThrow(
      "context.yaml:20:13: publish.tags[6].tag: Targets 3_14-trixie and 3_13-trixie both get the tag library/python:latest: the later push would replace the other image",
    );
  });

  it("an empty matrix value outside an optional part names the target and the fix", () => {
    const yaml = DYNAMO.replace(
      '"{sha}-{framework}-{target}[-{efa.name}]-{cuda.name}"',
      '"{framework}-{efa.name}"',
    ).replace("  repository: ai-dynamo/dynamo\n  tag:", "  repository: ai-dynamo/dynamo-cache\n  tag:");
    expect(planError(yaml).message).toContain(
      'context.yaml:23:7: publish.tags[0]: The pattern "{framework}-{efa.name}" has no value for {efa.name} on vllm-cuda12 (framework=vllm, target=runtime, cuda=12.9, efa=off): put that part in brackets to drop it when empty ("[-{efa.name}]"), or limit the tag with `when`',
    );
  });
});

describe("an axis that does not apply (axes.AXIS.when) in tags, cache refs, groups and labels", () => {
  // Dynamo's device axis: cuda | xpu | cpu, and a CUDA version only for cuda.
  const DEVICE = DYNAMO.replace(
    '  cuda:\n    "12.9": {name: cuda12}\n    "13.0": {name: cuda13}\n',
    '  device:\n    cuda: {name: ""}\n    xpu: {}\n  cuda:\n    when: {device: cuda}\n    values:\n      "12.9": {name: cuda12}\n      "13.0": {name: cuda13}\n',
  )
    .replace(
      '"{sha}-{framework}-{target}[-{efa.name}]-{cuda.name}"',
      '"{sha}-{framework}-{target}[-{efa.name}][-{cuda.name}][-{device.name}]"',
    )
    .replace(
      "{branch_kind}-{framework}-{cuda.name}-{platforms}-cache",
      "{branch_kind}-{framework}[-{cuda.name}][-{device.name}]-{platforms}-cache",
    )
    .replaceAll('when: {target: runtime, efa: "off"}', 'when: {target: runtime, efa: "off", device: cuda}')
    .replace(
      "publish:",
      'groups:\n  per_axis: [cuda, device]\n  define:\n    cuda12-runtime: {cuda: "12.9", target: runtime, efa: "off"}\npublish:',
    );

  it("a bracketed part with the absent axis disappears; the variant exists once", () => {
    const p = plan(DEVICE, { branch: "main", sha: SHA });
    expect(Object.keys(p.bakeFile.target).filter((n) => n.startsWith("vllm"))).toEqual([
      "vllm-cuda12",
      "vllm-cuda12-efa",
      "vllm-cuda13",
      "vllm-cuda13-efa",
      "vllm-xpu",
      "vllm-xpu-efa",
      "vllm-dev-cuda12",
      "vllm-dev-cuda12-efa",
      "vllm-dev-cuda13",
      "vllm-dev-cuda13-efa",
      "vllm-dev-xpu",
      "vllm-dev-xpu-efa",
    ]);
    const xpu = target(p, "vllm-xpu");
    expect(xpu.tags).toEqual([`${ECR}/ai-dynamo/dynamo:${SHA}-vllm-runtime-xpu`]);
    expect(target(p, "vllm-cuda12").tags).toEqual([
      `${ECR}/ai-dynamo/dynamo:${SHA}-vllm-runtime-cuda12`,
      `${ECR}/ai-dynamo/dynamo:main-vllm-cuda12`,
      `${ECR}/ai-dynamo/dynamo:main-vllm-${SHA}-cuda12`,
    ]);
    expect(xpu["cache-from"]).toEqual([
      `type=registry,ref=${ECR}/ai-dynamo/dynamo:main-vllm-xpu-amd64-arm64-cache`,
      `type=registry,ref=${ECR}/ai-dynamo/dynamo:release-vllm-xpu-amd64-arm64-cache`,
    ]);
    expect(target(p, "vllm-cuda12")["cache-from"]).toEqual([
      `type=registry,ref=${ECR}/ai-dynamo/dynamo:main-vllm-cuda12-amd64-arm64-cache`,
      `type=registry,ref=${ECR}/ai-dynamo/dynamo:release-vllm-cuda12-amd64-arm64-cache`,
    ]);
    expect(xpu.labels?.["org.opencontainers.image.title"]).toBe("dynamo vllm-xpu");
    // per_axis groups of the restricted axis hold the targets that have it; a selector naming it never picks xpu.
    expect(p.bakeFile.group?.cuda12?.targets).toContain("vllm-cuda12");
    expect(p.bakeFile.group?.cuda12?.targets).not.toContain("vllm-xpu");
    expect(p.bakeFile.group?.xpu?.targets).toContain("vllm-xpu");
    expect(p.bakeFile.group?.["cuda12-runtime"]?.targets).toEqual(["sglang-cuda12", "trtllm-cuda12", "vllm-cuda12"]);
  });

  it("outside brackets it is an error naming the target and saying the axis does not apply", () => {
    const yaml = DEVICE.replace('[-{cuda.name}][-{device.name}]"', '-{cuda.name}[-{device.name}]"').replace(
      "  repository: ai-dynamo/dynamo\n  tag:",
      "  repository: ai-dynamo/dynamo-cache\n  tag:",
    );
    expect(planError(yaml, { sha: SHA }).message).toContain(
      'publish.tags[0]: The pattern "{sha}-{framework}-{target}[-{efa.name}]-{cuda.name}[-{device.name}]" has no value for {cuda.name} on vllm-xpu (framework=vllm, target=runtime, device=xpu, efa=off; cuda does not apply to it (axes.cuda.when)): put that part in brackets',
    );
  });

  it("the image-repository cache check knows target names without the absent axis's token", () => {
    // vllm-xpu is a target name (no cuda token), so the cache tag "vllm-xpu" would overwrite its image.
    const yaml = `${DEVICE_CONTEXT.replace('tags: ["{framework}-{target}[-{cuda.name}][-{device.name}]"]', 'tags: ["{name}"]')}cache: {repository: demo/app, tag: "{framework}-xpu"}\n`;
    expect(() => loadProject(yaml)).toThrow(
      'cache.repository: The cache shares the image repository demo/app, but the cache tag "{framework}-xpu" and the image tag "{name}" (publish.tags[0]) can both be "vllm-xpu"',
    );
    // With cuda on every combination, every name has a cuda token: the two patterns never meet.
    const everywhere = yaml
      .replace(/ {4}when: \{device: cuda\}\n {4}description: .*\n/, "")
      .replace('    values:\n      "12.9"', '    "12.9"')
      .replace('      "13.0"', '    "13.0"');
    expect(() => loadProject(everywhere)).not.toThrow();
  });
});

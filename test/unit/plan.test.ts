import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.js";
import { checkBakeFile, serializeBakeFile, type BakeFile } from "../../src/plan/bake-file.js";
import type { BuildInputs } from "../../src/plan/naming.js";
import { buildPlan, type PlanOptions } from "../../src/plan/plan.js";
import { exampleCopy, loadProject, MINI_CONTEXT, MINI_TEMPLATE, runCli, templateFiles } from "../helpers.js";

const ALL = ["sglang", "sglang-dev", "sglang-ubi", "sglang-ubi-dev", "vllm", "vllm-dev", "vllm-ubi", "vllm-ubi-dev"];
const CACHE = "cache:\n  repository: demo/cache\n";

function plan(yaml = MINI_CONTEXT, opts: Partial<PlanOptions> = {}, files = templateFiles()) {
  return buildPlan(loadProject(yaml), files, { configLabel: "context.yaml", ...opts });
}

function planError(yaml = MINI_CONTEXT, opts: Partial<PlanOptions> = {}, files = templateFiles()): ConfigError {
  try {
    plan(yaml, opts, files);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected buildPlan to throw a ConfigError");
}

function target(p: ReturnType<typeof plan>, name: string) {
  const t = p.bakeFile.target[name];
  if (!t) throw new Error(`no target ${name}; targets: ${Object.keys(p.bakeFile.target).join(", ")}`);
  return t;
}

describe("buildPlan: Dockerfiles", () => {
  it("renders one Dockerfile per distinct content: variants differing only in the stage axis share it", () => {
    const p = plan();
    expect(p.files.map((f) => [f.path, f.targets])).toEqual([
      ["bake/sglang-ubi.Dockerfile", ["sglang-ubi", "sglang-ubi-dev"]],
      ["bake/sglang.Dockerfile", ["sglang", "sglang-dev"]],
      ["bake/vllm-ubi.Dockerfile", ["vllm-ubi", "vllm-ubi-dev"]],
      ["bake/vllm.Dockerfile", ["vllm", "vllm-dev"]],
    ]);
    expect([target(p, "vllm-ubi"), target(p, "vllm-ubi-dev")].map((t) => [t.context, t.dockerfile, t.target])).toEqual([
      [".", "bake/vllm-ubi.Dockerfile", "runtime"],
      [".", "bake/vllm-ubi.Dockerfile", "dev"],
    ]);
  });

  it("shares one Dockerfile between axis values that render the same content", () => {
    const p = plan(
      MINI_CONTEXT,
      {},
      templateFiles({
        "Dockerfile.liquid": "{% arg BASE_IMAGE %}\nFROM ${BASE_IMAGE} AS runtime\nFROM runtime AS dev\n",
      }),
    );
    expect(p.files.map((f) => [f.path, f.targets.length])).toEqual([["bake/sglang.Dockerfile", 8]]);
    expect(new Set(Object.values(p.bakeFile.target).map((t) => t.dockerfile))).toEqual(
      new Set(["bake/sglang.Dockerfile"]),
    );
  });

  it("gives each content its own file, named after a target, when a stage-axis value changes the content", () => {
    const yaml = MINI_CONTEXT.replace("    dev: {}", '    dev:\n      args: {DEV_TOOLS: "1"}').replace(
      "  images:\n",
      '  args: {DEV_TOOLS: "0"}\n  images:\n',
    );
    const p = plan(yaml, {}, templateFiles({ "Dockerfile.liquid": `${MINI_TEMPLATE}{% arg DEV_TOOLS %}\n` }));
    expect(p.files.filter((f) => f.path.includes("vllm")).map((f) => [f.path, f.targets])).toEqual([
      ["bake/vllm-dev.Dockerfile", ["vllm-dev"]],
      ["bake/vllm-ubi-dev.Dockerfile", ["vllm-ubi-dev"]],
      ["bake/vllm-ubi.Dockerfile", ["vllm-ubi"]],
      ["bake/vllm.Dockerfile", ["vllm"]],
    ]);
    expect(target(p, "vllm-dev").args).toEqual({
      BASE_IMAGE: "docker.io/library/ubuntu:24.04",
      DEV_TOOLS: "1",
      FW_REF: "v1",
    });
  });

  it("is byte-identical on repeated runs and whatever order the templates were read in", () => {
    const files = {
      "Dockerfile.liquid": `${MINI_TEMPLATE}{% include 'b' %}{% include 'a' %}`,
      "a.liquid": "RUN a\n",
      "b.liquid": "RUN b\n",
    };
    const reversed = Object.fromEntries(Object.entries(files).reverse());
    const first = plan(MINI_CONTEXT, {}, templateFiles(files));
    const second = plan(MINI_CONTEXT, {}, templateFiles(reversed));
    expect(second.bakeJson).toBe(first.bakeJson);
    expect(second.files).toEqual(first.files);
  });

  it("writes build.out_dir and build.context into paths relative to the project", () => {
    const yaml = MINI_CONTEXT.replace(
      "stage_axis: target\n",
      "stage_axis: target\nbuild: {out_dir: ./gen/docker/, context: ./src}\n",
    );
    const p = plan(yaml);
    expect(p.files[0]?.path).toBe("gen/docker/sglang-ubi.Dockerfile");
    expect(target(p, "vllm")).toMatchObject({ context: "src", dockerfile: "../gen/docker/vllm.Dockerfile" });
  });
});

describe("buildPlan: args", () => {
  it("sends only the ARGs a Dockerfile declares, and warns about values nothing declares", () => {
    const yaml = MINI_CONTEXT.replace("  images:\n", "  args: {UNUSED: x, PLAIN: p}\n  images:\n");
    const p = plan(yaml, {}, templateFiles({ "Dockerfile.liquid": `${MINI_TEMPLATE}ARG PLAIN\nARG NO_VALUE\n` }));
    expect(target(p, "vllm").args).toEqual({ BASE_IMAGE: "docker.io/library/ubuntu:24.04", FW_REF: "v1", PLAIN: "p" });
    expect(p.warnings.map((w) => `${w.location?.line}:${w.location?.col}: ${w.location?.path}: ${w.message}`)).toEqual([
      "25:10: defaults.args.UNUSED: ARG UNUSED is set here but no rendered Dockerfile declares it",
    ]);
  });

  it("records the declaring stage and template line of each ARG, for explain", () => {
    const t = plan().targets.find((x) => x.variant.name === "vllm-dev");
    expect(
      Object.fromEntries(
        [...(t?.declarations ?? [])].map(([k, d]) => [
          k,
          `${d.stage || "global"} ${d.template?.template}:${d.template?.line}`,
        ]),
      ),
    ).toEqual({
      BASE_IMAGE: "global Dockerfile.liquid:1",
      FW_REF: "runtime Dockerfile.liquid:3",
    });
  });

  it("applies --set to declared ARGs and refuses one that no Dockerfile declares", () => {
    expect(target(plan(MINI_CONTEXT, { overrides: [{ name: "FW_REF", value: "v2" }] }), "vllm").args?.FW_REF).toBe(
      "v2",
    );
    expect(planError(MINI_CONTEXT, { overrides: [{ name: "FW_RF", value: "v2" }] }).message).toContain(
      "command line: --set FW_RF: No rendered Dockerfile declares ARG FW_RF. Declared: BASE_IMAGE, FW_REF",
    );
  });

  it("plans only the selected targets with --only, without unused-value warnings", () => {
    const yaml = MINI_CONTEXT.replace("  images:\n", "  args: {UNUSED: x}\n  images:\n");
    const p = plan(yaml, { only: ["framework=vllm,os=ubi"] });
    expect(p.targets.map((t) => t.variant.name)).toEqual(["vllm-ubi", "vllm-ubi-dev"]);
    expect(p.files.map((f) => f.path)).toEqual(["bake/vllm-ubi.Dockerfile"]);
    expect(Object.fromEntries([...p.groups])).toEqual({
      all: ["vllm-ubi", "vllm-ubi-dev"],
      default: ["vllm-ubi", "vllm-ubi-dev"],
    });
    expect(p.warnings).toEqual([]);
  });
});

describe("buildPlan: groups", () => {
  it("always has all, and default falls back to all", () => {
    const p = plan();
    expect(p.bakeFile.group).toEqual({ all: { targets: ALL }, default: { targets: ALL } });
  });

  it("adds one group per value of the per_axis axes (value when the name token is empty) and the defined groups", () => {
    const yaml = `${MINI_CONTEXT}groups:\n  per_axis: [os, target]\n  define:\n    default: {target: runtime}\n    gpu: {framework: vllm, os: [ubuntu, ubi]}\n    dev: {framework: sglang}\n`;
    expect(plan(yaml).bakeFile.group).toEqual({
      all: { targets: ALL },
      default: { targets: ["sglang", "sglang-ubi", "vllm", "vllm-ubi"] },
      dev: { targets: ["sglang", "sglang-dev", "sglang-ubi", "sglang-ubi-dev", "vllm-dev", "vllm-ubi-dev"] },
      gpu: { targets: ["vllm", "vllm-dev", "vllm-ubi", "vllm-ubi-dev"] },
      runtime: { targets: ["sglang", "sglang-ubi", "vllm", "vllm-ubi"] },
      ubi: { targets: ["sglang-ubi", "sglang-ubi-dev", "vllm-ubi", "vllm-ubi-dev"] },
      ubuntu: { targets: ["sglang", "sglang-dev", "vllm", "vllm-dev"] },
    });
  });

  it("leaves out a group whose members are all excluded", () => {
    const yaml = `${MINI_CONTEXT}exclude:\n  - when: {os: ubi}\n    reason: no\ngroups:\n  define:\n    rhel: {os: ubi}\n`;
    expect(Object.keys(plan(yaml).bakeFile.group)).toEqual(["all", "default"]);
  });

  // prettier-ignore
  it.each([
    { name: "a per-axis group named like a target", groups: "groups:\n  per_axis: [framework]\n", message: 'context.yaml:32:14: groups.per_axis[0]: Group "sglang" has the name of a target; bake would silently build the group. Rename one of them' },
    { name: "a defined group named like a target", groups: "groups:\n  define:\n    vllm-ubi: {os: ubi}\n", message: 'context.yaml:33:5: groups.define.vllm-ubi: Group "vllm-ubi" has the name of a target' },
    { name: "a group name bake rejects", groups: "groups:\n  define:\n    \"gpu.all\": {os: ubi}\n", message: 'context.yaml:33:5: groups.define["gpu.all"]: Group name "gpu.all" has characters bake rejects' },
  ])("refuses $name", ({ groups, message }) => {
    expect(planError(MINI_CONTEXT + groups).message).toContain(message);
  });
});

describe("buildPlan: tags, cache and labels", () => {
  const TAGS = MINI_CONTEXT.replace(
    '  tags: ["{name}"]',
    '  tags:\n    - "{sha}-{name}"\n    - "{branch}-{name}"\n    - "{version}-{name}"\n    - "{sha_short}-{framework}{target}-{os}"\n    - "latest-{name}"',
  );

  // prettier-ignore
  it.each<{ inputs: BuildInputs; tags: string[] }>([
    { inputs: {}, tags: ["latest-vllm-ubi-dev"] },
    { inputs: { branch: "main" }, tags: ["main-vllm-ubi-dev", "latest-vllm-ubi-dev"] },
    {
      inputs: { sha: "0123456789abcdef", branch: "feature/Foo Bar", version: "1.2.0" },
      tags: ["0123456789abcdef-vllm-ubi-dev", "feature-Foo-Bar-vllm-ubi-dev", "1.2.0-vllm-ubi-dev", "0123456-vllmdev-ubi", "latest-vllm-ubi-dev"],
    },
    { inputs: { branch: "-dependabot/npm_and_yarn/..x" }, tags: ["dependabot-npm_and_yarn-..x-vllm-ubi-dev", "latest-vllm-ubi-dev"] },
    { inputs: { version: "1.2.0+build.5" }, tags: ["1.2.0-build.5-vllm-ubi-dev", "latest-vllm-ubi-dev"] },
  ])("tags with $inputs, leaving out patterns whose input is absent", ({ inputs, tags }) => {
    expect(target(plan(TAGS, { inputs }), "vllm-ubi-dev").tags).toEqual(tags.map((t) => `registry.example.com/demo/app:${t}`));
  });

  it("pushes to --registry instead of publish.registry and cache registry", () => {
    const t = target(plan(MINI_CONTEXT + CACHE, { inputs: { registry: "localhost:5000", branch: "main" } }), "vllm");
    expect(t.tags).toEqual(["localhost:5000/demo/app:vllm"]);
    expect(t["cache-from"]).toEqual(["type=registry,ref=localhost:5000/demo/cache:vllm-main"]);
  });

  // prettier-ignore
  it.each<{ name: string; inputs: BuildInputs; from: string[]; to: string[] | undefined }>([
    { name: "no branch: read main only", inputs: {}, from: ["vllm-main"], to: undefined },
    { name: "a feature branch: read it, then main; write nothing", inputs: { branch: "feature/x" }, from: ["vllm-feature-x", "vllm-main"], to: undefined },
    { name: "main: read main once and write it", inputs: { branch: "main" }, from: ["vllm-main"], to: ["vllm-main"] },
  ])("cache refs on $name", ({ inputs, from, to }) => {
    const t = target(plan(MINI_CONTEXT + CACHE, { inputs }), "vllm");
    expect(t["cache-from"]).toEqual(from.map((tag) => `type=registry,ref=registry.example.com/demo/cache:${tag}`));
    expect(t["cache-to"]).toEqual(to?.map((tag) => `type=registry,ref=registry.example.com/demo/cache:${tag},mode=max,image-manifest=true,oci-mediatypes=true,ignore-error=true`));
  });

  it("writes cache on every write_on branch, with the configured mode, registry, tag and fallbacks", () => {
    const cache =
      'cache:\n  registry: cache.example.com\n  repository: demo/cache\n  tag: "{branch}.{name}"\n  fallback: [develop, main]\n  write_on: [main, release]\n  mode: min\n';
    const t = target(plan(MINI_CONTEXT + cache, { inputs: { branch: "release" } }), "sglang-dev");
    expect(t["cache-from"]).toEqual(
      ["release", "develop", "main"].map((b) => `type=registry,ref=cache.example.com/demo/cache:${b}.sglang-dev`),
    );
    expect(t["cache-to"]).toEqual([
      "type=registry,ref=cache.example.com/demo/cache:release.sglang-dev,mode=min,image-manifest=true,oci-mediatypes=true,ignore-error=true",
    ]);
  });

  it("labels images with OCI title, source, version and revision, and lets context labels override them", () => {
    const sha = "0123456789abcdef0123456789abcdef01234567";
    expect(target(plan(MINI_CONTEXT, { inputs: { sha, version: "1.2.0" } }), "vllm").labels).toEqual({
      "org.opencontainers.image.revision": sha,
      "org.opencontainers.image.source": "https://example.com/demo",
      "org.opencontainers.image.title": "demo vllm",
      "org.opencontainers.image.version": "1.2.0",
    });
    const yaml = MINI_CONTEXT.replace("  name: demo\n", "  name: demo\n  title: Demo Inference\n").replace(
      "  images:\n",
      "  labels:\n    org.opencontainers.image.vendor: Example\n  images:\n",
    );
    expect(target(plan(yaml), "vllm-dev").labels).toEqual({
      "org.opencontainers.image.source": "https://example.com/demo",
      "org.opencontainers.image.title": "Demo Inference vllm-dev",
      "org.opencontainers.image.vendor": "Example",
    });
  });

  it("carries platforms, secrets and network", () => {
    const yaml = MINI_CONTEXT.replace("stage_axis: target\n", "stage_axis: target\nbuild: {network: host}\n").replace(
      "  images:\n",
      "  secrets:\n    aws-key-id: {env: AWS_ACCESS_KEY_ID}\n    netrc: {src: ~/.netrc}\n  images:\n",
    );
    expect(target(plan(yaml), "vllm")).toMatchObject({
      platforms: ["linux/amd64"],
      secret: ["id=aws-key-id,env=AWS_ACCESS_KEY_ID", "id=netrc,src=~/.netrc"],
      network: "host",
    });
  });
});

describe("bake JSON escaping", () => {
  it("escapes ${ and %{ in every string: args, labels, tags, cache refs and keys", () => {
    const file: BakeFile = {
      "//": "banner",
      group: { default: { targets: ["t"] } },
      target: {
        t: {
          context: ".",
          dockerfile: "bake/t.Dockerfile",
          target: "runtime",
          args: { GREETING: "hi ${USER}", DIRECTIVE: "%{ if x }", PLAIN: "$HOME", ALREADY: "$${X}" },
          labels: { "note.${x}": "a %{b}" },
          tags: ["r/${repo}:t"],
          "cache-from": ["type=registry,ref=r/c:${branch}"],
        },
      },
    };
    const json = serializeBakeFile(file);
    const parsed = JSON.parse(json) as BakeFile;
    expect(parsed.target.t?.args).toEqual({
      GREETING: "hi $${USER}",
      DIRECTIVE: "%%{ if x }",
      PLAIN: "$HOME",
      ALREADY: "$$${X}",
    });
    expect(parsed.target.t?.labels).toEqual({ "note.$${x}": "a %%{b}" });
    expect(parsed.target.t?.tags).toEqual(["r/$${repo}:t"]);
    expect(parsed.target.t?.["cache-from"]).toEqual(["type=registry,ref=r/c:$${branch}"]);
    expect(file.target.t?.args?.GREETING).toBe("hi ${USER}");
  });

  it("escapes values that come from context.yaml all the way into docker-bake.json", () => {
    const yaml = MINI_CONTEXT.replace("FW_REF: v1", 'FW_REF: "v1 ${SUFFIX} %{x}"').replace(
      "  images:\n",
      '  labels:\n    note: "${not_a_var}"\n  images:\n',
    );
    const p = plan(yaml);
    expect(p.bakeJson).toContain('"FW_REF": "v1 $${SUFFIX} %%{x}"');
    expect(p.bakeJson).toContain('"note": "$${not_a_var}"');
    expect(p.bakeJson).not.toMatch(/[^$]\$\{/);
    expect(p.files.find((f) => f.path === "bake/vllm.Dockerfile")?.content).toContain(
      'ARG FW_REF="v1 \\${SUFFIX} %{x}"',
    );
  });

  it("sorts groups and targets and ends with a newline", () => {
    const json = serializeBakeFile({
      "//": "b",
      group: { z: { targets: ["b"] }, a: { targets: ["b"] } },
      target: { b: { context: ".", dockerfile: "D", target: "s" }, a: { context: ".", dockerfile: "D", target: "s" } },
    });
    const parsed = JSON.parse(json) as BakeFile;
    expect([Object.keys(parsed.group), Object.keys(parsed.target)]).toEqual([
      ["a", "z"],
      ["a", "b"],
    ]);
    expect(json.endsWith("}\n")).toBe(true);
  });
});

describe("checkBakeFile", () => {
  it("refuses attributes bake would silently drop, and names bake rejects", () => {
    const file = {
      "//": "b",
      group: { vllm: { targets: ["vllm"] }, "a b": { targets: [] } },
      target: { vllm: { context: ".", dockerfile: "D", target: "s", cache_from: ["x"] } },
    } as unknown as BakeFile;
    expect(checkBakeFile(file)).toEqual([
      'target "vllm": unknown bake attribute "cache_from"',
      'group "vllm" has the name of a target; bake would build the group',
      'group "a b": bake allows only [a-zA-Z0-9_-] in names',
    ]);
  });
});

describe("--set of a platform ARG", () => {
  it.each(["TARGETARCH", "TARGETPLATFORM", "BUILDPLATFORM"])(
    "refuses --set %s (it would override BuildKit's per-platform value)",
    async (name) => {
      const dir = exampleCopy();
      const res = await runCli(["plan", "--set", `${name}=arm64`], dir);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(`command line: --set ${name}: ${name} is set by BuildKit for each platform`);
      expect(existsSync(join(dir, "docker-bake.json"))).toBe(false);
    },
  );
});

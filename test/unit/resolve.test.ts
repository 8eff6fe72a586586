import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.js";
import { expandMatrix } from "../../src/matrix/expand.js";
import { applicableLayers, resolveValues, type Override } from "../../src/resolve/resolve.js";
import { DEVICE_CONTEXT, loadProject } from "../helpers.js";

// Line numbers below are asserted exactly: keep this text as it is.
const YAML = `project: {name: p}
axes:
  framework:
    vllm:
      args:
        REF: axis-vllm
    sglang: {}
  cuda:
    "12.9":
      name: cuda12
      args:
        CUDA: "12.9"
    "13.0":
      name: cuda13
  target: [runtime, dev]
stage_axis: target
defaults:
  platforms: [linux/amd64, linux/arm64]
  args:
    REF: default
    CUDA: none
  labels:
    team: infra
  secrets:
    aws: {env: AWS_KEY}
combinations:
  - when: {framework: vllm, cuda: "12.9"}
    args:
      REF: combo-2
  - when: {framework: vllm, cuda: "12.9", target: dev}
    args:
      REF: combo-3
    platforms: [linux/amd64]
publish: {registry: r.example.com, repository: p, tags: ["{name}"]}
`;

function variant(yaml: string, name: string) {
  const project = loadProject(yaml);
  const v = expandMatrix(project).variants.find((x) => x.name === name);
  if (!v) throw new Error(`no variant ${name}`);
  return { project, variant: v };
}

function resolveFor(yaml: string, name: string, overrides: Override[] = []) {
  const { project, variant: v } = variant(yaml, name);
  return resolveValues(project, v, overrides);
}

function resolveError(yaml: string, name: string, overrides: Override[] = []): ConfigError {
  try {
    resolveFor(yaml, name, overrides);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected resolveValues to throw a ConfigError");
}

describe("resolveValues: precedence defaults < axis value < combination (more axes wins) < --set", () => {
  // prettier-ignore
  it.each([
    { target: "sglang-cuda13-runtime", overrides: [], value: "default", layer: "defaults", source: { file: "context.yaml", line: 20, col: 10, path: "defaults.args.REF" } },
    { target: "vllm-cuda13-runtime", overrides: [], value: "axis-vllm", layer: "framework=vllm", source: { file: "context.yaml", line: 6, col: 14, path: "axes.framework.vllm.args.REF" } },
    { target: "vllm-cuda12-runtime", overrides: [], value: "combo-2", layer: "framework=vllm, cuda=12.9", source: { file: "context.yaml", line: 29, col: 12, path: "combinations[0].args.REF" } },
    { target: "vllm-cuda12-dev", overrides: [], value: "combo-3", layer: "framework=vllm, cuda=12.9, target=dev", source: { file: "context.yaml", line: 32, col: 12, path: "combinations[1].args.REF" } },
    { target: "vllm-cuda12-dev", overrides: [{ name: "REF", value: "cli" }], value: "cli", layer: "--set", source: { file: "command line", path: "--set REF" } },
  ])("$target REF with $overrides.length override(s) comes from $layer", ({ target, overrides, value, layer, source }) => {
    const ref = resolveFor(YAML, target, overrides).args.get("REF");
    expect(ref).toEqual({ value, layer, source });
  });

  it("keeps values of lower layers that higher layers do not set, each with its own source", () => {
    const values = resolveFor(YAML, "vllm-cuda12-runtime", [{ name: "EXTRA", value: "x" }]);
    expect(
      Object.fromEntries(
        [...values.args].map(([k, r]) => [k, `${r.value} @ ${r.source.file}:${r.source.line ?? "-"} ${r.source.path}`]),
      ),
    ).toEqual({
      REF: "combo-2 @ context.yaml:29 combinations[0].args.REF",
      CUDA: '12.9 @ context.yaml:12 axes.cuda["12.9"].args.CUDA',
      EXTRA: "x @ command line:- --set EXTRA",
    });
    expect(values.labels.get("team")).toEqual({
      value: "infra",
      layer: "defaults",
      source: { file: "context.yaml", line: 23, col: 11, path: "defaults.labels.team" },
    });
    expect(values.secrets.get("aws")?.value).toEqual({ env: "AWS_KEY" });
  });

  it("replaces the platform list of a lower layer instead of merging it", () => {
    expect(resolveFor(YAML, "vllm-cuda12-runtime", []).platforms).toEqual({
      value: ["linux/amd64", "linux/arm64"],
      layer: "defaults",
      source: { file: "context.yaml", line: 18, col: 14, path: "defaults.platforms" },
    });
    expect(resolveFor(YAML, "vllm-cuda12-dev", []).platforms).toEqual({
      value: ["linux/amd64"],
      layer: "framework=vllm, cuda=12.9, target=dev",
      source: { file: "context.yaml", line: 33, col: 16, path: "combinations[1].platforms" },
    });
  });

  it("lets a one-axis combination win over the axis value itself", () => {
    const yaml = YAML.replace(
      "combinations:\n",
      "combinations:\n  - when: {framework: vllm}\n    args: {REF: combo-1}\n",
    );
    expect(resolveFor(yaml, "vllm-cuda13-runtime").args.get("REF")).toMatchObject({
      value: "combo-1",
      layer: "framework=vllm",
    });
  });

  it("records which ARGs hold images", () => {
    const yaml = YAML.replace(
      "  args:\n    REF: default",
      "  images:\n    BASE_IMAGE: nvcr.io/nvidia/cuda:12.9.1-devel-ubuntu24.04\n  args:\n    REF: default",
    );
    const values = resolveFor(yaml, "sglang-cuda13-runtime");
    expect([...values.images]).toEqual(["BASE_IMAGE"]);
    expect(values.args.get("BASE_IMAGE")?.value).toBe("nvcr.io/nvidia/cuda:12.9.1-devel-ubuntu24.04");
  });

  it("orders the applicable layers by rank, file order within a rank", () => {
    const { project, variant: v } = variant(YAML, "vllm-cuda12-dev");
    expect(applicableLayers(project.layers, v).map((l) => `${l.rank} ${l.label}`)).toEqual([
      "0 defaults",
      "1 framework=vllm",
      "1 cuda=12.9",
      "1 target=dev",
      "2 framework=vllm, cuda=12.9",
      "3 framework=vllm, cuda=12.9, target=dev",
    ]);
  });
});

describe("resolveValues: conflicts at the same precedence", () => {
  const conflicting = YAML.replace("    sglang: {}", "    sglang:\n      args:\n        REF: from-sglang").replace(
    "      name: cuda13\n",
    "      name: cuda13\n      args:\n        REF: from-cuda13\n",
  );

  it("is an error when two axis values that both apply disagree", () => {
    const err = resolveError(conflicting, "sglang-cuda13-runtime");
    expect(err.message).toContain(
      'Conflicting values for ARG REF in sglang-cuda13-runtime: "from-sglang" from framework=sglang and "from-cuda13" from cuda=13.0, at the same precedence',
    );
    expect(err.issues[0]?.location).toMatchObject({
      file: "context.yaml",
      line: 18,
      path: 'axes.cuda["13.0"].args.REF',
    });
  });

  it("is not an error when they agree", () => {
    const agreeing = conflicting.replace("REF: from-cuda13", "REF: from-sglang");
    expect(resolveFor(agreeing, "sglang-cuda13-runtime").args.get("REF")?.value).toBe("from-sglang");
  });

  it("is settled by a combination naming both axes, as the message advises", () => {
    const decided = conflicting.replace(
      "combinations:\n",
      'combinations:\n  - when: {framework: sglang, cuda: "13.0"}\n    args: {REF: decided}\n',
    );
    expect(resolveFor(decided, "sglang-cuda13-runtime").args.get("REF")).toMatchObject({
      value: "decided",
      layer: "framework=sglang, cuda=13.0",
    });
  });

  it("is settled by --set, the highest precedence", () => {
    expect(
      resolveFor(conflicting, "sglang-cuda13-runtime", [{ name: "REF", value: "cli" }]).args.get("REF"),
    ).toMatchObject({ value: "cli", layer: "--set" });
  });

  it("is an error for two combinations naming the same number of axes", () => {
    const yaml = YAML.replace(
      "combinations:\n",
      'combinations:\n  - when: {cuda: "12.9", target: runtime}\n    args: {REF: other}\n',
    );
    expect(resolveError(yaml, "vllm-cuda12-runtime").message).toContain(
      'Conflicting values for ARG REF in vllm-cuda12-runtime: "other" from cuda=12.9, target=runtime and "combo-2" from framework=vllm, cuda=12.9, at the same precedence',
    );
  });

  it("is an error when two layers of the same rank set different platforms", () => {
    const yaml = YAML.replace(
      "combinations:\n",
      'combinations:\n  - when: {cuda: "12.9", target: runtime}\n    platforms: [linux/arm64]\n  - when: {framework: vllm, target: runtime}\n    platforms: [linux/amd64]\n',
    );
    expect(resolveError(yaml, "vllm-cuda12-runtime").message).toContain(
      "context.yaml:30:16: combinations[1].platforms: Conflicting platforms for vllm-cuda12-runtime from cuda=12.9, target=runtime and framework=vllm, target=runtime at the same precedence",
    );
  });

  it("lets a layer naming more axes settle a platforms conflict", () => {
    const yaml = YAML.replace(
      "combinations:\n",
      'combinations:\n  - when: {cuda: "12.9", target: dev}\n    platforms: [linux/arm64]\n  - when: {framework: vllm, target: dev}\n    platforms: [linux/amd64, linux/arm64]\n',
    );
    // combinations[3] (framework=vllm, cuda=12.9, target=dev) names three axes and sets linux/amd64.
    expect(resolveFor(yaml, "vllm-cuda12-dev").platforms).toMatchObject({
      value: ["linux/amd64"],
      layer: "framework=vllm, cuda=12.9, target=dev",
    });
  });
});

describe("resolveValues: values that must not reach a build", () => {
  // prettier-ignore
  it.each([
    { name: "an ARG named like a secret", args: "HF_TOKEN: abc", message: "ARG HF_TOKEN looks like a secret (its name HF_TOKEN looks like a secret)" },
    { name: "an AWS access key id", args: "KEY_ID_REF: AKIAABCDEFGHIJKLMNOP", message: "ARG KEY_ID_REF looks like a secret (its value looks like an AWS access key id)" },
    { name: "a GitHub token", args: "REPO_REF: ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", message: "its value looks like a GitHub token" },
  ])("refuses $name, pointing at where it is set", ({ args, message }) => {
    const err = resolveError(YAML.replace("    CUDA: none\n", `    CUDA: none\n    ${args}\n`), "sglang-cuda13-runtime");
    expect(err.message).toContain(`context.yaml:22:`);
    expect(err.message).toContain(message);
    expect(err.message).toContain("Declare a bake secret under `secrets:`");
  });

  it("accepts a secret-like name listed in build.allow_secret_like", () => {
    const yaml = YAML.replace("    CUDA: none\n", "    CUDA: none\n    TOKENIZER_TOKEN: t5\n").replace(
      "stage_axis: target\n",
      "stage_axis: target\nbuild: {allow_secret_like: [TOKENIZER_TOKEN]}\n",
    );
    expect(resolveFor(yaml, "sglang-cuda13-runtime").args.get("TOKENIZER_TOKEN")?.value).toBe("t5");
  });

  it.each([
    {
      name: "a --set value with a line break",
      set: { name: "REF", value: "a\nRUN x" },
      message: "command line: --set REF: The ARG REF contains a line break",
    },
    {
      name: "a --set secret",
      set: { name: "GH_TOKEN", value: "x" },
      message: "command line: --set GH_TOKEN: ARG GH_TOKEN looks like a secret",
    },
  ])("refuses $name", ({ set, message }) => {
    expect(resolveError(YAML, "sglang-cuda13-runtime", [set]).message).toContain(message);
  });

  it("checks a --set of an image ARG as an image reference", () => {
    const yaml = YAML.replace(
      "  args:\n    REF: default",
      "  images:\n    BASE_IMAGE: ubuntu:24.04\n  args:\n    REF: default",
    );
    expect(
      resolveError(yaml, "sglang-cuda13-runtime", [{ name: "BASE_IMAGE", value: "Not An Image" }]).message,
    ).toContain('command line: --set BASE_IMAGE: Invalid image reference "Not An Image"');
  });
});

describe("an axis that does not apply (axes.AXIS.when)", () => {
  it("its values' layers and combinations naming it apply only where it has a value", () => {
    const project = loadProject(
      `${DEVICE_CONTEXT}combinations:\n  - when: {framework: vllm, cuda: "13.0"}\n    args: {CUDA_VERSION: "13.0.2"}\n`,
    );
    const { variants } = expandMatrix(project);
    const of = (name: string) =>
      resolveValues(
        project,
        variants.find((v) => v.name === name)!,
      );
    expect(of("vllm-cuda12").args.get("CUDA_VERSION")).toMatchObject({ value: "12.9", layer: "cuda=12.9" });
    expect(of("vllm-cuda13").args.get("CUDA_VERSION")).toMatchObject({
      value: "13.0.2",
      layer: "framework=vllm, cuda=13.0",
    });
    expect(of("sglang-cuda13").args.get("CUDA_VERSION")?.value).toBe("13.0");
    const xpu = of("vllm-xpu");
    expect(xpu.args.has("CUDA_VERSION")).toBe(false);
    expect(xpu.args.get("BASE_IMAGE")).toMatchObject({ layer: "device=xpu" });
    expect(
      applicableLayers(
        project.layers,
        variants.find((v) => v.name === "vllm-xpu")!,
      ).map((l) => l.label),
    ).toEqual(["defaults", "device=xpu", "target=runtime"]);
  });
});

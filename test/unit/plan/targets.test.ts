import { describe, expect, it } from "vitest";
import { EnvTemplate } from "../../../src/plan/bake-file.js";
import { labelsOf, planTargets, secretEntries } from "../../../src/plan/targets.js";
import { MINI_CONTEXT, MINI_TEMPLATE, templateFiles } from "../../helpers.js";
import { runStages, variant } from "./stages.js";

function targetsOf(...args: Parameters<typeof runStages>) {
  const staged = runStages(...args);
  return { staged, ...planTargets(staged.project, staged.variants, staged) };
}

describe("target descriptions", () => {
  it("joins each axis value's description, or `axis value` where it has none, in axis order", () => {
    const { targets } = targetsOf(
      MINI_CONTEXT.replace("    dev: {}\n", "    dev:\n      description: with build tools\n").replace(
        "      package_manager: dnf\n",
        "      package_manager: dnf\n      description: Red Hat UBI 9\n",
      ),
    );
    expect(targets.map((t) => [t.variant.name, t.bake.description])).toContainEqual([
      "sglang-ubi-dev",
      "framework sglang, Red Hat UBI 9, with build tools",
    ]);
  });
});

describe("planTargets", () => {
  it("builds a bake target per variant, in variant order, with only non-empty list attributes", () => {
    const { targets, issues } = targetsOf();
    expect(issues).toEqual([]);
    expect(targets.map((t) => t.variant.name)).toEqual([
      "vllm",
      "vllm-dev",
      "vllm-ubi",
      "vllm-ubi-dev",
      "sglang",
      "sglang-dev",
      "sglang-ubi",
      "sglang-ubi-dev",
    ]);
    const vllmUbiDev = targets[3]!;
    expect(vllmUbiDev.dockerfile).toBe("bake/vllm-ubi.Dockerfile");
    expect(JSON.parse(JSON.stringify(vllmUbiDev.bake))).toEqual({
      description: "framework vllm, os ubi, target dev",
      context: ".",
      dockerfile: "bake/vllm-ubi.Dockerfile",
      target: "dev",
      args: { BASE_IMAGE: "docker.io/library/ubuntu:24.04", FW_REF: "v1" },
      platforms: ["linux/amd64"],
      tags: ["registry.example.com/demo/app:vllm-ubi-dev"],
      labels: {
        "org.opencontainers.image.source": "https://example.com/demo",
        "org.opencontainers.image.title": "demo vllm-ubi-dev",
      },
    });
    expect(targets[0]!.declarations).toBe(targets[1]!.declarations);
  });

  it("reports a Dockerfile's problems with its first target, a missing stage per target, shared problems once", () => {
    const template = "FROM a AS runtime\nFROM b AS runtime\n";
    const { issues } = targetsOf(MINI_CONTEXT, templateFiles({ "Dockerfile.liquid": template }), {
      inputs: { registry: "bad registry" },
    });
    expect(issues.map((i) => `${i.location?.file}:${i.location?.line}: ${i.message.slice(0, 48)}`)).toEqual([
      'bake/sglang.Dockerfile:undefined: stage "runtime" is defined twice',
      'command line:undefined: Invalid registry "bad registry": expected a host',
      'context.yaml:21: Stage "dev" (bake target of vllm-dev, from targe',
      'context.yaml:21: Stage "dev" (bake target of vllm-ubi-dev, from t',
      'context.yaml:21: Stage "dev" (bake target of sglang-dev, from tar',
      'context.yaml:21: Stage "dev" (bake target of sglang-ubi-dev, from',
    ]);
    expect(issues[2]!.message).toBe(
      'Stage "dev" (bake target of vllm-dev, from target=dev) is not defined in bake/sglang.Dockerfile (rendered from templates/Dockerfile.liquid). Stages: runtime, runtime',
    );
  });

  it("locates a problem of a command-line input at its flag", () => {
    const { issues } = targetsOf(MINI_CONTEXT, templateFiles(), { inputs: { registry: "bad registry" } });
    expect(issues.map((i) => [i.location, i.message])).toEqual([
      [
        { file: "command line", path: "--registry" },
        'Invalid registry "bad registry": expected a host name with an optional :port',
      ],
    ]);
  });

  it("sends a Dockerfile only the ARGs it declares", () => {
    const yaml = MINI_CONTEXT.replace("  images:\n", "  args: {PLAIN: p, UNUSED: u}\n  images:\n");
    const { targets } = targetsOf(yaml, templateFiles({ "Dockerfile.liquid": `${MINI_TEMPLATE}ARG PLAIN\n` }));
    expect(Object.keys(targets[0]!.bake.args ?? {})).toEqual(["BASE_IMAGE", "FW_REF", "PLAIN"]);
  });
});

describe("labelsOf and secretEntries", () => {
  const yaml = `${MINI_CONTEXT.replace(
    "  platforms: [linux/amd64]\n",
    '  platforms: [linux/amd64]\n  labels: {"org.opencontainers.image.title": custom, z.note: ok}\n  secrets:\n    zed: {env: ZED}\n    abc: {src: "a,b"}\n',
  )}`;

  it("lets context labels override the OCI labels, sorted by name", () => {
    const staged = runStages(yaml);
    const v = variant(staged, "vllm");
    expect(labelsOf(staged.project, v, staged.valuesOf.get(v)!, { version: "1.0" })).toEqual({
      labels: {
        "org.opencontainers.image.source": "https://example.com/demo",
        "org.opencontainers.image.title": "custom",
        "org.opencontainers.image.version": "1.0",
        "z.note": "ok",
      },
    });
  });

  it("writes bake secret entries sorted by id, and refuses a comma in one", () => {
    const staged = runStages(yaml);
    const { entries, problems } = secretEntries(staged.valuesOf.get(variant(staged, "vllm"))!);
    expect(entries).toEqual(["id=abc,src=a,b", "id=zed,env=ZED"]);
    expect(problems.map((p) => [p.location?.path, p.message])).toEqual([
      ["defaults.secrets.abc", "Secret abc: a comma, quote or line break cannot appear in a bake secret entry"],
    ]);
  });

  it("passes a secret with `when` only to targets whose resolved ARGs match (Dynamo: sccache credentials only with sccache)", () => {
    const sccache = MINI_CONTEXT.replace(
      "  platforms: [linux/amd64]\n",
      [
        "  platforms: [linux/amd64]",
        '  args: {USE_SCCACHE: "false"}',
        "  secrets:",
        '    aws-key-id: {env: AWS_ACCESS_KEY_ID, when: {args: {USE_SCCACHE: "true"}}}',
        '    any-of: {env: X, when: {args: {USE_SCCACHE: ["true", "1"], FW_REF: v1}}}',
        "    always: {env: Y}",
        "",
      ].join("\n"),
    );
    const entries = (overrides: { name: string; value: string }[], name: string) => {
      const staged = runStages(sccache, undefined, { overrides });
      return secretEntries(staged.valuesOf.get(variant(staged, name))!).entries;
    };
    expect(entries([], "vllm")).toEqual(["id=always,env=Y"]);
    expect(entries([{ name: "USE_SCCACHE", value: "true" }], "vllm")).toEqual([
      "id=always,env=Y",
      "id=any-of,env=X",
      "id=aws-key-id,env=AWS_ACCESS_KEY_ID",
    ]);
    // FW_REF is s1 for sglang: any-of needs every listed ARG to match.
    expect(entries([{ name: "USE_SCCACHE", value: "1" }], "sglang")).toEqual(["id=always,env=Y"]);
  });

  it("leaves ${NAME} in a secret src for bake to read from the environment", () => {
    const staged = runStages(
      MINI_CONTEXT.replace(
        "  platforms: [linux/amd64]\n",
        '  platforms: [linux/amd64]\n  secrets:\n    token: {src: "${AWS_WEB_IDENTITY_TOKEN_FILE}"}\n    file: {src: "${HOME}/.aws/x%{y}"}\n',
      ),
    );
    const { entries } = secretEntries(staged.valuesOf.get(variant(staged, "vllm"))!);
    expect(entries.map((e) => [e instanceof EnvTemplate, String(e), JSON.stringify(e)])).toEqual([
      [true, "id=file,src=${HOME}/.aws/x%{y}", JSON.stringify("id=file,src=${HOME}/.aws/x%%{y}")],
      [
        true,
        "id=token,src=${AWS_WEB_IDENTITY_TOKEN_FILE}",
        JSON.stringify("id=token,src=${AWS_WEB_IDENTITY_TOKEN_FILE}"),
      ],
    ]);
  });
});

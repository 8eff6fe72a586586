// The stage a target builds (bake `target`): from the stage axis, a combination, defaults, or none.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { BakeFile } from "../../src/plan/bake-file.js";
import { MINI_CONTEXT, MINI_TEMPLATE, miniProject, runCli } from "../helpers.js";

/** MINI_TEMPLATE plus a stage only SGLang's dev image builds (Dynamo: runtime + EFA builds `aws`). */
const TEMPLATE = `${MINI_TEMPLATE}FROM dev AS dev-extra\n`;

async function bakeOf(yaml: string, template = TEMPLATE): Promise<BakeFile> {
  const dir = miniProject({ "context.yaml": yaml, "templates/Dockerfile.liquid": template });
  const res = await runCli(["plan"], dir);
  expect(res.stderr).toBe("");
  expect(res.code).toBe(0);
  return JSON.parse(readFileSync(join(dir, "docker-bake.json"), "utf8")) as BakeFile;
}

// combinations[0] starts on line 32 of MINI_CONTEXT plus this (MINI_CONTEXT is 30 lines).
const COMBINATION = `${MINI_CONTEXT}combinations:\n  - when: {framework: sglang, target: dev}\n    stage: dev-extra\n`;

describe("a combination's stage", () => {
  it("is what the targets it matches build; the others keep their stage axis value's", async () => {
    const bake = await bakeOf(COMBINATION);
    expect(bake.target["sglang-dev"]!.target).toBe("dev-extra");
    expect(bake.target["sglang-ubi-dev"]!.target).toBe("dev-extra");
    expect(bake.target["vllm-dev"]!.target).toBe("dev");
    expect(bake.target.sglang!.target).toBe("runtime");
    // The stage is not a template variable: one Dockerfile per framework x os, as before.
    expect(bake.target["sglang-dev"]!.dockerfile).toBe(bake.target.sglang!.dockerfile);
  });

  it("is explained with its source, key path and layer", async () => {
    const res = await runCli(
      ["explain", "sglang-dev", "FW_REF"],
      miniProject({ "context.yaml": COMBINATION, "templates/Dockerfile.liquid": TEMPLATE }),
    );
    expect(res.code).toBe(0);
    expect(res.stdout.split("\n")[1]).toBe(
      "  dockerfile: bake/sglang.Dockerfile  stage: dev-extra  (context.yaml:33:12: combinations[0].stage, framework=sglang, target=dev)",
    );
  });

  it("of a combination naming more axes wins; two of the same rank that disagree are an error naming both", async () => {
    const conflicting = `${COMBINATION}  - when: {os: ubi, target: dev}\n    stage: dev\n`;
    const dir = miniProject({ "context.yaml": conflicting, "templates/Dockerfile.liquid": TEMPLATE });
    const res = await runCli(["plan"], dir);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      'bakeplan: error:\n  context.yaml:35:12: combinations[1].stage: Conflicting stages for sglang-ubi-dev: "dev-extra" from framework=sglang, target=dev and "dev" from os=ubi, target=dev, at the same precedence. Add a combination naming both axes to decide\n',
    );
    const decided = `${conflicting}  - when: {framework: sglang, os: ubi, target: dev}\n    stage: dev\n`;
    const bake = await bakeOf(decided);
    expect(bake.target["sglang-ubi-dev"]!.target).toBe("dev");
    expect(bake.target["sglang-dev"]!.target).toBe("dev-extra");
  });

  it("that no Dockerfile defines is an error at the combination", async () => {
    const dir = miniProject({ "context.yaml": COMBINATION });
    const res = await runCli(["plan"], dir);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      'context.yaml:33:12: combinations[0].stage: Stage "dev-extra" (bake target of sglang-dev, from framework=sglang, target=dev) is not defined in bake/sglang.Dockerfile (rendered from templates/Dockerfile.liquid). Stages: runtime, dev',
    );
  });
});

/** MINI_CONTEXT without its stage axis: framework x os, one stage per Dockerfile. */
const NO_STAGE_AXIS = MINI_CONTEXT.replace(/ {2}target:\n(?: {4}.*\n)+/, "").replace("stage_axis: target\n", "");
const SINGLE_STAGE = "{% arg BASE_IMAGE %}\nFROM ${BASE_IMAGE}\n{% arg FW_REF %}\nRUN echo {{ framework }} > /fw\n";

describe("a project without a stage axis", () => {
  it("builds the last stage: no target attribute, FROM lines without a stage name", async () => {
    const bake = await bakeOf(NO_STAGE_AXIS, SINGLE_STAGE);
    expect(Object.keys(bake.target).sort()).toEqual(["sglang", "sglang-ubi", "vllm", "vllm-ubi"]);
    for (const t of Object.values(bake.target)) expect(t).not.toHaveProperty("target");
    expect(bake.target.vllm).toMatchObject({ dockerfile: "bake/vllm.Dockerfile", args: { FW_REF: "v1" } });
  });

  it("explain and list say so", async () => {
    const dir = miniProject({ "context.yaml": NO_STAGE_AXIS, "templates/Dockerfile.liquid": SINGLE_STAGE });
    const explain = await runCli(["explain", "vllm"], dir);
    expect(explain.stdout.split("\n").slice(0, 2)).toEqual([
      "vllm (framework=vllm, os=ubuntu)",
      "  dockerfile: bake/vllm.Dockerfile  stage: none: bake builds the last stage",
    ]);
    const list = JSON.parse((await runCli(["list", "--json"], dir)).stdout) as { name: string; stage?: string }[];
    expect(list.find((t) => t.name === "vllm")).not.toHaveProperty("stage");
  });

  it("may still name a stage for some combinations, or for all in defaults", async () => {
    const template = `${SINGLE_STAGE}FROM scratch AS export\n`;
    const yaml =
      NO_STAGE_AXIS.replace("  platforms:", "  stage: export\n  platforms:") +
      "combinations:\n  - when: {framework: vllm, os: ubi}\n    stage: export\n";
    const bake = await bakeOf(yaml.replace("  stage: export\n  platforms:", "  platforms:"), template);
    expect(bake.target["vllm-ubi"]!.target).toBe("export");
    expect(bake.target.vllm).not.toHaveProperty("target");
    const all = await bakeOf(yaml, template);
    expect(Object.values(all.target).map((t) => t.target)).toEqual(["export", "export", "export", "export"]);
  });

  it("refuses `stage` on an axis value, saying where a stage can be set", async () => {
    const yaml = NO_STAGE_AXIS.replace(
      "      package_manager: dnf\n",
      "      package_manager: dnf\n      stage: base\n",
    );
    const res = await runCli(
      ["plan"],
      miniProject({ "context.yaml": yaml, "templates/Dockerfile.liquid": SINGLE_STAGE }),
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(
      'axes.os.ubi.stage: "stage" is only meaningful on the stage axis, and this file has no stage_axis. Set stage_axis: os, or set the stage in a combination',
    );
  });
});

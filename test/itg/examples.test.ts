// The projects under examples/ through real `docker buildx bake --print`: planned on main, a
// release branch and a feature branch (Dynamo also with sccache on), buildx reads back every
// target as planned, with nothing dropped, and the groups build what they list.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { exampleCopy, runCli } from "../helpers.js";
import { describeWithDocker } from "./docker.js";
import { bakePrint, expectPrintedAsPlanned, type Printed } from "./print-plan.js";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const RUNS = [
  { example: "dynamo", run: "main", flags: ["--branch", "main", "--sha", SHA] },
  {
    example: "dynamo",
    run: "release/1.0, sccache on",
    flags: ["--branch", "release/1.0", "--sha", SHA, "--set", "USE_SCCACHE=true"],
  },
  { example: "dynamo", run: "feat/x", flags: ["--branch", "feat/x"] },
  { example: "python", run: "a local plan", flags: [] },
  {
    example: "python",
    run: "main with sha and version",
    flags: ["--branch", "main", "--sha", SHA, "--image-version", "2026.12.1"],
  },
];

describeWithDocker("buildx", "docker buildx bake --print over examples/", () => {
  it.each(RUNS)("examples/$example, $run: buildx reads back every target as planned", async ({ example, flags }) => {
    const dir = exampleCopy(example);
    const res = await runCli(["plan", ...flags], dir);
    expect(res.code, res.stderr).toBe(0);
    const planned = JSON.parse(readFileSync(join(dir, "docker-bake.json"), "utf8")) as Printed;
    // Dynamo's IRSA token file is named by the environment when bake runs.
    const env = { AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, "context.yaml") };
    const printed = bakePrint(dir, ["-f", "docker-bake.json", "all"], env);
    expectPrintedAsPlanned(planned, printed, env);
    // A derived ARG default is left to BuildKit: buildx sends no build arg that would replace it.
    if (example === "dynamo")
      for (const name of ["trtllm-cuda13", "trtllm-cuda13-efa-amd64"]) {
        expect(printed.target[name]!.args).toHaveProperty("TENSORRTLLM_PIP_WHEEL");
        expect(printed.target[name]!.args).not.toHaveProperty("TRTLLM_WHEEL_IMAGE");
      }
    for (const [group, { targets }] of Object.entries(planned.group!)) {
      const printed = bakePrint(dir, ["-f", "docker-bake.json", group], env);
      expect(Object.keys(printed.target).sort(), group).toEqual([...targets].sort());
    }
  });

  it("examples/dynamo: buildx reads the XPU, CPU and planner targets, which have no CUDA version, as planned", async () => {
    const dir = exampleCopy("dynamo");
    expect((await runCli(["plan", "--branch", "main", "--sha", SHA], dir)).code).toBe(0);
    const env = { AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, "context.yaml") };
    const names = ["vllm-xpu-amd64", "vllm-cpu-amd64", "dynamo-cpu-planner"];
    const printed = bakePrint(dir, ["-f", "docker-bake.json", ...names], env);
    expect(Object.keys(printed.target).sort()).toEqual([...names].sort());
    const ecr = "123456789012.dkr.ecr.us-west-2.amazonaws.com/ai-dynamo/dynamo";
    expect(printed.target["vllm-xpu-amd64"]!.tags).toEqual([`${ecr}:${SHA}-vllm-runtime-xpu-amd64`]);
    expect(printed.target["dynamo-cpu-planner"]!.tags).toEqual([`${ecr}:${SHA}-dynamo-planner-cpu`]);
    expect((printed.target["vllm-cpu-amd64"]!.args as Record<string, string>).VLLM_CPU_AVX512).toBe("true");
    expect((printed.target["vllm-xpu-amd64"]!.args as Record<string, string>).BASE_IMAGE).toBe(
      "intel/deep-learning-essentials:2025.3.2-0-devel-ubuntu24.04",
    );
  });

  it("examples/dynamo with selectors that ask for CUDA absent (~): buildx reads the group and the tag on exactly those targets", async () => {
    const dir = exampleCopy("dynamo");
    const file = join(dir, "context.yaml");
    const context = readFileSync(file, "utf8");
    const edited = context
      .replace("    pr:\n", "    no-cuda: { cuda: ~ }\n    pr:\n")
      .replace(
        '    - tag: "main-{framework}-{cuda.name}"\n',
        '    - { tag: "{framework}-{device}-{platform}", when: { cuda: ~, framework: [vllm, dynamo] } }\n    - tag: "main-{framework}-{cuda.name}"\n',
      );
    expect(edited).not.toBe(context);
    writeFileSync(file, edited);
    expect((await runCli(["plan", "--branch", "main", "--sha", SHA], dir)).code).toBe(0);
    const env = { AWS_WEB_IDENTITY_TOKEN_FILE: file };
    const printed = bakePrint(dir, ["-f", "docker-bake.json", "no-cuda"], env);
    const names = ["dynamo-cpu-planner", "vllm-cpu-amd64", "vllm-xpu-amd64"];
    expect(Object.keys(printed.target).sort()).toEqual(names);
    const ecr = "123456789012.dkr.ecr.us-west-2.amazonaws.com/ai-dynamo/dynamo";
    expect(printed.target["vllm-xpu-amd64"]!.tags).toContain(`${ecr}:vllm-xpu-amd64`);
    expect(printed.target["dynamo-cpu-planner"]!.tags).toContain(`${ecr}:dynamo-cpu-multi`);
    const all = bakePrint(dir, ["-f", "docker-bake.json", "all"], env);
    const tagged = Object.keys(all.target).filter((t) =>
      (all.target[t]!.tags as string[]).some((tag) => /:(vllm|dynamo)-(xpu|cpu|cuda)-(amd64|arm64|multi)$/.test(tag)),
    );
    expect(tagged.sort()).toEqual(names);
  });
});

// How explain and render find a target by name, and what they say when there is none (issue 9's bugs).
import { mkdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dockerfileInContext } from "../../src/plan/targets.js";
import { exampleCopy, MINI_CONTEXT, MINI_TEMPLATE, runCli, testdir } from "../helpers.js";

describe("a built target and an excluded combination with the same name", () => {
  // trtllm on CUDA 13.1 is built as trtllm-cuda13; trtllm on 13.0 is excluded and would have that name too.
  it("explain shows the built target and mentions the excluded one as a note", async () => {
    const res = await runCli(["explain", "trtllm-cuda13", "TENSORRTLLM_PIP_WHEEL"], exampleCopy());
    expect(res.code).toBe(0);
    expect(res.stderr).toBe("");
    const lines = res.stdout.split("\n");
    expect(lines[0]).toBe("trtllm-cuda13 (framework=trtllm, cuda=13.1, os=ubuntu24.04, target=runtime)");
    expect(lines[1]).toMatch(/^ {2}dockerfile: bake\/trtllm-cuda13\.Dockerfile {2}stage: runtime {2}\(context\.yaml:/);
    expect(lines[2]).toMatch(
      /^ {2}note: the excluded combination framework=trtllm, cuda=13\.0, os=ubuntu24\.04, target=runtime has the same name; it is not built \(TensorRT-LLM 1\.3 .*; excluded by context\.yaml:\d+:\d+: exclude\[0\]\)$/,
    );
    expect(res.stdout).not.toContain("trtllm-cuda13 is not built");
    expect(res.stdout).toMatch(/\nTENSORRTLLM_PIP_WHEEL +"tensorrt-llm==1\.3\.0rc11"/);
  });

  it("render prints the built target's Dockerfile, the note on stderr", async () => {
    const dir = exampleCopy();
    expect((await runCli(["plan"], dir)).code).toBe(0);
    const res = await runCli(["render", "trtllm-cuda13"], dir);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(readFileSync(join(dir, "bake/trtllm-cuda13.Dockerfile"), "utf8"));
    expect(res.stderr).toMatch(
      /^bakeplan: note: the excluded combination framework=trtllm, cuda=13\.0, .* exclude\[0\]\)\n$/,
    );
  });

  it("an excluded combination alone under its name is still explained as not built", async () => {
    const res = await runCli(["explain", "trtllm-cuda12"], exampleCopy());
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(
      /^trtllm-cuda12 is not built \(framework=trtllm, cuda=12\.9, os=ubuntu24\.04, target=runtime\)\n/,
    );
  });
});

describe("an unknown target name", () => {
  /** context.yaml with 3 x 108 = 324 targets, as many as the port of Dynamo's matrix had. */
  function bigProject(): string {
    const versions = Array.from({ length: 108 }, (_, i) => `v${i}`);
    const yaml = MINI_CONTEXT.replace("  target:\n", `  version: [${versions.join(", ")}]\n  target:\n`)
      .replace("    dev: {}\n", "    dev: {}\n    debug: {}\n")
      .replace(/ {2}os:\n(?: {4}.*\n)+/, "");
    return testdir({
      "context.yaml": yaml.replace(
        "  framework:\n    vllm:\n      args:\n        FW_REF: v1\n    sglang:\n      args:\n        FW_REF: s1\n",
        "  framework:\n    vllm:\n      args:\n        FW_REF: v1\n",
      ),
      "templates/Dockerfile.liquid": MINI_TEMPLATE.replace("{% install_packages curl %}\n", "") + "FROM dev AS debug\n",
    });
  }

  it.each(["explain", "render"])("%s names the closest few and the count, not every target", async (command) => {
    const dir = bigProject();
    const list = await runCli(["list", "--json"], dir);
    expect((JSON.parse(list.stdout) as unknown[]).length).toBe(324);
    const res = await runCli([command, "vllm-v10-dbug"], dir);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(
      'bakeplan: error: Unknown target "vllm-v10-dbug". Did you mean "vllm-v10-debug", "vllm-v0-debug", "vllm-v1-debug", "vllm-v100-debug", "vllm-v101-debug"? 324 targets; `bakeplan list` lists them\n',
    );
    const none = await runCli([command, "nothing-like-it"], dir);
    expect(none.stderr).toBe(
      'bakeplan: error: Unknown target "nothing-like-it". 324 targets; `bakeplan list` lists them\n',
    );
  });
});

describe("build.context outside the project directory", () => {
  it("gives Dockerfile paths relative to the context whatever the cwd", () => {
    expect(dockerfileInContext(".", "bake/a.Dockerfile", undefined)).toBe("bake/a.Dockerfile");
    expect(dockerfileInContext("src", "bake/a.Dockerfile", undefined)).toBe("../bake/a.Dockerfile");
    expect(dockerfileInContext("..", "bake/a.Dockerfile", "/work/repo/container")).toBe("container/bake/a.Dockerfile");
    expect(dockerfileInContext("../..", "bake/a.Dockerfile", "/work/repo/container")).toBe(
      "repo/container/bake/a.Dockerfile",
    );
    expect(() => dockerfileInContext("..", "bake/a.Dockerfile", undefined)).toThrow(/projectDir is needed/);
  });

  it("check from the parent directory finds the plan written in container/ up to date, and the reverse", async () => {
    const root = testdir();
    const container = join(root, "container");
    mkdirSync(join(container, "templates"), { recursive: true });
    const yaml = MINI_CONTEXT.replace("axes:\n", "build:\n  context: ..\naxes:\n");
    const dir = testdir({ "context.yaml": yaml, "templates/Dockerfile.liquid": MINI_TEMPLATE });
    renameSync(join(dir, "context.yaml"), join(container, "context.yaml"));
    renameSync(join(dir, "templates/Dockerfile.liquid"), join(container, "templates/Dockerfile.liquid"));

    expect((await runCli(["plan"], container)).code).toBe(0);
    const bake = JSON.parse(readFileSync(join(container, "docker-bake.json"), "utf8")) as {
      target: Record<string, { context: string; dockerfile: string }>;
    };
    expect(bake.target.vllm).toMatchObject({ context: "..", dockerfile: "container/bake/vllm.Dockerfile" });
    const fromParent = await runCli(["check", "-c", "container/context.yaml"], root);
    expect(fromParent.stdout + fromParent.stderr).toContain("up to date");
    expect(fromParent.code).toBe(0);

    expect((await runCli(["plan", "-c", "container/context.yaml"], root)).code).toBe(0);
    expect(readFileSync(join(container, "docker-bake.json"), "utf8")).toBe(JSON.stringify(bake, null, 2) + "\n");
    const fromInside = await runCli(["check"], container);
    expect(fromInside.code).toBe(0);
  });
});

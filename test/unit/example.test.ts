import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { BakeFile } from "../../src/plan/bake-file.js";
import { exampleCopy, REPO, runCli } from "../helpers.js";

describe("bundled example", () => {
  it("plans the Dynamo-style matrix with the documented target names", async () => {
    const dir = exampleCopy();
    const res = await runCli(["plan"], dir);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    const bake = JSON.parse(readFileSync(join(dir, "docker-bake.json"), "utf8")) as BakeFile;
    for (const name of [
      "vllm-cuda12",
      "vllm-cuda12-dev",
      "sglang-cuda13-local-dev",
      "trtllm-cuda13",
      "vllm-cuda12-ubi9",
    ])
      expect(bake.target).toHaveProperty(name);
    expect(bake.target).not.toHaveProperty("trtllm-cuda12");
    expect(Object.keys(bake.group)).toEqual(
      expect.arrayContaining(["default", "all", "vllm", "sglang", "trtllm", "runtime", "dev", "local-dev"]),
    );
  });

  it("is committed in its planned state (make plan output is up to date)", async () => {
    const res = await runCli(["check"], REPO);
    expect(res.stdout + res.stderr).toContain("up to date");
    expect(res.code).toBe(0);
  });
});

// `bakeplan bake --write-override FILE`: what a workflow that runs buildx itself (docker/bake-action)
// passes as the second bake file; built without docker, in-process.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { refuseOverrideMisuse, type BakeOptions } from "../../src/commands/bake.js";
import { UsageError } from "../../src/errors.js";
import { exampleCopy, runCli } from "../helpers.js";

describe("bake --write-override", () => {
  it("writes this run's override for the selected targets, leaves the plan alone, prints no --set", async () => {
    const dir = exampleCopy();
    expect((await runCli(["plan"], dir)).code).toBe(0);
    const plan = readFileSync(join(dir, "docker-bake.json"), "utf8");
    const run = await runCli(
      ["bake", "vllm-cuda12", "--branch", "main", "--sha", "0123abcd", "--write-override", "override.json"],
      dir,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe("");
    expect(readFileSync(join(dir, "docker-bake.json"), "utf8")).toBe(plan);
    const override = JSON.parse(readFileSync(join(dir, "override.json"), "utf8")) as {
      target: Record<string, { tags?: string[]; "cache-to"?: string[]; labels?: Record<string, string> }>;
    };
    // Only the selected target, with this commit's tags and main's cache export.
    expect(Object.keys(override.target)).toEqual(["vllm-cuda12"]);
    const t = override.target["vllm-cuda12"]!;
    expect(t.tags).toContain("123456789012.dkr.ecr.us-west-2.amazonaws.com/ai-dynamo/dynamo:0123abcd-vllm-cuda12");
    expect(t["cache-to"]).toEqual([expect.stringContaining("dynamo-cache:vllm-cuda12-main,mode=max")]);
    // The same file bake --dry-run shows for the same run.
    const dry = await runCli(["bake", "vllm-cuda12", "--branch", "main", "--sha", "0123abcd", "--dry-run"], dir);
    expect(dry.stdout).toContain(readFileSync(join(dir, "override.json"), "utf8"));
  });

  it("prints the --set values a merged file cannot carry (a registry that replaces committed cache refs)", async () => {
    const dir = exampleCopy();
    expect((await runCli(["plan"], dir)).code).toBe(0);
    const run = await runCli(
      ["bake", "vllm-cuda12", "--registry", "127.0.0.1:5000", "--write-override", "override.json"],
      dir,
    );
    expect(run.code, run.stderr).toBe(0);
    const sets = run.stdout.trimEnd().split("\n");
    expect(sets.length).toBeGreaterThan(0);
    for (const set of sets) expect(set).toMatch(/^vllm-cuda12\.cache-from=type=registry,ref=127\.0\.0\.1:5000\//);
  });

  it("in CI, a stale committed plan fails with the diff and writes no override", async () => {
    const dir = exampleCopy();
    const previous = process.env.CI;
    process.env.CI = "true";
    try {
      const run = await runCli(["bake", "vllm-cuda12", "--write-override", "override.json"], dir);
      expect(run.code).toBe(1);
      expect(() => readFileSync(join(dir, "override.json"))).toThrow();
    } finally {
      if (previous === undefined) delete process.env.CI;
      else process.env.CI = previous;
    }
  });

  const NONE: Parameters<typeof refuseOverrideMisuse>[0] = {
    writeOverride: "o.json",
    push: false,
    load: false,
    dryRun: false,
    oneByOne: false,
    extra: [],
  };
  // prettier-ignore
  it.each([
    { options: { push: true }, named: "--push (bake-action's push: true)" },
    { options: { load: true }, named: "--load (bake-action's load: true)" },
    { options: { builder: "ci" }, named: "--builder (bake-action's builder input)" },
    { options: { dryRun: true }, named: "--dry-run" },
    { options: { oneByOne: true }, named: "--one-by-one" },
    { options: { pool: true }, named: "--builders/--pool" },
    { options: { extra: ["--no-cache"] }, named: "arguments after -- (bake-action's set input)" },
  ] satisfies { options: Partial<BakeOptions>; named: string }[])("refuses $named: it builds nothing", ({ options, named }) => {
    expect(() => refuseOverrideMisuse({ ...NONE, ...options })).toThrow(
      new UsageError(`--write-override builds nothing; it cannot be combined with ${named}`),
    );
    expect(() => refuseOverrideMisuse({ ...NONE, ...options, writeOverride: undefined })).not.toThrow();
  });
});

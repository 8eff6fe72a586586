import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import {
  lintSecretEnv,
  requireSecretEnv,
  secretEnvUses,
  secretFileGrants,
} from "../../src/command-support/secret-env.js";
import { buildPlan } from "../../src/plan/plan.js";
import { loadProject, MINI_CONTEXT, miniProject, runCli, templateFiles } from "../helpers.js";

const secretContext = MINI_CONTEXT.replace(
  "  platforms: [linux/amd64]\n",
  '  platforms: [linux/amd64]\n  secrets:\n    token: {src: "${TOKEN_FILE}"}\n    key: {env: KEY}\n',
);
const plan = buildPlan(loadProject(secretContext), templateFiles(), { configLabel: "context.yaml" });

describe("secrets read from a file named by an environment variable", () => {
  it("lists each variable with the secrets of the selected targets that read it", () => {
    expect([...secretEnvUses(plan, ["vllm", "sglang-dev"])]).toEqual([
      ["TOKEN_FILE", ["token of vllm", "token of sglang-dev"]],
    ]);
  });

  it("bake refuses to start without the variable, naming it and the secret", () => {
    expect(() => requireSecretEnv(plan, ["vllm"], {})).toThrow(
      "$TOKEN_FILE is not set, and the secret token of vllm reads its file from it. Set it, or limit the secret with `when`",
    );
    expect(() => requireSecretEnv(plan, ["vllm"], { TOKEN_FILE: "" })).toThrow("$TOKEN_FILE is not set");
    expect(() => requireSecretEnv(plan, ["vllm"], { TOKEN_FILE: "/run/t" })).not.toThrow();
  });

  it("a bake stopped by the unset variable leaves no temp directory behind", async () => {
    const dir = miniProject({ "context.yaml": secretContext });
    const tmp = mkdtempSync(join(tmpdir(), "bakeplan-tmpdir-"));
    const saved = { TMPDIR: process.env.TMPDIR, TOKEN_FILE: process.env.TOKEN_FILE, CI: process.env.CI };
    onTestFinished(() => {
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      rmSync(tmp, { recursive: true, force: true });
    });
    process.env.TMPDIR = tmp;
    delete process.env.TOKEN_FILE;
    delete process.env.CI;
    const res = await runCli(["bake", "vllm", "--no-preflight"], dir);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("$TOKEN_FILE is not set, and the secret token of vllm reads its file from it");
    expect(readdirSync(tmp)).toEqual([]);
    // On a pool too, before any builder is probed (these builders do not exist).
    const pool = await runCli(["bake", "vllm", "--no-preflight", "--builders", "nope-1,nope-2"], dir);
    expect(pool.code).toBe(1);
    expect(pool.stderr).toContain("$TOKEN_FILE is not set, and the secret token of vllm reads its file from it");
    expect(readdirSync(tmp)).toEqual([]);
  });

  it("lint points an unset variable at a file inside the project (checks read no secret) and leaves a set one alone", () => {
    expect(lintSecretEnv(plan, ["vllm"], "docker-bake.json", {})).toEqual({ TOKEN_FILE: "docker-bake.json" });
    expect(lintSecretEnv(plan, ["vllm"], "docker-bake.json", { TOKEN_FILE: "/run/t" })).toEqual({});
  });

  it("grants buildx exactly the secret files the environment names outside the project (bake's fs entitlements)", () => {
    expect(secretFileGrants(plan, ["vllm", "sglang"], "/work/p", { TOKEN_FILE: "/var/run/secrets/token" })).toEqual([
      "fs.read=/var/run/secrets/token",
    ]);
    expect(secretFileGrants(plan, ["vllm"], "/work/p", { TOKEN_FILE: "../t" })).toEqual(["fs.read=/work/t"]);
    // Inside the project directory buildx needs no grant; unset, there is nothing to grant.
    expect(secretFileGrants(plan, ["vllm"], "/work/p", { TOKEN_FILE: "/work/p/secrets/t" })).toEqual([]);
    expect(secretFileGrants(plan, ["vllm"], "/work/p", { TOKEN_FILE: "..t" })).toEqual([]);
    expect(secretFileGrants(plan, ["vllm"], "/work/p", {})).toEqual([]);
  });
});

import { describe, expect, it } from "vitest";
import {
  lintSecretEnv,
  requireSecretEnv,
  secretEnvUses,
  secretFileGrants,
} from "../../src/command-support/secret-env.js";
import { buildPlan } from "../../src/plan/plan.js";
import { loadProject, MINI_CONTEXT, templateFiles } from "../helpers.js";

const plan = buildPlan(
  loadProject(
    MINI_CONTEXT.replace(
      "  platforms: [linux/amd64]\n",
      '  platforms: [linux/amd64]\n  secrets:\n    token: {src: "${TOKEN_FILE}"}\n    key: {env: KEY}\n',
    ),
  ),
  templateFiles(),
  { configLabel: "context.yaml" },
);

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

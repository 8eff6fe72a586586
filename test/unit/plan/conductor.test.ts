import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/errors.js";
import { buildPlan } from "../../../src/plan/plan.js";
import { loadProject, MINI_CONTEXT, templateFiles } from "../../helpers.js";

describe("buildPlan as the conductor of its stages", () => {
  it("times each stage", () => {
    const plan = buildPlan(loadProject(MINI_CONTEXT), templateFiles(), { configLabel: "context.yaml" });
    expect(Object.keys(plan.timings)).toEqual(["expand", "resolve", "render", "plan", "bake"]);
    expect(Object.values(plan.timings).every((ms) => ms >= 0)).toBe(true);
  });

  it("reports the problems of the targets before those of --set, all in one error", () => {
    let error: unknown;
    try {
      buildPlan(loadProject(MINI_CONTEXT), templateFiles(), {
        configLabel: "context.yaml",
        overrides: [{ name: "NOPE", value: "1" }],
        inputs: { registry: "bad registry" },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues.map((i) => i.location?.path)).toEqual(["--registry", "--set NOPE"]);
  });

  it("checks the command-line inputs before anything else", () => {
    expect(() =>
      buildPlan(loadProject(MINI_CONTEXT), templateFiles({ "Dockerfile.liquid": "{{ nope }}" }), {
        configLabel: "context.yaml",
        inputs: { version: "1\n2" },
      }),
    ).toThrow("The option --image-version contains a line break");
  });
});

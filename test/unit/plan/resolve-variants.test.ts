import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/errors.js";
import { expandMatrix } from "../../../src/matrix/expand.js";
import { resolveVariants } from "../../../src/plan/resolve-variants.js";
import type { Override } from "../../../src/resolve/resolve.js";
import { loadProject, MINI_CONTEXT } from "../../helpers.js";
import { variant } from "./stages.js";

function resolveAll(yaml = MINI_CONTEXT, overrides: Override[] = []) {
  const project = loadProject(yaml);
  const { variants } = expandMatrix(project);
  return { variants, valuesOf: resolveVariants(project, variants, overrides) };
}

function resolveError(yaml: string, overrides: Override[] = []): ConfigError {
  try {
    resolveAll(yaml, overrides);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

describe("resolveVariants", () => {
  it("resolves once per set of applicable layers: variants differing only in axes whose values set nothing share the values", () => {
    const r = resolveAll();
    expect(r.valuesOf.size).toBe(8);
    // framework x target: each value of the stage axis is a layer, for the stage it builds.
    expect(new Set(r.valuesOf.values()).size).toBe(4);
    expect(r.valuesOf.get(variant(r, "vllm-dev"))).toBe(r.valuesOf.get(variant(r, "vllm-ubi-dev")));
    expect(r.valuesOf.get(variant(r, "vllm-dev"))?.stage?.value).toBe("dev");
    expect(r.valuesOf.get(variant(r, "vllm"))?.args.get("FW_REF")?.value).toBe("v1");
    expect(r.valuesOf.get(variant(r, "sglang-dev"))?.args.get("FW_REF")?.value).toBe("s1");
  });

  it("gives a variant its own values when a layer of its own applies", () => {
    const yaml = MINI_CONTEXT.replace("    dev: {}", '    dev:\n      args: {DEV: "1"}');
    const r = resolveAll(yaml);
    expect(new Set(r.valuesOf.values()).size).toBe(4);
    expect(r.valuesOf.get(variant(r, "vllm-dev"))?.args.get("DEV")?.value).toBe("1");
    expect(r.valuesOf.get(variant(r, "vllm"))?.args.has("DEV")).toBe(false);
  });

  it("reports a conflict for each variant it is in, and a message every variant shares once", () => {
    const yaml = MINI_CONTEXT.replace(
      "      package_manager: dnf",
      "      package_manager: dnf\n      args: {FW_REF: u1}",
    );
    expect(resolveError(yaml).issues.map((i) => i.message.replace(/: ".*/, ""))).toEqual([
      "Conflicting values for ARG FW_REF in vllm-ubi",
      "Conflicting values for ARG FW_REF in vllm-ubi-dev",
      "Conflicting values for ARG FW_REF in sglang-ubi",
      "Conflicting values for ARG FW_REF in sglang-ubi-dev",
    ]);
    expect(resolveError(MINI_CONTEXT, [{ name: "FW_REF", value: "a\nb" }]).issues.map((i) => i.message)).toEqual([
      "The ARG FW_REF contains a line break, which would start a new Dockerfile instruction; use a single line",
    ]);
  });
});

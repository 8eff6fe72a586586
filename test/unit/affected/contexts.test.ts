// compareRevisions' `contexts` rule on plans made by buildPlan: a target that builds on another
// through bake `contexts` (target:NAME) is affected when that one is, transitively; one that
// builds on an unaffected target is not. bakeplan writes no `contexts` itself, so the links are
// set on both revisions' planned bake targets, as a bake file that has them would.
import { describe, expect, it } from "vitest";
import { compareRevisions, type Side } from "../../../src/affected/compare.js";
import { buildPlan, type Plan } from "../../../src/plan/plan.js";
import { loadProject, MINI_CONTEXT, templateFiles } from "../../helpers.js";

function side(yaml: string, label: string, links: Record<string, Record<string, string>>): Side {
  const project = loadProject(yaml);
  const templates = templateFiles();
  const plan: Plan = buildPlan(project, templates, { configLabel: "context.yaml" });
  for (const t of plan.targets) if (links[t.variant.name]) t.bake.contexts = links[t.variant.name];
  return {
    label,
    prefix: label === "working tree" ? "" : `${label}:`,
    project,
    templates,
    plan,
    ignoreFiles: new Map(),
  };
}

describe("affected through bake contexts", () => {
  it("a target that uses an affected target is affected, transitively; one that uses an unaffected target is not", () => {
    const names = side(MINI_CONTEXT, "main", {}).plan.targets.map((t) => t.variant.name);
    const vllm = names.filter((n) => n.startsWith("vllm"));
    const sglang = names.filter((n) => n.startsWith("sglang"));
    expect(vllm.length).toBeGreaterThan(0);
    expect(sglang.length).toBe(4);
    const [s1, s2, s3, s4] = sglang as [string, string, string, string];
    // s1 builds on a vllm target, s2 on s1; s3 on s4, which nothing changes.
    const links: Record<string, Record<string, string>> = {
      [s1]: { fw: `target:${vllm[0]}` },
      [s2]: { base: `target:${s1}` },
      [s3]: { other: `target:${s4}` },
    };
    const bumped = MINI_CONTEXT.replace("FW_REF: v1", "FW_REF: v2");
    const result = compareRevisions(side(MINI_CONTEXT, "main", links), side(bumped, "working tree", links), {
      changed: [],
      buildPlatform: "linux/amd64",
    });
    const affected = new Map(result.affected.map((t) => [t.target, t.reasons]));
    for (const v of vllm) expect(affected.get(v)?.[0]).toContain('ARG FW_REF: "v1" -> "v2"');
    expect(affected.get(s1)).toEqual([`uses ${vllm[0]} (contexts.fw = target:${vllm[0]}), which is affected`]);
    expect(affected.get(s2)).toEqual([`uses ${s1} (contexts.base = target:${s1}), which is affected`]);
    expect(result.unaffected).toEqual([s3, s4].sort());
  });
});

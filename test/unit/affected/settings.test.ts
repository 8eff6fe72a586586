// compareRevisions on plans made by buildPlan: a bake setting that changes (platforms, tags)
// affects exactly the targets whose setting changed, with both values and the context.yaml key;
// bakeplan's own version (as package-lock.json pins it) affects every target.
import { describe, expect, it } from "vitest";
import { compareRevisions, type Side } from "../../../src/affected/compare.js";
import { buildPlan } from "../../../src/plan/plan.js";
import { loadProject, MINI_CONTEXT, templateFiles } from "../../helpers.js";

function side(yaml: string, label: string, bakeplanVersion?: string): Side {
  const project = loadProject(yaml);
  const templates = templateFiles();
  return {
    label,
    prefix: `${label}:`,
    project,
    templates,
    plan: buildPlan(project, templates, { configLabel: "context.yaml" }),
    ignoreFiles: new Map(),
    ...(bakeplanVersion ? { bakeplanVersion: { version: bakeplanVersion, file: "package-lock.json" } } : {}),
  };
}

const compare = (base: Side, head: Side) => compareRevisions(base, head, { changed: [], buildPlatform: "linux/amd64" });

describe("affected by bake settings and bakeplan's version", () => {
  it("platforms of one framework: exactly its targets, with both lists and the key", () => {
    const arm = MINI_CONTEXT.replace(
      "    vllm:\n      args:",
      "    vllm:\n      platforms: [linux/amd64, linux/arm64]\n      args:",
    );
    const result = compare(side(MINI_CONTEXT, "main"), side(arm, "head"));
    expect(result.affected.map((t) => t.target)).toEqual(["vllm", "vllm-dev", "vllm-ubi", "vllm-ubi-dev"]);
    for (const t of result.affected)
      expect(t.reasons).toContain(
        "platforms: linux/amd64 -> linux/amd64, linux/arm64 (context.yaml:7:18: axes.framework.vllm.platforms)",
      );
  });

  it("a tag template: every target, with both lists", () => {
    const tags = MINI_CONTEXT.replace('tags: ["{name}"]', 'tags: ["{name}", "{name}-stable"]');
    const result = compare(side(MINI_CONTEXT, "main"), side(tags, "head"));
    expect(result.unaffected).toEqual([]);
    const vllm = result.affected.find((t) => t.target === "vllm")!;
    expect(vllm.reasons).toEqual([
      "tags: registry.example.com/demo/app:vllm -> registry.example.com/demo/app:vllm, registry.example.com/demo/app:vllm-stable (context.yaml:30:9: publish.tags)",
    ]);
  });

  it("bakeplan's version as package-lock.json pins it: every target; the same version: none", () => {
    const moved = compare(side(MINI_CONTEXT, "main", "0.1.0"), side(MINI_CONTEXT, "head", "0.2.0"));
    expect(moved.affected).toHaveLength(8);
    for (const t of moved.affected)
      expect(t.reasons).toEqual(["bakeplan 0.1.0 -> 0.2.0 (package-lock.json; it renders every Dockerfile)"]);
    expect(compare(side(MINI_CONTEXT, "main", "0.2.0"), side(MINI_CONTEXT, "head", "0.2.0")).affected).toEqual([]);
  });
});

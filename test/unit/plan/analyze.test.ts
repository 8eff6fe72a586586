import { describe, expect, it } from "vitest";
import { analyzeRenderings, declarationsIn } from "../../../src/plan/analyze.js";
import type { Rendering } from "../../../src/plan/render-variants.js";
import { analyzeDockerfile } from "../../../src/render/dockerfile.js";

describe("analyzeRenderings", () => {
  it("reads each content once and gives each rendering its own declarations", () => {
    const content = { body: "ARG A=1\nFROM x AS runtime\nARG B\nFROM runtime AS dev\nARG A\n" };
    const first: Rendering = { content, declared: [{ name: "A", template: "Dockerfile.liquid", line: 1 }] };
    const second: Rendering = { content, declared: [{ name: "A", template: "other.liquid", line: 4 }] };
    const other: Rendering = { content: { body: "FROM y AS runtime\nARG C\n" }, declared: [] };
    const a = analyzeRenderings([first, second, first, other]);
    expect(a.shapeOf.size).toBe(2);
    expect(a.shapeOf.get(content)?.stages).toEqual(["runtime", "dev"]);
    expect(a.declarationsOf.size).toBe(3);
    expect(a.declarationsOf.get(first)?.get("A")).toEqual({
      stage: "",
      template: { name: "A", template: "Dockerfile.liquid", line: 1 },
    });
    expect(a.declarationsOf.get(second)?.get("A")?.template?.template).toBe("other.liquid");
    expect([...a.declared].sort()).toEqual(["A", "B", "C"]);
  });
});

describe("declarationsIn", () => {
  it("takes the stage from the Dockerfile and the line of the first {% arg %} of each name", () => {
    const shape = analyzeDockerfile("FROM x AS build\nARG A\nARG PLAIN\nFROM build AS runtime\nARG A\n");
    const declarations = declarationsIn(shape, [
      { name: "A", template: "a.liquid", line: 3 },
      { name: "A", template: "b.liquid", line: 9 },
    ]);
    expect(Object.fromEntries(declarations)).toEqual({
      A: { stage: "build", template: { name: "A", template: "a.liquid", line: 3 } },
      PLAIN: { stage: "build", template: undefined },
    });
  });
});

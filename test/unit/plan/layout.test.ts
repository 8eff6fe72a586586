import { describe, expect, it } from "vitest";
import type { Variant } from "../../../src/matrix/expand.js";
import type { Content } from "../../../src/plan/contents.js";
import { layOutFiles } from "../../../src/plan/layout.js";
import type { Rendering } from "../../../src/plan/render-variants.js";

const A: Content = { body: "A" };
const B: Content = { body: "B" };
const C: Content = { body: "C" };

function lay(outDir: string, rows: [name: string, dockerfileName: string, content: Content][]) {
  const variants = rows.map(([name, dockerfileName]): Variant => ({ name, dockerfileName, values: {} }));
  const renderingOf = new Map(
    variants.map((v, i): [Variant, Rendering] => [v, { content: rows[i]![2], declared: [] }]),
  );
  return Object.fromEntries([...layOutFiles(outDir, variants, renderingOf)].map(([c, path]) => [c.body, path]));
}

describe("layOutFiles", () => {
  it("names one file per content after the variants' Dockerfile name", () => {
    expect(
      lay("bake", [
        ["vllm", "vllm", A],
        ["vllm-dev", "vllm", A],
        ["sglang", "sglang", B],
      ]),
    ).toEqual({ A: "bake/vllm.Dockerfile", B: "bake/sglang.Dockerfile" });
  });

  it("names each content after its smallest target when one Dockerfile name has several contents", () => {
    expect(
      lay("bake", [
        ["vllm-dev", "vllm", B],
        ["vllm", "vllm", A],
        ["vllm-local-dev", "vllm", B],
        ["sglang", "sglang", C],
      ]),
    ).toEqual({ A: "bake/vllm.Dockerfile", B: "bake/vllm-dev.Dockerfile", C: "bake/sglang.Dockerfile" });
  });

  it("gives a content shared by several Dockerfile names the smallest of them", () => {
    expect(
      lay("gen/docker/", [
        ["vllm", "vllm", A],
        ["sglang", "sglang", A],
      ]),
    ).toEqual({ A: "gen/docker/sglang.Dockerfile" });
  });
});

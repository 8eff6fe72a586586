import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/errors.js";
import { assembleBakeFile, BAKE_BANNER, type BakeTarget } from "../../../src/plan/bake-file.js";

const target = (name: string): BakeTarget => ({
  context: ".",
  dockerfile: `bake/${name}.Dockerfile`,
  target: "runtime",
});

describe("assembleBakeFile", () => {
  it("writes the banner, the groups and the targets, sorted in the JSON", () => {
    const { bakeFile, bakeJson } = assembleBakeFile(
      new Map([
        ["vllm", target("vllm")],
        ["sglang", target("sglang")],
      ]),
      new Map([["all", ["sglang", "vllm"]]]),
    );
    expect(bakeFile["//"]).toBe(BAKE_BANNER);
    expect(bakeFile.group).toEqual({ all: { targets: ["sglang", "vllm"] } });
    expect(Object.keys((JSON.parse(bakeJson) as { target: object }).target)).toEqual(["sglang", "vllm"]);
    expect(bakeJson.endsWith("}\n")).toBe(true);
  });

  it("refuses a target attribute bake would drop", () => {
    const bad = { ...target("vllm"), platfroms: ["linux/amd64"] } as BakeTarget;
    expect(() => assembleBakeFile(new Map([["vllm", bad]]), new Map())).toThrow(ConfigError);
    expect(() => assembleBakeFile(new Map([["vllm", bad]]), new Map())).toThrow('unknown bake attribute "platfroms"');
  });
});

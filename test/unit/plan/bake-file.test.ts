import { describe, expect, it } from "vitest";
import { ConfigError } from "../../../src/errors.js";
import { assembleBakeFile, BAKE_BANNER, EnvTemplate, type BakeTarget } from "../../../src/plan/bake-file.js";

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

  it("keeps ${NAME} of an env-sourced secret for bake and declares the variable; every other string stays escaped", () => {
    const t: BakeTarget = {
      ...target("vllm"),
      args: { A: "${HOME}" },
      secret: [new EnvTemplate("id=token,src=${AWS_WEB_IDENTITY_TOKEN_FILE}"), "id=k,env=K"],
    };
    const { bakeFile, bakeJson } = assembleBakeFile(new Map([["vllm", t]]), new Map());
    expect(bakeFile.variable).toEqual({ AWS_WEB_IDENTITY_TOKEN_FILE: { default: "" } });
    const parsed = JSON.parse(bakeJson) as {
      variable: object;
      target: { vllm: { args: object; secret: string[] } };
    };
    expect(Object.keys(parsed)).toEqual(["//", "variable", "group", "target"]);
    expect(parsed.target.vllm.secret).toEqual(["id=token,src=${AWS_WEB_IDENTITY_TOKEN_FILE}", "id=k,env=K"]);
    expect(parsed.target.vllm.args).toEqual({ A: "$${HOME}" });
  });

  it("has no variable block when no secret reads the environment", () => {
    const { bakeJson } = assembleBakeFile(new Map([["vllm", target("vllm")]]), new Map());
    expect(bakeJson).not.toContain('"variable"');
  });
});

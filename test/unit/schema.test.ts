import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO, runCli } from "../helpers.js";

describe("context.schema.json", () => {
  it("is what `bakeplan schema` prints (regenerate with `make schema`)", async () => {
    const res = await runCli(["schema"]);
    expect(res.code).toBe(0);
    expect(res.stderr).toBe("");
    expect(res.stdout).toEqual(readFileSync(join(REPO, "context.schema.json"), "utf8"));
  });

  it("rejects unknown top-level keys and requires what the loader requires, so editors flag what bakeplan refuses", () => {
    const schema = JSON.parse(readFileSync(join(REPO, "context.schema.json"), "utf8")) as {
      additionalProperties?: boolean;
      required?: string[];
      title?: string;
    };
    expect(schema.title).toBe("bakeplan context.yaml");
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(["project", "axes", "publish"]);
  });

  it("is what the bundled context.yaml points editors at, on its first line", () => {
    const firstLine = readFileSync(join(REPO, "context.yaml"), "utf8").split("\n", 1)[0];
    expect(firstLine).toBe("# yaml-language-server: $schema=./context.schema.json");
  });
});

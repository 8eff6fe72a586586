import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "../helpers.js";

// The pure core (load -> validate -> expand -> resolve -> render -> plan) does no I/O: files are
// read and written in src/io/, processes run only in src/io/buildx.ts.
const CORE = ["config", "matrix", "resolve", "render", "plan"];
const IO_MODULES = /from "(node:fs|node:fs\/promises|fs|node:child_process|child_process|execa|node:net|node:http)"/;

function sources(dir: string): string[] {
  return readdirSync(join(REPO, "src", dir))
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join("src", dir, f));
}

describe("architecture", () => {
  it.each(CORE)("src/%s/ imports no file system, process or network module", (dir) => {
    const offenders = sources(dir).filter((f) => IO_MODULES.test(readFileSync(join(REPO, f), "utf8")));
    expect(offenders).toEqual([]);
  });

  it("only src/io/buildx.ts spawns processes", () => {
    const all = readdirSync(join(REPO, "src"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    const spawning = all.filter((f) =>
      /from "(execa|node:child_process|child_process)"/.test(readFileSync(join(REPO, "src", f), "utf8")),
    );
    expect(spawning).toEqual(["io/buildx.ts"]);
  });

  it("only src/bin.ts decides exit codes (no process.exit anywhere)", () => {
    const all = readdirSync(join(REPO, "src"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    expect(all.filter((f) => /process\.exit\(/.test(readFileSync(join(REPO, "src", f), "utf8")))).toEqual([]);
  });
});

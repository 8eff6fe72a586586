// The npm package ships docs/ and examples/: every relative link in them leads to a file the
// package ships, so the docs work in an installed copy (node_modules/bakeplan/docs/...). The
// packed tarball itself is checked in test/itg/pack.test.ts.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "../helpers.js";

const FILES = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { files: string[] }).files;
// npm always ships these (https://docs.npmjs.com/cli/v10/configuring-npm/package-json#files).
const ALWAYS = ["package.json", "README.md", "LICENSE"];

function shipped(path: string): boolean {
  const first = path.split("/")[0]!;
  return ALWAYS.includes(path) || FILES.some((f) => f === path || f === first);
}

function markdown(dir: string): string[] {
  return readdirSync(join(REPO, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".md"))
    .map((f) => join(dir, f));
}

describe("the package's documentation", () => {
  it("ships docs/ and examples/", () => {
    expect(FILES).toContain("docs");
    expect(FILES).toContain("examples");
  });

  it.each([...markdown("docs"), ...markdown("examples")])("%s links only to files the package ships", (file) => {
    const text = readFileSync(join(REPO, file), "utf8");
    const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => m[1]!.split("#")[0]!)
      .filter((l) => l !== "" && !/^[a-z]+:/i.test(l));
    for (const link of links) {
      const target = relative(REPO, join(REPO, dirname(file), link));
      expect(existsSync(join(REPO, target)), `${file}: ${link}`).toBe(true);
      expect(target.startsWith(".."), `${file}: ${link}`).toBe(false);
      expect(shipped(target), `${file}: ${link} -> ${target} is not in the package`).toBe(true);
      if (statSync(join(REPO, target)).isDirectory()) expect(shipped(`${target}/x`)).toBe(true);
    }
  });
});

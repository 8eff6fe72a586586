import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "../helpers.js";

// The pure core (load -> validate -> expand -> resolve -> render -> plan, and the comparison of
// two plans) does no I/O: files are read and written in src/io/, processes run only in the
// src/io/ modules listed below, each for its one tool.
const CORE = ["config", "matrix", "resolve", "render", "plan", "affected", "images"];
const SPAWNING = ["io/buildx.ts", "io/credentials.ts", "io/git.ts"];
const IO_MODULES = /from "(node:fs|node:fs\/promises|fs|node:child_process|child_process|execa|node:net|node:http)"/;

function sources(dir: string): string[] {
  return readdirSync(join(REPO, "src", dir))
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join("src", dir, f));
}

/** Every .ts file under src/, as `dir/file.ts` relative to src/. */
function allSources(): string[] {
  return readdirSync(join(REPO, "src"), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => f.split("\\").join("/"))
    .sort();
}

/** Each src/ module's relative imports (static, type-only, re-exports and dynamic `import()`), as src/ paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const specifier = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)"(\.[^"]+)\.js"/gm;
  for (const file of allSources()) {
    const text = readFileSync(join(REPO, "src", file), "utf8");
    graph.set(
      file,
      [...text.matchAll(specifier)].map((m) => posix.normalize(posix.join(dirname(file), `${m[1]!}.ts`))),
    );
  }
  return graph;
}

/** Every import cycle, each as the path of modules from its first module back to it. */
function importCycles(graph: Map<string, string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, "visiting");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "visiting") cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

describe("architecture", () => {
  it("src/ has no import cycles (type-only and dynamic imports included)", () => {
    const graph = importGraph();
    expect([...graph.values()].flat().length, "the import graph was read").toBeGreaterThan(50);
    expect(importCycles(graph).map((c) => c.join(" -> "))).toEqual([]);
  });

  it("finds a cycle when there is one", () => {
    const graph = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts"]],
    ]);
    expect(importCycles(graph)).toEqual([["a.ts", "b.ts", "c.ts", "a.ts"]]);
  });

  it("no command imports another command, or cli.ts", () => {
    const offenders = [...importGraph()]
      .filter(([file]) => file.startsWith("commands/"))
      .flatMap(([file, imports]) =>
        imports.filter((i) => i.startsWith("commands/") || i === "cli.ts").map((i) => `${file} -> ${i}`),
      );
    expect(offenders).toEqual([]);
  });

  it.each(CORE)("src/%s/ imports no file system, process or network module", (dir) => {
    const offenders = sources(dir).filter((f) => IO_MODULES.test(readFileSync(join(REPO, f), "utf8")));
    expect(offenders).toEqual([]);
  });

  it("only src/io/buildx.ts (docker), src/io/git.ts (git) and src/io/credentials.ts (credential helpers) spawn processes", () => {
    const all = readdirSync(join(REPO, "src"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    const spawning = all.filter((f) =>
      /from "(execa|node:child_process|child_process)"/.test(readFileSync(join(REPO, "src", f), "utf8")),
    );
    expect(spawning.sort()).toEqual(SPAWNING);
  });

  it("only src/bin.ts decides exit codes (no process.exit anywhere)", () => {
    const all = readdirSync(join(REPO, "src"), { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    expect(all.filter((f) => /process\.exit\(/.test(readFileSync(join(REPO, "src", f), "utf8")))).toEqual([]);
  });
});

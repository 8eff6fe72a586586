import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { sourceMappedStack } from "../../src/io/stack-trace.js";
import { testdir } from "../helpers.js";

describe("sourceMappedStack", () => {
  it("shows frames of a bundled file at their source line, as esbuild's linked map says", async () => {
    const dir = testdir({
      "src/inner.ts":
        "export function inner(n: number): number {\n  if (n > 0) throw new TypeError(`bad ${n}`);\n  return n;\n}\n",
      "src/main.ts":
        'import { inner } from "./inner.js";\n\ntry {\n  inner(1);\n} catch (e) {\n  console.log((e as Error).stack);\n}\n',
    });
    await build({
      absWorkingDir: dir,
      entryPoints: ["src/main.ts"],
      outdir: join(dir, "dist"),
      bundle: true,
      format: "esm",
      platform: "node",
      outExtension: { ".js": ".mjs" },
      sourcemap: "linked",
      sourcesContent: false,
      logLevel: "silent",
    });
    const stack = spawnSync(process.execPath, [join(dir, "dist/main.mjs")], { encoding: "utf8" }).stdout;
    expect(stack).toMatch(/^TypeError: bad 1\n {4}at inner \(file:\/\/.*\/dist\/main\.mjs:\d+:\d+\)/);
    const mapped = sourceMappedStack(stack);
    expect(mapped).toContain(`at inner (${join(dir, "src/inner.ts")}:2:`);
    expect(mapped).toContain(`${join(dir, "src/main.ts")}:4:`);
    expect(mapped).not.toContain("dist/main.mjs");
  });

  it("leaves frames without a map, and Node's own, as they are", () => {
    const stack =
      "Error: x\n    at f (/nowhere/dist/x.js:1:2)\n    at g (file:///nowhere/dist/y.js:5:6)\n    at node:internal/main:3:4\n";
    expect(sourceMappedStack(stack)).toBe(stack);
  });
});

// The CLI runs from its bundle (scripts/build-dist.mjs) and each command loads only what it needs:
// these fail when bin/bakeplan.js stops loading the bundle, when a library is resolved from
// node_modules at run time, or when a command loads a library it does not use. They count
// modules, never time.
import { spawnSync } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { exampleCopy, REPO, testdir } from "../helpers.js";

const REGISTER = join(REPO, "test/fixtures/module-log/register.mjs");

/** `node bin/bakeplan.js ARGS` from `root` (the repository, or a copy of bin/ and dist/) in `cwd`, and every module it loaded. */
function loaded(args: string[], cwd: string, root = REPO, env: NodeJS.ProcessEnv = {}, status = 0) {
  const log = join(testdir(), "modules.log");
  writeFileSync(log, "");
  const res = spawnSync(process.execPath, ["--import", REGISTER, join(root, "bin/bakeplan.js"), ...args], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, MODULE_LOG: log, ...env },
  });
  expect(res.status, res.stderr).toBe(status);
  const files = [...new Set(readFileSync(log, "utf8").split("\n").filter(Boolean))]
    .filter((f) => !f.startsWith("node:") && !f.includes("/test/fixtures/module-log/"))
    .map((f) => relative(root, f));
  return { files, stdout: res.stdout, stderr: res.stderr };
}

/** The libraries bundled into the chunks a run loaded (esbuild marks each input with a `// path` comment). */
function librariesIn(files: string[], root = REPO): string[] {
  const libs = new Set<string>();
  for (const f of files.filter((f) => f.startsWith("dist/")))
    for (const m of readFileSync(join(root, f), "utf8").matchAll(/^\/\/ node_modules\/((?:@[^/]+\/)?[^/]+)\//gm))
      libs.add(m[1]!);
  return [...libs].sort();
}

describe("the bundle", () => {
  it("bin/bakeplan.js loads dist/bin.js, one bundled program, and nothing from node_modules", () => {
    const { files, stdout } = loaded(["--version"], REPO);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    expect(files[0]).toBe("bin/bakeplan.js");
    expect(files.slice(1).every((f) => /^dist\/[\w-]+\.js$/.test(f))).toBe(true);
    expect(librariesIn(files)).toEqual(["@commander-js/extra-typings", "commander"]);
  });

  it("plan loads the config libraries but neither liquidjs (the example's templates are compiled) nor diff", () => {
    const dir = exampleCopy();
    const { files } = loaded(["plan"], dir, REPO, { BAKEPLAN_NO_CACHE: "1" });
    expect(files.filter((f) => !f.startsWith("dist/") && f !== "bin/bakeplan.js")).toEqual([]);
    const libs = librariesIn(files);
    expect(libs).toEqual(expect.arrayContaining(["commander", "yaml", "zod"]));
    expect(libs).not.toContain("liquidjs");
    expect(libs).not.toContain("diff");
    // zod's namespace import is shaken to what the schema uses: of its locales, only English.
    const locales = files
      .filter((f) => f.startsWith("dist/"))
      .flatMap((f) => [
        ...readFileSync(join(REPO, f), "utf8").matchAll(/^\/\/ node_modules\/zod\/.*\/locales\/(\w+)\.js$/gm),
      ])
      .map((m) => m[1]);
    expect(locales).toEqual(["en"]);
  });

  it("a plan with nothing changed loads neither yaml nor zod", () => {
    const dir = exampleCopy();
    const env = { BAKEPLAN_CACHE_DIR: join(testdir(), "state") };
    loaded(["plan"], dir, REPO, env);
    const { files, stderr } = loaded(["plan", "--verbose"], dir, REPO, env);
    expect(stderr).toContain("bakeplan: up to date");
    expect(librariesIn(files)).toEqual(["@commander-js/extra-typings", "commander"]);
  });

  it("check loads diff only when the plan differs; liquidjs loads when a template needs it", () => {
    const dir = exampleCopy();
    const env = { BAKEPLAN_NO_CACHE: "1" };
    loaded(["plan"], dir, REPO, env);
    expect(librariesIn(loaded(["check"], dir, REPO, env).files)).not.toContain("diff");
    const template = join(dir, "templates/Dockerfile.liquid");
    writeFileSync(template, `${readFileSync(template, "utf8")}# {{ framework | upcase }}\n`);
    const drift = loaded(["check"], dir, REPO, env, 1);
    expect(drift.stdout).toContain("# VLLM");
    expect(librariesIn(drift.files)).toEqual(expect.arrayContaining(["diff", "liquidjs"]));
  });

  it("runs from a copy of bin/ and dist/ alone, and a changed file of the bundle makes the next plan a full one", () => {
    const root = testdir();
    cpSync(join(REPO, "bin"), join(root, "bin"), { recursive: true });
    cpSync(join(REPO, "dist"), join(root, "dist"), { recursive: true });
    const dir = exampleCopy();
    const env = { BAKEPLAN_CACHE_DIR: join(testdir(), "state") };
    const first = loaded(["plan"], dir, root, env);
    expect(first.stdout).toContain("18 targets, 6 Dockerfiles -> docker-bake.json");
    expect(first.files.every((f) => f === "bin/bakeplan.js" || f.startsWith("dist/"))).toBe(true);
    expect(loaded(["plan", "--verbose"], dir, root, env).stderr).toContain("bakeplan: up to date");
    // A rebuilt bundle (here: one of its chunks rewritten) is a different bakeplan.
    const chunk = first.files.find((f) => f.startsWith("dist/") && f !== "dist/bin.js")!;
    writeFileSync(join(root, chunk), readFileSync(join(root, chunk)));
    const third = loaded(["plan", "--verbose"], dir, root, env);
    expect(third.stderr).not.toContain("bakeplan: up to date");
    expect(third.stdout).toContain("files: 0 written, 7 unchanged, 0 removed");
  });
});

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { UserError } from "../../src/errors.js";
import { readProject } from "../../src/io/project-files.js";
import { diffPlan, JOURNAL_NAME, writePlan } from "../../src/io/write-plan.js";
import type { BakeFile } from "../../src/plan/bake-file.js";
import { buildPlan } from "../../src/plan/plan.js";
import { exampleCopy, MINI_CONTEXT, miniProject, runCli } from "../helpers.js";

const DOCKERFILES = ["sglang-ubi.Dockerfile", "sglang.Dockerfile", "vllm-ubi.Dockerfile", "vllm.Dockerfile"];
const PAST = new Date("2001-02-03T04:05:06Z");

function planIn(dir: string) {
  const files = readProject(join(dir, "context.yaml"));
  return buildPlan(files.project, files.templates, { configLabel: "context.yaml" });
}

function write(dir: string) {
  return writePlan(planIn(dir), dir, join(dir, "docker-bake.json"));
}

const rel = (dir: string) => (abs: string) => abs.slice(dir.length + 1);

/** Sets every output file's mtime to PAST, so a later rewrite is visible. */
function age(dir: string): void {
  for (const f of [...DOCKERFILES.map((n) => join(dir, "bake", n)), join(dir, "docker-bake.json")])
    if (existsSync(f)) utimesSync(f, PAST, PAST);
}

function mtime(path: string): number {
  return statSync(path).mtimeMs;
}

describe("writePlan", () => {
  it("writes every Dockerfile and the bake file, leaving no temp, journal or lock file behind", () => {
    const dir = miniProject();
    const plan = planIn(dir);
    const summary = writePlan(plan, dir, join(dir, "docker-bake.json"));
    expect(summary.written.map(rel(dir))).toEqual([...DOCKERFILES.map((n) => `bake/${n}`), "docker-bake.json"]);
    expect(summary.unchanged).toEqual([]);
    expect(readdirSync(join(dir, "bake")).sort()).toEqual(DOCKERFILES);
    for (const f of plan.files) expect(readFileSync(join(dir, f.path), "utf8")).toBe(f.content);
    expect(readFileSync(join(dir, "docker-bake.json"), "utf8")).toBe(plan.bakeJson);
    expect(readdirSync(dir).sort()).toEqual(["bake", "context.yaml", "docker-bake.json", "templates"]);
  });

  it("does not rewrite unchanged files (their mtime stays)", () => {
    const dir = miniProject();
    write(dir);
    age(dir);
    const summary = write(dir);
    expect(summary.written).toEqual([]);
    expect(summary.unchanged).toHaveLength(5);
    for (const n of DOCKERFILES) expect(mtime(join(dir, "bake", n))).toBe(PAST.getTime());
    expect(mtime(join(dir, "docker-bake.json"))).toBe(PAST.getTime());
  });

  it("rewrites only the Dockerfiles whose content changed", () => {
    const dir = miniProject();
    write(dir);
    age(dir);
    writeFileSync(join(dir, "context.yaml"), MINI_CONTEXT.replace("FW_REF: v1", "FW_REF: v2"));
    const summary = write(dir);
    expect(summary.written.map(rel(dir))).toEqual([
      "bake/vllm-ubi.Dockerfile",
      "bake/vllm.Dockerfile",
      "docker-bake.json",
    ]);
    expect(readFileSync(join(dir, "bake", "vllm.Dockerfile"), "utf8")).toContain("ARG FW_REF=v2");
    expect(mtime(join(dir, "bake", "sglang.Dockerfile"))).toBe(PAST.getTime());
    expect(mtime(join(dir, "bake", "vllm.Dockerfile"))).not.toBe(PAST.getTime());
  });

  it("removes generated Dockerfiles the plan no longer produces and leaves foreign files alone", () => {
    const dir = miniProject();
    write(dir);
    writeFileSync(join(dir, "bake", "custom.Dockerfile"), "FROM scratch\n");
    writeFileSync(join(dir, "bake", "README.md"), "hand-written notes\n");
    writeFileSync(join(dir, "bake", ".gitkeep"), "");
    writeFileSync(join(dir, "context.yaml"), `${MINI_CONTEXT}exclude:\n  - when: {os: ubi}\n    reason: gone\n`);
    const summary = write(dir);
    expect(summary.removed.map(rel(dir))).toEqual(["bake/sglang-ubi.Dockerfile", "bake/vllm-ubi.Dockerfile"]);
    expect(summary.foreign.map(rel(dir))).toEqual(["bake/README.md", "bake/custom.Dockerfile"]);
    expect(readdirSync(join(dir, "bake")).sort()).toEqual([
      ".gitkeep",
      "README.md",
      "custom.Dockerfile",
      "sglang.Dockerfile",
      "vllm.Dockerfile",
    ]);
    expect(readFileSync(join(dir, "bake", "custom.Dockerfile"), "utf8")).toBe("FROM scratch\n");
  });

  it("finishes a plan interrupted after its commit point on the next write", () => {
    const dir = miniProject();
    write(dir);
    writeFileSync(
      join(dir, "context.yaml"),
      MINI_CONTEXT.replace("FW_REF: v1", "FW_REF: v2").replace("FW_REF: s1", "FW_REF: s2"),
    );
    const plan = planIn(dir);
    let commits = 0;
    expect(() =>
      writePlan(plan, dir, join(dir, "docker-bake.json"), (_abs, phase) => {
        if (phase === "commit" && ++commits === 3) throw new Error("simulated crash");
      }),
    ).toThrow("simulated crash");
    expect(existsSync(join(dir, "bake", JOURNAL_NAME))).toBe(true);
    expect(existsSync(join(dir, "docker-bake.json"))).toBe(false);
    expect(diffPlan(plan, dir, join(dir, "docker-bake.json"))).not.toBe("");

    writePlan(plan, dir, join(dir, "docker-bake.json"));
    expect(diffPlan(plan, dir, join(dir, "docker-bake.json"))).toBe("");
    expect(readdirSync(join(dir, "bake")).sort()).toEqual(DOCKERFILES);
  });

  it.each([
    {
      name: "build.out_dir is a file",
      setup: (dir: string) => writeFileSync(join(dir, "bake"), "x"),
      message: "bake: is a file; build.out_dir must be a directory",
    },
    {
      name: "the bake file path is a directory",
      setup: (dir: string) => mkdirSync(join(dir, "docker-bake.json")),
      message: "docker-bake.json: is a directory; give a file path for the bake file",
    },
  ])("refuses to write when $name", ({ setup, message }) => {
    const dir = miniProject();
    setup(dir);
    let error: unknown;
    try {
      write(dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toContain(message);
  });
});

describe("plan and check commands", () => {
  it("check exits 0 right after plan", async () => {
    const dir = miniProject();
    expect(await runCli(["plan"], dir)).toMatchObject({
      code: 0,
      stdout: "8 targets, 4 Dockerfiles -> docker-bake.json\nfiles: 5 written, 0 unchanged, 0 removed\n",
    });
    expect(await runCli(["check"], dir)).toEqual({
      code: 0,
      stdout: "up to date: 4 Dockerfiles and the bake file\n",
      stderr: "",
    });
  });

  it("check exits 1 with a unified diff after a hand edit, and writes nothing", async () => {
    const dir = miniProject();
    await runCli(["plan"], dir);
    const edited = join(dir, "bake", "vllm.Dockerfile");
    const original = readFileSync(edited, "utf8");
    writeFileSync(edited, original.replace("ARG FW_REF=v1", "ARG FW_REF=hand-edited"));
    age(dir);

    const res = await runCli(["check"], dir);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain("--- a/bake/vllm.Dockerfile\n+++ b/bake/vllm.Dockerfile\n@@ ");
    expect(res.stdout).toContain("\n-ARG FW_REF=hand-edited\n+ARG FW_REF=v1\n");
    expect(res.stdout).not.toContain("sglang.Dockerfile");
    expect(res.stderr).toContain(
      "bakeplan: error: generated files are out of date (diff above); run `bakeplan plan` with the same options",
    );
    expect(readFileSync(edited, "utf8")).toContain("ARG FW_REF=hand-edited");
    for (const n of DOCKERFILES) expect(mtime(join(dir, "bake", n))).toBe(PAST.getTime());

    expect((await runCli(["plan"], dir)).stdout).toContain("files: 2 written, 3 unchanged, 0 removed");
    expect((await runCli(["check"], dir)).code).toBe(0);
  });

  it("check reports files that are missing and generated files that would be removed", async () => {
    const dir = miniProject();
    const first = await runCli(["check"], dir);
    expect(first.code).toBe(1);
    expect(first.stdout).toContain("--- /dev/null\n+++ b/docker-bake.json");
    await runCli(["plan"], dir);
    writeFileSync(join(dir, "context.yaml"), `${MINI_CONTEXT}exclude:\n  - when: {os: ubi}\n    reason: gone\n`);
    const res = await runCli(["check"], dir);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain("--- a/bake/vllm-ubi.Dockerfile\n+++ /dev/null");
    expect(existsSync(join(dir, "bake", "vllm-ubi.Dockerfile"))).toBe(true);
  });

  it("plan reports removed and foreign files", async () => {
    const dir = miniProject();
    await runCli(["plan"], dir);
    writeFileSync(join(dir, "bake", "notes.txt"), "mine\n");
    writeFileSync(
      join(dir, "context.yaml"),
      `${MINI_CONTEXT}exclude:\n  - when: {framework: sglang, os: ubi}\n    reason: gone\n`,
    );
    const res = await runCli(["plan"], dir);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(
      "6 targets, 3 Dockerfiles -> docker-bake.json\nfiles: 1 written, 3 unchanged, 1 removed\n  removed bake/sglang-ubi.Dockerfile\n",
    );
    expect(res.stderr).toBe("bakeplan: note: bake/notes.txt was not generated by bakeplan; left alone\n");
  });
});

describe("a plan of some targets (--only)", () => {
  it("removes no other target's Dockerfile, and check --only does not call them stale", async () => {
    const dir = exampleCopy();
    expect((await runCli(["plan"], dir)).code).toBe(0);
    const before = readdirSync(join(dir, "bake")).sort();
    const res = await runCli(["plan", "--only", "framework=vllm", "--out", "vllm-bake.json"], dir);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain("0 removed");
    expect(readdirSync(join(dir, "bake")).sort()).toEqual(before);
    expect(
      Object.keys((JSON.parse(readFileSync(join(dir, "vllm-bake.json"), "utf8")) as BakeFile).target).every((t) =>
        t.startsWith("vllm-"),
      ),
    ).toBe(true);
    const check = await runCli(["check", "--only", "framework=vllm", "--out", "vllm-bake.json"], dir);
    expect(check.code, check.stdout).toBe(0);
    expect((await runCli(["check"], dir)).code).toBe(0);
  });
});

describe("output does not depend on the working directory", () => {
  it("check -c DIR/context.yaml from the parent directory finds the plan up to date", async () => {
    const dir = exampleCopy();
    expect((await runCli(["plan"], dir)).code).toBe(0);
    const res = await runCli(["check", "-c", join(basename(dir), "context.yaml")], dirname(dir));
    expect(res.stdout).toContain("up to date");
    expect(res.code).toBe(0);
  });
});

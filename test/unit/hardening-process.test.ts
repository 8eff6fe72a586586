// Hardening catalogue, properties that need real processes: a plan killed with SIGKILL, two plans
// at once on one tree, and a read-only bake/ (as an unprivileged user when the tests run as root).
import { spawn, type ChildProcess } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { readProject } from "../../src/io/project-files.js";
import { JOURNAL_NAME } from "../../src/io/write-plan.js";
import { buildPlan } from "../../src/plan/plan.js";
import { REPO, runCli, testdir } from "../helpers.js";
import {
  expectTreeUnchanged,
  HARD_CONTEXT,
  HARD_TEMPLATE,
  snapshotTree,
  worldReadableCli,
} from "../hardening-helpers.js";

const BIN = join(REPO, "bin/bakeplan.js");

/** A project whose plan has `n` distinct Dockerfiles (one per framework value), at generation `g`. */
function bigProject(n: number, g: number): string {
  const dir = testdir();
  setGeneration(dir, g, n);
  return dir;
}

/**
 * Rewrites the inputs for generation `g`: its Dockerfiles (the PYTHON_VERSION default) and its bake
 * file (the PYTHON_VERSION arg) differ from every other generation's. Only context.yaml changes,
 * replaced by a rename, so a concurrently starting plan reads one generation or the other.
 */
function setGeneration(dir: string, g: number, n = 2): void {
  const frameworks = Array.from({ length: n }, (_, i) => `f${i}`).join(", ");
  const put = (name: string, text: string) => {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, `${name}.new`), text);
    renameSync(join(dir, `${name}.new`), join(dir, name));
  };
  put(
    "context.yaml",
    HARD_CONTEXT.replace("framework: [vllm, sglang]", `framework: [${frameworks}]`)
      .replace("target: [runtime, dev]", "target: [runtime]")
      .replace('PYTHON_VERSION: "3.12"', `PYTHON_VERSION: "3.${g}"`),
  );
  if (!existsSync(join(dir, "templates/Dockerfile.liquid"))) put("templates/Dockerfile.liquid", HARD_TEMPLATE);
}

function generation(dir: string): { bake: string; files: Map<string, string> } {
  const files = readProject(join(dir, "context.yaml"));
  const plan = buildPlan(files.project, files.templates, { configLabel: "context.yaml" });
  return { bake: plan.bakeJson, files: new Map(plan.files.map((f) => [f.path, f.content])) };
}

/** When a bake file exists, it is one generation's, and every Dockerfile it names has that generation's content. */
function expectConsistent(dir: string, generations: { bake: string; files: Map<string, string> }[]): "none" | number {
  const bakePath = join(dir, "docker-bake.json");
  if (!existsSync(bakePath)) return "none";
  const text = readFileSync(bakePath, "utf8");
  const i = generations.findIndex((g) => g.bake === text);
  expect(i, "the bake file is one complete generation").toBeGreaterThanOrEqual(0);
  const bake = JSON.parse(text) as { target: Record<string, { dockerfile: string }> };
  for (const t of Object.values(bake.target))
    expect(
      readFileSync(join(dir, t.dockerfile), "utf8") === generations[i]!.files.get(t.dockerfile),
      t.dockerfile,
    ).toBe(true);
  return i;
}

function run(
  dir: string,
  args: string[],
  opts: { uid?: number; bin?: string; env?: NodeJS.ProcessEnv } = {},
): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> } {
  const child = spawn(process.execPath, [opts.bin ?? BIN, ...args], {
    cwd: dir,
    stdio: ["ignore", "ignore", "pipe"],
    ...(opts.env ? { env: { ...process.env, ...opts.env } } : {}),
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
  });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => void (stderr += d.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((res) =>
    child.on("close", (code, signal) => res({ code, signal, stderr })),
  );
  return { child, done };
}

function leftovers(dir: string): string[] {
  return [
    ...readdirSync(join(dir, "bake")).filter((n) => n.startsWith(".")),
    ...readdirSync(dir).filter((n) => n.endsWith(".tmp")),
  ];
}

describe("hardening: a plan killed with SIGKILL", () => {
  it("leaves the old or the new complete set behind the bake file, at the commit point and at random moments; the next plan finishes", async () => {
    const N = 400;
    const dir = bigProject(N, 0);
    expect((await runCli(["plan"], dir)).code).toBe(0);
    const seen = { atJournal: 0, none: 0, old: 0, new: 0 };
    let old = generation(dir);
    for (let round = 1; round <= 4; round++) {
      setGeneration(dir, round, N);
      const next = generation(dir);
      const journal = join(dir, "bake", JOURNAL_NAME);
      const { child, done } = run(dir, ["plan"]);
      let exited = false;
      void done.then(() => (exited = true));
      if (round % 2 === 0) {
        // Kill at the commit point: as soon as the journal appears.
        while (!exited && !existsSync(journal)) await new Promise((r) => setImmediate(r));
        if (!exited) seen.atJournal++;
      } else {
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 1200));
      }
      child.kill("SIGKILL");
      await done;

      const state = expectConsistent(dir, [old, next]);
      seen[state === "none" ? "none" : state === 0 ? "old" : "new"]++;
      if (existsSync(journal)) {
        const check = await runCli(["check"], dir);
        expect(check.code).toBe(1);
        expect(check.stderr).toContain("a plan was interrupted");
      }
      const res = await runCli(["plan"], dir);
      expect(res.code, res.stderr).toBe(0);
      expect(expectConsistent(dir, [next])).toBe(0);
      expect(leftovers(dir)).toEqual([]);
      expect((await runCli(["check"], dir)).code).toBe(0);
      old = next;
    }
    // The journal appeared (and the kill landed after the commit point) at least once.
    expect(seen.atJournal, JSON.stringify(seen)).toBeGreaterThan(0);
  }, 180_000);
});

describe("hardening: two plans at once on one tree", () => {
  it("same inputs: both succeed, check passes, no interleaved file and no leftovers", async () => {
    const dir = bigProject(150, 0);
    for (let round = 1; round <= 2; round++) {
      setGeneration(dir, round, 150);
      const [a, b] = [run(dir, ["plan"]), run(dir, ["plan"])];
      const results = await Promise.all([a.done, b.done]);
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      expect(expectConsistent(dir, [generation(dir)])).toBe(0);
      expect(leftovers(dir)).toEqual([]);
      expect((await runCli(["check"], dir)).code).toBe(0);
    }
  }, 120_000);

  it("different inputs: the tree ends as one of the two complete plans, never a mix", async () => {
    const dir = bigProject(150, 0);
    expect((await runCli(["plan"], dir)).code).toBe(0);
    setGeneration(dir, 1, 150);
    const genA = generation(dir);
    setGeneration(dir, 2, 150);
    const genB = generation(dir);
    // Each process plans whichever inputs it reads; the tree must end as one complete plan.
    setGeneration(dir, 1, 150);
    const a = run(dir, ["plan"]);
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    setGeneration(dir, 2, 150);
    const b = run(dir, ["plan"]);
    for (const r of await Promise.all([a.done, b.done])) expect(r.code, r.stderr).toBe(0);
    expect(expectConsistent(dir, [genA, genB])).not.toBe("none");
    expect(leftovers(dir)).toEqual([]);
  }, 120_000);
});

describe("hardening: a read-only bake/", () => {
  it("is refused with the path, and nothing changes", async () => {
    const dir = bigProject(2, 0);
    expect((await runCli(["plan"], dir)).code).toBe(0);
    setGeneration(dir, 1);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      // root ignores permission bits: run the plan as nobody, who owns the tree but not a writable bake/.
      const chownAll = (p: string) => {
        chownSync(p, 65534, 65534);
        if (statSync(p).isDirectory()) for (const n of readdirSync(p)) chownAll(join(p, n));
      };
      chownAll(dir);
    }
    chmodSync(join(dir, "bake"), 0o555);
    const before = snapshotTree(dir);
    let code: number | null;
    let stderr: string;
    if (asRoot) {
      // nobody cannot write the run's state directory (root's): it gets one of its own.
      const state = testdir();
      chownSync(state, 65534, 65534);
      ({ code, stderr } = await run(dir, ["plan"], {
        uid: 65534,
        bin: worldReadableCli(),
        env: { BAKEPLAN_CACHE_DIR: state },
      }).done);
    } else ({ code, stderr } = await runCli(["plan"], dir));
    expect(code, stderr).toBe(1);
    expect(stderr).toContain("bakeplan: error: bake: cannot write (the directory is read-only)");
    expectTreeUnchanged(dir, before);
    chmodSync(join(dir, "bake"), 0o755);
  }, 60_000);
});

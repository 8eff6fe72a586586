// Hardening catalogue, as a user without privileges (issue 10: tests pass "as any user that can run
// them"). Run as root, each case runs the CLI as uid 65534 (nobody) from a world-readable copy of
// bin/ and dist/, on a tree nobody owns, so permission bits mean what they say; run as anyone else,
// it runs the CLI as that user. Unreadable inputs, an output directory or bake file directory that
// cannot be written, an interrupted plan that cannot be finished until it can, and a state
// directory that cannot be written: each ends with one located line, exit 1, and nothing changed.
import { spawn } from "node:child_process";
import { chmodSync, chownSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readProject } from "../../src/io/project-files.js";
import { JOURNAL_NAME, writePlan } from "../../src/io/write-plan.js";
import { buildPlan } from "../../src/plan/plan.js";
import { REPO, runCli, testdir } from "../helpers.js";
import { HARD_CONTEXT, HARD_TEMPLATE, snapshotTree, worldReadableCli, type Entry } from "../hardening-helpers.js";

const AS_ROOT = process.getuid?.() === 0;
const NOBODY = 65534;

/** Gives `path` (and everything under it) to nobody when the tests run as root. */
function giveAway(path: string): void {
  if (!AS_ROOT) return;
  lchown(path);
  if (lstatSync(path).isDirectory()) for (const n of readdirSync(path)) giveAway(join(path, n));
}
const lchown = (p: string) => chownSync(p, NOBODY, NOBODY);

/** Makes `path` readable, not writable, for the user the CLI runs as: root's with mode 755 when root, else mode 555. */
function takeBack(path: string): void {
  if (AS_ROOT) chownSync(path, 0, 0);
  chmodSync(path, AS_ROOT ? 0o755 : 0o555);
}

/** Undoes takeBack. */
function handBack(path: string): void {
  if (AS_ROOT) lchown(path);
  chmodSync(path, 0o755);
}

/** `bakeplan ARGS` in `cwd`, as nobody when root; the environment is the run's, with `env` on top. */
function unprivileged(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // A copy per call: worldReadableCli's directory goes when the test ends.
  const cli = AS_ROOT ? worldReadableCli() : join(REPO, "bin/bakeplan.js");
  const child = spawn(process.execPath, [cli, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    ...(AS_ROOT ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => void (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => void (stderr += d.toString()));
  return new Promise((res) => child.on("close", (code) => res({ code, stdout, stderr })));
}

/**
 * A planned project, with a change to plan (so a plan would write), and a state directory and
 * temp directory of nobody's, in a root nobody may enter.
 */
async function world(): Promise<{ root: string; dir: string; env: NodeJS.ProcessEnv }> {
  const root = testdir();
  chmodSync(root, 0o755);
  const dir = join(root, "project");
  mkdirSync(join(dir, "templates"), { recursive: true });
  writeFileSync(join(dir, "context.yaml"), HARD_CONTEXT);
  writeFileSync(join(dir, "templates/Dockerfile.liquid"), HARD_TEMPLATE);
  const res = await runCli(["plan"], dir);
  expect([res.code, res.stderr]).toEqual([0, ""]);
  writeFileSync(join(dir, "context.yaml"), HARD_CONTEXT.replace('PYTHON_VERSION: "3.12"', 'PYTHON_VERSION: "3.13"'));
  for (const d of ["state", "tmp"]) mkdirSync(join(root, d));
  giveAway(root);
  return { root, dir, env: { BAKEPLAN_CACHE_DIR: join(root, "state"), TMPDIR: join(root, "tmp"), CI: "" } };
}

/** Every file as it was (a directory's mtime may move: a temp file was created and removed in it). */
function filesOf(tree: Record<string, Entry>) {
  return Object.fromEntries(
    Object.entries(tree).map(([k, e]) => [k, e.kind === "dir" ? { kind: "dir", mode: e.mode } : e]),
  );
}

function expectOneLine(res: { code: number | null; stdout: string; stderr: string }, code: number, line: RegExp): void {
  expect(res.code, res.stderr).toBe(code);
  expect(res.stdout).toBe("");
  expect(res.stderr).toMatch(line);
  expect(res.stderr.split("\n").filter(Boolean), "one line").toHaveLength(1);
  expect(res.stderr).not.toContain("internal error");
}

describe("hardening (unprivileged): inputs the user cannot read", () => {
  it.each([
    {
      name: "context.yaml",
      path: "context.yaml",
      line: /^bakeplan: error: context\.yaml: cannot read the config file \(permission denied\)\n$/,
    },
    {
      name: "a template",
      path: "templates/Dockerfile.liquid",
      line: /^bakeplan: error: templates\/Dockerfile\.liquid: cannot read the template \(permission denied\)/,
    },
    {
      name: "the template directory",
      path: "templates",
      line: /^bakeplan: error: templates: cannot read the template directory \(permission denied\)/,
    },
  ])(
    "$name (mode 000): one located line, exit 1, nothing changed",
    async ({ path, line }) => {
      const w = await world();
      chmodSync(join(w.dir, path), 0o000);
      const before = snapshotTree(w.root);
      const res = await unprivileged(["plan"], w.dir, w.env);
      chmodSync(join(w.dir, path), lstatSync(join(w.dir, path)).isDirectory() ? 0o755 : 0o644);
      expectOneLine(res, 1, line);
      chmodSync(join(w.dir, path), 0o000);
      expect(snapshotTree(w.root)).toEqual(before);
      chmodSync(join(w.dir, path), lstatSync(join(w.dir, path)).isDirectory() ? 0o755 : 0o644);
    },
    60_000,
  );
});

describe("hardening (unprivileged): outputs the user cannot write", () => {
  it("the bake file's directory (bake/ writable): exit 1 with its path, no Dockerfile half-replaced, no temp file left", async () => {
    const w = await world();
    takeBack(w.dir);
    const before = filesOf(snapshotTree(w.root));
    const res = await unprivileged(["plan"], w.dir, w.env);
    expectOneLine(res, 1, /^bakeplan: error: docker-bake\.json: cannot write \(the directory is read-only\)\n$/);
    expect(filesOf(snapshotTree(w.root))).toEqual(before);
    handBack(w.dir);
  }, 60_000);

  it("an interrupted plan that cannot be finished: the journal's message, nothing changed; once writable, the next plan finishes it", async () => {
    const w = await world();
    // A plan that stopped after its commit point (the journal), before the first rename.
    const files = readProject(join(w.dir, "context.yaml"));
    const plan = buildPlan(files.project, files.templates, { configLabel: "context.yaml" });
    expect(() =>
      writePlan(plan, w.dir, join(w.dir, "docker-bake.json"), (_abs, phase) => {
        if (phase === "commit") throw new Error("killed");
      }),
    ).toThrow("killed");
    expect(readdirSync(join(w.dir, "bake"))).toContain(JOURNAL_NAME);
    giveAway(w.dir);
    takeBack(w.dir);
    const before = filesOf(snapshotTree(w.root));
    let res = await unprivileged(["plan"], w.dir, w.env);
    expectOneLine(
      res,
      1,
      /^bakeplan: error: bake: plan interrupted while replacing files \((EACCES|EPERM)\); \.bakeplan-journal\.json records the rest: run `bakeplan plan` again to finish it\n$/,
    );
    expect(filesOf(snapshotTree(w.root))).toEqual(before);
    handBack(w.dir);
    res = await unprivileged(["plan"], w.dir, w.env);
    expect([res.code, res.stderr]).toEqual([0, ""]);
    expect(readdirSync(join(w.dir, "bake")).filter((n) => n.startsWith("."))).toEqual([]);
    expect((await unprivileged(["check"], w.dir, w.env)).code).toBe(0);
  }, 60_000);
});

describe("hardening (unprivileged): a state directory the user cannot write", () => {
  it.each([
    {
      name: "BAKEPLAN_CACHE_DIR of another user",
      env: (root: string) => ({ BAKEPLAN_CACHE_DIR: join(root, "state") }),
      blocked: "state",
      line: (root: string) =>
        `the up-to-date plan state cannot be kept in ${root}/state: ${root}/state is not writable by this user`,
    },
    {
      name: "a HOME of another user",
      env: (root: string) => ({ BAKEPLAN_CACHE_DIR: "", XDG_CACHE_HOME: "", HOME: join(root, "home") }),
      blocked: "home",
      line: (root: string) =>
        `the up-to-date plan state cannot be kept in ${root}/home/.cache/bakeplan: ${root}/home is not writable by this user`,
    },
  ])(
    "$name: one line with the three ways out, exit 1, nothing read or written",
    async ({ env, blocked, line }) => {
      const w = await world();
      mkdirSync(join(w.root, "home"), { recursive: true });
      takeBack(join(w.root, blocked));
      const before = snapshotTree(w.root);
      const res = await unprivileged(["plan"], w.dir, { ...w.env, ...env(w.root) });
      expectOneLine(
        res,
        1,
        new RegExp(
          `^bakeplan: error: ${escape(line(w.root))}; set HOME to a home directory, set BAKEPLAN_CACHE_DIR to a directory bakeplan may write, or set BAKEPLAN_NO_CACHE=1 to plan without the state\\n$`,
        ),
      );
      expect(snapshotTree(w.root)).toEqual(before);
      handBack(join(w.root, blocked));
      // The third way out: without the state, the same user plans.
      const off = await unprivileged(["plan"], w.dir, { ...w.env, ...env(w.root), BAKEPLAN_NO_CACHE: "1" });
      expect([off.code, off.stderr]).toEqual([0, ""]);
    },
    60_000,
  );
});

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

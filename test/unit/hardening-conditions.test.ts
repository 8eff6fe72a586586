// Hardening catalogue, "ordinary process conditions" (issue 10): a full disk, a reader that goes
// away, a deleted working directory, no home directory. Each gets one line (or nothing) and an exit
// code, never a stack trace, and leaves the tree as it was.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type * as Fs from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/bin.js";
import { exampleCopy, REPO, runCli, testdir } from "../helpers.js";
import { expectTreeUnchanged, HARD_CONTEXT, plannedProject, snapshotTree } from "../hardening-helpers.js";

// The write boundary: every file bakeplan writes goes through writeFileSync on a temp file
// (write-plan.ts stage()). `disk.fullAfter` makes the n-th such write fail as a full disk does:
// part of the bytes written, then ENOSPC.
const disk = vi.hoisted(() => ({ fullAfter: -1, writes: 0 }));
vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof Fs>();
  const writeFileSync: typeof fs.writeFileSync = (file, data, options) => {
    if (typeof file === "string" && /\.bakeplan-\d+-[a-z0-9]+\.tmp$/.test(file) && disk.fullAfter >= 0) {
      if (disk.writes++ === disk.fullAfter) {
        fs.writeFileSync(file, (data as string).slice(0, 10), options);
        throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: "ENOSPC", errno: -28 });
      }
    }
    fs.writeFileSync(file, data, options);
  };
  return { ...fs, writeFileSync, default: { ...fs, writeFileSync } };
});

function filesOf(tree: ReturnType<typeof snapshotTree>) {
  return Object.fromEntries(Object.entries(tree).map(([k, e]) => [k, e.kind === "dir" ? { kind: "dir" } : e]));
}

afterEach(() => {
  disk.fullAfter = -1;
  disk.writes = 0;
  vi.unstubAllEnvs();
});

describe("hardening (conditions): a full disk", () => {
  it("each write failing with ENOSPC in turn: one line, exit 1, the tree as it was; the next plan finishes", async () => {
    const dir = await plannedProject();
    writeFileSync(join(dir, "context.yaml"), HARD_CONTEXT.replace('PYTHON_VERSION: "3.12"', 'PYTHON_VERSION: "3.13"'));
    const before = snapshotTree(dir);
    let failures = 0;
    for (let n = 0; ; n++) {
      disk.fullAfter = n;
      disk.writes = 0;
      const res = await runCli(["plan"], dir);
      if (res.code === 0) break;
      failures++;
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(
        /^bakeplan: error: \S+: cannot write \(no space left on the device; free some space and plan again\)\n$/,
      );
      // Every file as it was (a directory's mtime moves: a temp file was created and removed in it).
      expect(filesOf(snapshotTree(dir))).toEqual(filesOf(before));
      expect(n).toBeLessThan(20);
    }
    // the lock, two Dockerfiles, the bake file and the journal are each written once
    expect(failures).toBeGreaterThanOrEqual(4);
    disk.fullAfter = -1;
    expect((await runCli(["check"], dir)).code).toBe(0);
  });
});

describe("hardening (conditions): the process around bakeplan", () => {
  it("output into a closed pipe ends quietly (no EPIPE stack trace)", () => {
    const dir = exampleCopy();
    for (const cmd of ["list --all", "render vllm-cuda12", "list --json"]) {
      const stderr = join(dir, "stderr.txt");
      execFileSync(
        "bash",
        ["-c", `node ${JSON.stringify(join(REPO, "bin/bakeplan.js"))} ${cmd} 2>${stderr} | head -c 1 >/dev/null`],
        { cwd: dir },
      );
      expect(readFileSync(stderr, "utf8"), cmd).toBe("");
      rmSync(stderr);
    }
  });

  it("a deleted working directory: one line, exit 1", async () => {
    const root = testdir();
    const gone = join(root, "gone");
    mkdirSync(gone);
    const previous = process.cwd();
    let err = "";
    let code: number;
    process.chdir(gone);
    try {
      rmSync(gone, { recursive: true });
      code = await main(["node", "bakeplan", "plan"], { out: () => {}, err: (s) => void (err += s) });
    } finally {
      process.chdir(previous);
    }
    expect(code).toBe(1);
    expect(err).toBe(
      "bakeplan: error: the working directory no longer exists (it was deleted or moved); cd into a directory that exists and run bakeplan again\n",
    );
    expect(readdirSync(root)).toEqual([]);
  });
});

/** bin/bakeplan.js in a child process whose environment is only `env` (and PATH): nothing inherited from the test run. */
function cliWithEnv(
  args: string[],
  cwd: string,
  env: Record<string, string>,
): { code: number; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, [join(REPO, "bin/bakeplan.js"), ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    encoding: "utf8",
  });
  return { code: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
}

const WAYS_OUT =
  "; set HOME to a home directory, set BAKEPLAN_CACHE_DIR to a directory bakeplan may write, or set BAKEPLAN_NO_CACHE=1 to plan without the state\n";

describe("hardening (conditions): no home directory", () => {
  it.each([
    { name: "HOME unset", env: () => ({}), missing: "HOME is not set" },
    { name: "HOME empty", env: () => ({ HOME: "" }), missing: "HOME is empty" },
    { name: "HOME relative", env: () => ({ HOME: "home" }), missing: "HOME (home) is not an absolute path" },
    {
      name: "HOME naming a directory that does not exist",
      env: (root: string) => ({ HOME: join(root, "no-such-home") }),
      missing: "HOME (<root>/no-such-home) is not a directory",
    },
    {
      name: "HOME naming a file",
      env: (root: string) => ({ HOME: join(root, "project/context.yaml") }),
      missing: "HOME (<root>/project/context.yaml) is not a directory",
    },
    {
      name: "HOME unset and XDG_CACHE_HOME relative",
      env: () => ({ XDG_CACHE_HOME: "cache" }),
      missing: "HOME is not set and XDG_CACHE_HOME (cache) is not an absolute path",
    },
    {
      name: "HOME unset and XDG_CACHE_HOME in a directory that does not exist",
      env: (root: string) => ({ XDG_CACHE_HOME: join(root, "gone/cache") }),
      missing: "HOME is not set and XDG_CACHE_HOME (<root>/gone/cache) is in a directory that does not exist",
    },
  ])("$name: plan says what is missing and the three ways out, exit 1, nothing written", async ({ env, missing }) => {
    const root = testdir();
    const dir = join(root, "project");
    cpSync(await plannedProject(), dir, { recursive: true });
    writeFileSync(join(dir, "context.yaml"), HARD_CONTEXT.replace('PYTHON_VERSION: "3.12"', 'PYTHON_VERSION: "3.13"'));
    const before = snapshotTree(root);
    const res = cliWithEnv(["plan"], dir, env(root));
    expect(res.code, res.stderr).toBe(1);
    expect(res.stdout).toBe("");
    expect(res.stderr).toBe(
      `bakeplan: error: no directory for the up-to-date plan state: ${missing.replaceAll("<root>", root)}, and BAKEPLAN_CACHE_DIR is not set${WAYS_OUT}`,
    );
    expectTreeUnchanged(root, before);
  });

  it("each way out plans: BAKEPLAN_NO_CACHE=1, BAKEPLAN_CACHE_DIR, a HOME (whose .cache is created, the home never)", async () => {
    const root = testdir();
    const dir = join(root, "project");
    cpSync(await plannedProject(), dir, { recursive: true });
    const edit = (v: string) => {
      writeFileSync(
        join(dir, "context.yaml"),
        HARD_CONTEXT.replace('PYTHON_VERSION: "3.12"', `PYTHON_VERSION: "${v}"`),
      );
      // A config changed within a clock tick of the plan is never trusted by the state: date it back.
      const past = new Date(Date.now() - 10_000);
      utimesSync(join(dir, "context.yaml"), past, past);
    };
    edit("3.13");
    let res = cliWithEnv(["plan"], dir, { BAKEPLAN_NO_CACHE: "1" });
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("files: 3 written");
    expect(readdirSync(root)).toEqual(["project"]);
    edit("3.14");
    res = cliWithEnv(["plan"], dir, { BAKEPLAN_CACHE_DIR: join(root, "state") });
    expect([res.code, res.stderr]).toEqual([0, ""]);
    expect(readdirSync(join(root, "state/plans"))).toHaveLength(1);
    mkdirSync(join(root, "home"));
    edit("3.15");
    res = cliWithEnv(["plan"], dir, { HOME: join(root, "home") });
    expect([res.code, res.stderr]).toEqual([0, ""]);
    expect(readdirSync(join(root, "home/.cache/bakeplan/plans"))).toHaveLength(1);
  });

  it("commands that never use the state work without a home: list, explain, render, check, images, --help, --version", async () => {
    const dir = await plannedProject();
    const before = snapshotTree(dir);
    for (const args of [
      ["list", "--all"],
      ["explain", "vllm-runtime"],
      ["render", "vllm-runtime"],
      ["check"],
      ["images"],
      ["plan", "--help"],
      ["--version"],
    ]) {
      const res = cliWithEnv(args, dir, {});
      expect(res.stderr, args.join(" ")).toBe("");
      expect(res.code, args.join(" ")).toBe(0);
      expect(res.stdout, args.join(" ")).not.toBe("");
    }
    expectTreeUnchanged(dir, before);
  });
});

// Hardening catalogue, "ordinary process conditions" (issue 10): a full disk, a reader that goes
// away, a deleted working directory, no home directory. Each gets one line (or nothing) and an exit
// code, never a stack trace, and leaves the tree as it was.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

  it.each([
    { name: "HOME empty", home: () => "" },
    { name: "HOME naming a directory that does not exist", home: (root: string) => join(root, "no-such-home") },
  ])("$name: plans without the up-to-date state, and creates no home", async ({ home }) => {
    const root = testdir();
    const dir = await plannedProject();
    vi.stubEnv("BAKEPLAN_CACHE_DIR", undefined);
    vi.stubEnv("XDG_CACHE_HOME", undefined);
    vi.stubEnv("HOME", home(root));
    const before = snapshotTree(dir);
    const res = await runCli(["plan"], dir);
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
    expectTreeUnchanged(dir, before);
    expect(readdirSync(root)).toEqual([]);
  });
});

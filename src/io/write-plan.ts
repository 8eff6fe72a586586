import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { createTwoFilesPatch } from "diff";
import { OutputError } from "../errors.js";
import { isGenerated } from "../render/dockerfile.js";
import type { Plan } from "../plan/plan.js";
import { displayPath } from "./project-files.js";

export interface WriteSummary {
  written: string[];
  unchanged: string[];
  removed: string[];
  /** Files in the output directory that bakeplan did not generate: left alone. */
  foreign: string[];
}

/** A file the plan wants on disk: absolute path and content. */
interface Output {
  abs: string;
  content: string;
}

function outputs(plan: Plan, projectDir: string, bakeFile: string): Output[] {
  return [...plan.files.map((f) => ({ abs: join(projectDir, f.path), content: f.content })), { abs: bakeFile, content: plan.bakeJson }];
}

function readIfExists(abs: string): string | undefined {
  try {
    return readFileSync(abs, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "EISDIR") throw new OutputError(`${displayPath(abs)}: is a directory; bakeplan writes a file there`);
    throw new OutputError(`${displayPath(abs)}: cannot read (${code ?? String(e)})`);
  }
}

/** Refuses an output path that is a directory (for files), or a link leading outside the project. */
export function checkOutputPath(abs: string, projectDir: string, kind: "file" | "directory"): void {
  let st;
  try {
    st = lstatSync(abs);
  } catch {
    return;
  }
  if (kind === "file" && st.isDirectory()) throw new OutputError(`${displayPath(abs)}: is a directory; give a file path for the bake file`);
  if (kind === "directory" && st.isFile()) throw new OutputError(`${displayPath(abs)}: is a file; build.out_dir must be a directory`);
  if (st.isSymbolicLink()) {
    const real = realpathSync(abs);
    const root = realpathSync(projectDir);
    if (!real.startsWith(root + sep)) throw new OutputError(`${displayPath(abs)}: is a link to ${real}, outside the project; bakeplan does not write through it`);
  }
}

function outDirOf(plan: Plan, projectDir: string): string {
  return resolve(projectDir, plan.outDir);
}

/** Generated Dockerfiles in the output directory that the plan no longer produces, and foreign files. */
function staleFiles(outDir: string, keep: Set<string>): { stale: string[]; foreign: string[] } {
  let entries: string[];
  try {
    entries = readdirSync(outDir).sort();
  } catch {
    return { stale: [], foreign: [] };
  }
  const stale: string[] = [];
  const foreign: string[] = [];
  for (const name of entries) {
    const abs = join(outDir, name);
    if (keep.has(abs) || !name.endsWith(".Dockerfile")) {
      if (!keep.has(abs) && !name.startsWith(".")) foreign.push(abs);
      continue;
    }
    if (!statSync(abs).isFile()) continue;
    if (isGenerated(readFileSync(abs, "utf8"))) stale.push(abs);
    else foreign.push(abs);
  }
  return { stale, foreign };
}

function atomicWrite(abs: string, content: string): void {
  const tmp = join(dirname(abs), `.${abs.slice(dirname(abs).length + 1)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  try {
    writeFileSync(tmp, content, { flag: "wx" });
    renameSync(tmp, abs);
  } catch (e) {
    rmSync(tmp, { force: true });
    const code = (e as NodeJS.ErrnoException).code;
    throw new OutputError(`${displayPath(abs)}: cannot write (${code === "EACCES" || code === "EROFS" || code === "EPERM" ? "the directory is read-only" : (code ?? String(e))})`, { cause: e });
  }
}

/** Test hook: called before each file is written, so a test can simulate a crash between files. */
export type BeforeWrite = (abs: string) => void;

/**
 * Writes the plan: Dockerfiles first, the bake file last, then removes generated files the plan
 * no longer produces. Each write is a temp file + rename; unchanged files are not touched.
 */
export function writePlan(plan: Plan, projectDir: string, bakeFile: string, beforeWrite?: BeforeWrite): WriteSummary {
  checkOutputPath(bakeFile, projectDir, "file");
  const outDir = outDirOf(plan, projectDir);
  checkOutputPath(outDir, projectDir, "directory");
  const summary: WriteSummary = { written: [], unchanged: [], removed: [], foreign: [] };
  const all = outputs(plan, projectDir, bakeFile);
  const changed = all.filter((o) => {
    const same = readIfExists(o.abs) === o.content;
    (same ? summary.unchanged : summary.written).push(o.abs);
    return !same;
  });
  const { stale, foreign } = staleFiles(outDir, new Set(all.map((o) => o.abs)));
  summary.foreign = foreign.filter((f) => f !== bakeFile);
  if (changed.length > 0 || stale.length > 0) {
    const lock = acquireLock(outDir);
    try {
      for (const o of changed) {
        beforeWrite?.(o.abs);
        mkdirSync(dirname(o.abs), { recursive: true });
        atomicWrite(o.abs, o.content);
      }
      for (const abs of stale) {
        try {
          unlinkSync(abs);
          summary.removed.push(abs);
        } catch (e) {
          throw new OutputError(`${displayPath(abs)}: cannot remove stale generated file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
        }
      }
    } finally {
      lock.release();
    }
  }
  return summary;
}

const LOCK_NAME = ".bakeplan.lock";
const LOCK_WAIT_MS = 30_000;

/** One writer at a time per output directory; a lock left by a dead process is taken over. */
function acquireLock(outDir: string): { release(): void } {
  mkdirSync(outDir, { recursive: true });
  const lockPath = join(outDir, LOCK_NAME);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fd = openSync(lockPath, "wx");
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return { release: () => rmSync(lockPath, { force: true }) };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EACCES" || code === "EROFS" || code === "EPERM") throw new OutputError(`${displayPath(outDir)}: cannot write (the directory is read-only)`);
      if (code !== "EEXIST") throw new OutputError(`${displayPath(lockPath)}: cannot create lock (${code ?? String(e)})`);
      const holder = Number.parseInt(readIfExists(lockPath) ?? "", 10);
      if (!Number.isNaN(holder) && !isAlive(holder)) {
        rmSync(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new OutputError(`${displayPath(lockPath)}: another bakeplan (pid ${holder}) is writing this plan; waited ${LOCK_WAIT_MS / 1000}s`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** What `check` reports: a unified diff of every file that differs from the plan, or "" when none. */
export function diffPlan(plan: Plan, projectDir: string, bakeFile: string): string {
  const all = outputs(plan, projectDir, bakeFile);
  const patches: string[] = [];
  for (const o of all) {
    const current = readIfExists(o.abs);
    if (current === o.content) continue;
    const name = relative(projectDir, o.abs).split(sep).join("/");
    patches.push(createTwoFilesPatch(current === undefined ? "/dev/null" : `a/${name}`, `b/${name}`, current ?? "", o.content, undefined, undefined, { context: 3 }));
  }
  const { stale } = staleFiles(outDirOf(plan, projectDir), new Set(all.map((o) => o.abs)));
  for (const abs of stale) {
    const name = relative(projectDir, abs).split(sep).join("/");
    patches.push(createTwoFilesPatch(`a/${name}`, "/dev/null", readFileSync(abs, "utf8"), "", undefined, undefined, { context: 3 }));
  }
  return patches.join("");
}

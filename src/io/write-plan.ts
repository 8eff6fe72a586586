import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import type * as Diff from "diff";
import { UserError } from "../errors.js";
import { isGenerated } from "../render/dockerfile.js";
import type { Plan } from "../plan/plan.js";
import { displayPath } from "./project-files.js";
import { fileStamp } from "./stamp.js";

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
  // `content` read when used, so no Dockerfile text is held here (PlannedFile builds it on read).
  return [
    ...plan.files.map((f) => ({
      abs: join(projectDir, f.path),
      get content() {
        return f.content;
      },
    })),
    { abs: bakeFile, content: plan.bakeJson },
  ];
}

function readIfExists(abs: string): string | undefined {
  try {
    return readFileSync(abs, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "EISDIR") throw new UserError(`${displayPath(abs)}: is a directory; bakeplan writes a file there`);
    throw new UserError(`${displayPath(abs)}: cannot read (${code ?? String(e)})`);
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
  if (kind === "file" && st.isDirectory())
    throw new UserError(`${displayPath(abs)}: is a directory; give a file path for the bake file`);
  if (kind === "directory" && st.isFile())
    throw new UserError(`${displayPath(abs)}: is a file; build.out_dir must be a directory`);
  if (st.isSymbolicLink()) {
    let real: string;
    try {
      real = realpathSync(abs);
    } catch {
      // A dangling link: where it would lead.
      real = resolve(dirname(abs), readlinkSync(abs));
    }
    const root = realpathSync(projectDir);
    if (!real.startsWith(root + sep))
      throw new UserError(
        `${displayPath(abs)}: is a link to ${real}, outside the project; bakeplan does not write through it`,
      );
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

// Temp files are named after their target, the writer's pid and a random suffix, so a crashed
// writer's leftovers can be recognised (and removed) by the next one.
const TEMP_NAME = /^\.(.+)\.bakeplan-(\d+)-[a-z0-9]+\.tmp$/;

function tempPath(abs: string): string {
  return join(dirname(abs), `.${basename(abs)}.bakeplan-${process.pid}-${Math.random().toString(36).slice(2, 10)}.tmp`);
}

function writeError(abs: string, e: unknown): UserError {
  const code = (e as NodeJS.ErrnoException).code;
  return new UserError(
    `${displayPath(abs)}: cannot write (${code === "EACCES" || code === "EROFS" || code === "EPERM" ? "the directory is read-only" : (code ?? String(e))})`,
    { cause: e },
  );
}

/** Writes `content` to a new temp file next to `abs` and returns its path; `abs` itself is not touched. */
function stage(abs: string, content: string): string {
  const tmp = tempPath(abs);
  try {
    writeFileSync(tmp, content, { flag: "wx" });
    return tmp;
  } catch (e) {
    rmSync(tmp, { force: true });
    throw writeError(abs, e);
  }
}

/** Writes `abs` by renaming a complete temp file over it: readers see the old file or the new one, never a part. */
export function atomicWrite(abs: string, content: string): void {
  const tmp = stage(abs, content);
  try {
    renameSync(tmp, abs);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw writeError(abs, e);
  }
}

/**
 * Test hook: called before each file is staged (written to its temp file) and before each file is
 * committed (renamed into place, or the bake file taken away); throwing simulates a crash there.
 */
export type BeforeWrite = (abs: string, phase: "stage" | "commit") => void;

export const JOURNAL_NAME = ".bakeplan-journal.json";

/**
 * The commit record of a plan whose Dockerfiles change: every staged temp file and where it goes.
 * Paths are relative to the output directory, so a moved checkout can still be rolled forward.
 */
interface Journal {
  bakeplanJournal: 1;
  renames: { tmp: string; final: string }[];
  remove: string[];
  bake: { tmp: string; final: string };
}

function journalPath(outDir: string): string {
  return join(outDir, JOURNAL_NAME);
}

/** A plan interrupted between its commit point and its end (or one being written right now), or undefined. */
export function interruptedPlan(plan: Plan, projectDir: string): string | undefined {
  const path = journalPath(outDirOf(plan, projectDir));
  return existsSync(path) ? path : undefined;
}

function readJournal(outDir: string): Journal | undefined {
  const path = journalPath(outDir);
  const text = readIfExists(path);
  if (text === undefined) return undefined;
  let j: Journal;
  try {
    j = JSON.parse(text) as Journal;
  } catch {
    throw new UserError(
      `${displayPath(path)}: unreadable journal of an interrupted plan; check ${displayPath(outDir)}/ with git, then delete it`,
    );
  }
  // Only ever rename bakeplan's own temp files onto their siblings, and remove Dockerfiles in outDir.
  const ok = (p: { tmp: string; final: string }) => {
    const tmp = resolve(outDir, p.tmp);
    const final = resolve(outDir, p.final);
    return dirname(tmp) === dirname(final) && TEMP_NAME.exec(basename(tmp))?.[1] === basename(final);
  };
  const inside = (rel: string) => dirname(resolve(outDir, rel)) === resolve(outDir) && rel.endsWith(".Dockerfile");
  if (
    j?.bakeplanJournal !== 1 ||
    !Array.isArray(j.renames) ||
    !Array.isArray(j.remove) ||
    !j.bake ||
    !j.renames.every((r) => ok(r) && inside(r.final)) ||
    !j.remove.every(inside) ||
    !ok(j.bake)
  )
    throw new UserError(
      `${displayPath(path)}: not a journal bakeplan wrote; check ${displayPath(outDir)}/ with git, then delete it`,
    );
  return j;
}

/**
 * Rolls a journal forward; safe to repeat after a crash at any point. The old bake file goes first,
 * so until the new one is renamed in no bake file points into a half-replaced set of Dockerfiles.
 */
function applyJournal(outDir: string, j: Journal, beforeWrite?: BeforeWrite): string[] {
  const abs = (rel: string) => resolve(outDir, rel);
  const removed: string[] = [];
  const bakeTmp = abs(j.bake.tmp);
  const bakeFinal = abs(j.bake.final);
  try {
    if (existsSync(bakeTmp)) {
      beforeWrite?.(bakeFinal, "commit");
      rmSync(bakeFinal, { force: true });
    }
    for (const r of j.renames) {
      if (!existsSync(abs(r.tmp))) continue;
      beforeWrite?.(abs(r.final), "commit");
      renameSync(abs(r.tmp), abs(r.final));
    }
    for (const rel of j.remove) {
      if (!existsSync(abs(rel))) continue;
      beforeWrite?.(abs(rel), "commit");
      unlinkSync(abs(rel));
      removed.push(abs(rel));
    }
    if (existsSync(bakeTmp)) {
      beforeWrite?.(bakeFinal, "commit");
      renameSync(bakeTmp, bakeFinal);
    }
    unlinkSync(journalPath(outDir));
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      `${displayPath(outDir)}: plan interrupted while replacing files (${code ?? (e instanceof Error ? e.message : String(e))}); ${JOURNAL_NAME} records the rest: run \`bakeplan plan\` again to finish it`,
      { cause: e },
    );
  }
  return removed;
}

/** Under the lock: finishes an interrupted plan and removes temp files of writers that died before their commit point. */
function recover(outDir: string, bakeFile: string): void {
  const j = readJournal(outDir);
  if (j) applyJournal(outDir, j);
  for (const dir of new Set([outDir, dirname(bakeFile)])) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const m = TEMP_NAME.exec(name);
      if (m && !isAlive(Number(m[2]))) rmSync(join(dir, name), { force: true });
    }
  }
}

interface Changes {
  changed: Output[];
  stale: string[];
  summary: WriteSummary;
}

/** `seen` carries what an earlier pass of this writer compared: a file with the same stamp since is not read again. */
function changes(
  all: Output[],
  outDir: string,
  bakeFile: string,
  partial: boolean,
  seen?: Map<string, { stamp: string | undefined; same: boolean }>,
): Changes {
  const summary: WriteSummary = { written: [], unchanged: [], removed: [], foreign: [] };
  const changed = all.filter((o) => {
    const stamp = fileStamp(o.abs);
    const before = seen?.get(o.abs);
    const same = before !== undefined && before.stamp === stamp ? before.same : readIfExists(o.abs) === o.content;
    seen?.set(o.abs, { stamp, same });
    (same ? summary.unchanged : summary.written).push(o.abs);
    return !same;
  });
  const found = staleFiles(outDir, new Set(all.map((o) => o.abs)));
  summary.foreign = found.foreign.filter((f) => f !== bakeFile);
  // A plan of some targets (--only) does not know the other targets' files: it removes nothing.
  return { changed, stale: partial ? [] : found.stale, summary };
}

/**
 * Writes the plan so that a crash at any point leaves either the old files or the new ones behind
 * the bake file, never a mix: every new file is staged as a temp file, a journal naming them is
 * written (the commit point), the old bake file is taken away, the Dockerfiles are renamed into
 * place and stale ones removed, the new bake file goes in last, and the journal is deleted. The next
 * writer rolls a leftover journal forward. Unchanged files are not touched; nothing is written
 * when nothing changed.
 */
export function writePlan(plan: Plan, projectDir: string, bakeFile: string, beforeWrite?: BeforeWrite): WriteSummary {
  checkOutputPath(bakeFile, projectDir, "file");
  const outDir = outDirOf(plan, projectDir);
  checkOutputPath(outDir, projectDir, "directory");
  const all = outputs(plan, projectDir, bakeFile);
  const seen = new Map<string, { stamp: string | undefined; same: boolean }>();
  let c = changes(all, outDir, bakeFile, plan.partial, seen);
  if (c.changed.length === 0 && c.stale.length === 0 && !existsSync(journalPath(outDir))) return c.summary;
  readJournal(outDir); // refuse a journal bakeplan did not write before taking the lock (which writes)

  const lock = acquireLock(outDir);
  try {
    recover(outDir, bakeFile);
    // Another writer may have finished the same plan while this one waited for the lock.
    c = changes(all, outDir, bakeFile, plan.partial, seen);
    const dockerfiles = c.changed.filter((o) => o.abs !== bakeFile);
    if (dockerfiles.length === 0 && c.stale.length === 0) {
      // Only the bake file changed: one atomic rename, no journal.
      for (const o of c.changed) {
        beforeWrite?.(o.abs, "stage");
        atomicWrite(o.abs, o.content);
      }
      return c.summary;
    }
    c.summary.removed = commitJournaled(
      outDir,
      dockerfiles,
      c.stale,
      { abs: bakeFile, content: plan.bakeJson },
      beforeWrite,
    );
    if (!c.summary.written.includes(bakeFile)) {
      c.summary.unchanged = c.summary.unchanged.filter((f) => f !== bakeFile);
      c.summary.written.push(bakeFile);
    }
    return c.summary;
  } finally {
    lock.release();
  }
}

/**
 * Stages the Dockerfiles and the bake file, writes the journal (the commit point) and rolls it
 * forward; returns the stale files removed. A failure before the commit point leaves no temp file.
 */
function commitJournaled(
  outDir: string,
  dockerfiles: readonly Output[],
  stale: readonly string[],
  bake: Output,
  beforeWrite?: BeforeWrite,
): string[] {
  const staged = stageDockerfiles(dockerfiles, beforeWrite);
  let bakeTmp: string;
  try {
    // The bake file is replaced even when its text is the same: it is away while Dockerfiles change.
    beforeWrite?.(bake.abs, "stage");
    bakeTmp = stage(bake.abs, bake.content);
  } catch (e) {
    for (const s of staged) rmSync(s.tmp, { force: true });
    throw e;
  }
  const rel = (p: string) => relative(outDir, p);
  const journal: Journal = {
    bakeplanJournal: 1,
    renames: staged.map((s) => ({ tmp: rel(s.tmp), final: rel(s.final) })),
    remove: stale.map(rel),
    bake: { tmp: rel(bakeTmp), final: rel(bake.abs) },
  };
  try {
    atomicWrite(journalPath(outDir), `${JSON.stringify(journal, null, 2)}\n`);
  } catch (e) {
    for (const s of [...staged, { tmp: bakeTmp }]) rmSync(s.tmp, { force: true });
    throw e;
  }
  return applyJournal(outDir, journal, beforeWrite);
}

/** Each Dockerfile written to a temp file next to it; on a failure the ones staged so far are removed. */
function stageDockerfiles(dockerfiles: readonly Output[], beforeWrite?: BeforeWrite): { tmp: string; final: string }[] {
  const staged: { tmp: string; final: string }[] = [];
  try {
    for (const o of dockerfiles) {
      beforeWrite?.(o.abs, "stage");
      mkdirSync(dirname(o.abs), { recursive: true });
      staged.push({ tmp: stage(o.abs, o.content), final: o.abs });
    }
  } catch (e) {
    for (const s of staged) rmSync(s.tmp, { force: true });
    throw e;
  }
  return staged;
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
      if (code === "EACCES" || code === "EROFS" || code === "EPERM")
        throw new UserError(`${displayPath(outDir)}: cannot write (the directory is read-only)`);
      if (code !== "EEXIST") throw new UserError(`${displayPath(lockPath)}: cannot create lock (${code ?? String(e)})`);
      const holder = Number.parseInt(readIfExists(lockPath) ?? "", 10);
      if (!Number.isNaN(holder) && !isAlive(holder)) {
        rmSync(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new UserError(
          `${displayPath(lockPath)}: another bakeplan (pid ${holder}) is writing this plan; waited ${LOCK_WAIT_MS / 1000}s`,
        );
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

// `diff` (19 modules) is only needed by `check`: loaded on first use, not on every plan.
let diffModule: typeof Diff | undefined;
function createTwoFilesPatch(
  oldFileName: string,
  newFileName: string,
  oldStr: string,
  newStr: string,
  oldHeader: undefined,
  newHeader: undefined,
  options: { context: number },
): string {
  // A plain require(), as for liquidjs (src/render/liquidjs.ts): dist/diff.cjs in the bundle.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy and synchronous
  diffModule ??= require("diff") as typeof Diff;
  return diffModule.createTwoFilesPatch(oldFileName, newFileName, oldStr, newStr, oldHeader, newHeader, options);
}

/** What `check` reports: a unified diff of every file that differs from the plan, or "" when none. */
export function diffPlan(plan: Plan, projectDir: string, bakeFile: string): string {
  const all = outputs(plan, projectDir, bakeFile);
  const patches: string[] = [];
  for (const o of all) {
    const current = readIfExists(o.abs);
    if (current === o.content) continue;
    const name = relative(projectDir, o.abs).split(sep).join("/");
    patches.push(
      createTwoFilesPatch(
        current === undefined ? "/dev/null" : `a/${name}`,
        `b/${name}`,
        current ?? "",
        o.content,
        undefined,
        undefined,
        { context: 3 },
      ),
    );
  }
  const stale = plan.partial ? [] : staleFiles(outDirOf(plan, projectDir), new Set(all.map((o) => o.abs))).stale;
  for (const abs of stale) {
    const name = relative(projectDir, abs).split(sep).join("/");
    patches.push(
      createTwoFilesPatch(`a/${name}`, "/dev/null", readFileSync(abs, "utf8"), "", undefined, undefined, {
        context: 3,
      }),
    );
  }
  return patches.join("");
}

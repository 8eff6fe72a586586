// What the last successful `bakeplan plan` of a context file read, wrote and printed, so that the
// next one with the same inputs can say "nothing changed" without loading the YAML, schema and
// liquid modules, rendering or comparing Dockerfiles.
//
// Kept outside the project (XDG cache dir; BAKEPLAN_CACHE_DIR to move it, BAKEPLAN_NO_CACHE=1 to
// turn it off) so a checkout gains no file. A state is used only when all of this is unchanged:
//   - bakeplan itself (the files of its bundle, and Node), the command line,
//     the working directory and the environment variables a plan reads;
//   - context.yaml by device, inode, mode, size, mtime and ctime, taken before the plan read it;
//   - bakeplan.lock.json next to it the same way, or its absence (a locked plan pins from it);
//   - every file and directory under the template directory, *.liquid by content (the digest of
//     the text that was rendered, so a template edited during the plan is seen);
//   - every output (the Dockerfiles and the bake file) by device, inode, mode, size, mtime and
//     ctime, and the listing of the output directory (a foreign, stale, temp, lock or journal
//     file is seen).
// Two writes within one tick of the filesystem clock can leave the same stamp: a config stamped
// within a few ticks of its last change is not trusted (nothing is saved), and an output written
// that close to the save is also checked by content.
// Anything else (a missing or unreadable state, any difference) runs the full plan. Templates
// that use the `date` filter make output depend on the clock: such plans are never skipped.
// Only node: built-ins are imported here (and io/ modules, errors.ts and images/lock-name.ts, which import only them),
// so the up-to-date path stays cheap to load.

import { createHash } from "node:crypto";
import {
  accessSync,
  constants,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "../errors.js";
import { LOCK_FILE } from "../images/lock-name.js";
import { fileStamp } from "./stamp.js";
import { walkTemplateDir } from "./template-dir.js";

const FORMAT = 2;
const KEEP_STATES = 256;

interface SavedState {
  bakeplanPlanState: typeof FORMAT;
  key: string;
  savedAt: number;
  config: { path: string; stamp: string };
  /** The image lock's stamp, null when there is none. */
  lock: { path: string; stamp: string | null };
  templates: { dir: string; entries: [string, string][] };
  outDir: { path: string; names: string[] };
  /** [path, stamp, sha1 when written within the racy window before savedAt]. */
  outputs: [string, string, string?][];
  printed: Printed;
}

/** What the plan printed, to print again. */
export interface Printed {
  /** stderr before the summary (warnings). */
  warnings: string;
  /** stderr after the summary (notes on foreign files). */
  notes: string;
  targets: number;
  dockerfiles: number;
  /** The bake file as the summary names it. */
  bakeFile: string;
}

/** What a full plan gives to be saved. */
export interface PlanFacts {
  templatesDir: string;
  /** The template texts that were rendered, by name relative to templatesDir. */
  templates: ReadonlyMap<string, string>;
  outDir: string;
  /**
   * Every Dockerfile and the bake file: absolute path, content, and the stamp the writer took (under
   * its lock for what it wrote, before comparing for the rest), never one taken later: a file
   * another writer changed in between must not be recorded as this plan's.
   */
  outputs: { abs: string; content: () => string; stamp: string | undefined }[];
  printed: Printed;
}

const sha1 = (text: string | Buffer) => createHash("sha1").update(text).digest("base64");

/** How long after a change a second change can still leave the same stamp: a few kernel clock ticks, or 2 s where timestamps are whole seconds (FAT, some network filesystems). */
function racyWindowMs(mtimeNs: bigint): number {
  return mtimeNs % 1_000_000_000n === 0n ? 2000 : 100;
}

function isRacy(path: string, now: number, stamp?: string): boolean {
  // A stamp is dev:ino:mode:size:mtimeNs:ctimeNs (stamp.ts).
  const mtimeNs = stamp !== undefined ? BigInt(stamp.split(":")[4]!) : statSync(path, { bigint: true }).mtimeNs;
  return Number(mtimeNs / 1_000_000n) > now - racyWindowMs(mtimeNs);
}

/**
 * Where plan states are kept: a directory, undefined when they are turned off
 * (BAKEPLAN_NO_CACHE), or why there is none. BAKEPLAN_CACHE_DIR first, then XDG_CACHE_HOME when it
 * is absolute and its parent exists (the XDG base-directory spec ignores a relative one), then a
 * HOME that is an existing directory. bakeplan never creates a home directory, nor falls back to
 * the passwd entry's home, which may not be this job's to write.
 */
export function planStateWhere(): string | undefined | { missing: string } {
  if (process.env.BAKEPLAN_NO_CACHE) return undefined;
  if (process.env.BAKEPLAN_CACHE_DIR) return resolve(process.env.BAKEPLAN_CACHE_DIR);
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg) && isDirectory(dirname(xdg))) return join(xdg, "bakeplan");
  const home = process.env.HOME;
  if (home && isAbsolute(home) && isDirectory(home)) return join(home, ".cache", "bakeplan");
  const why = [
    home === undefined
      ? "HOME is not set"
      : home === ""
        ? "HOME is empty"
        : `HOME (${shown(home)}) is ${isAbsolute(home) ? "not a directory" : "not an absolute path"}`,
  ];
  if (xdg)
    why.push(
      `XDG_CACHE_HOME (${shown(xdg)}) ${isAbsolute(xdg) ? "is in a directory that does not exist" : "is not an absolute path"}`,
    );
  return { missing: `${why.join(" and ")}, and BAKEPLAN_CACHE_DIR is not set` };
}

/** The plan-state directory when there is one, else undefined (turned off, or none can be determined). */
export function planStateDir(): string | undefined {
  const where = planStateWhere();
  return typeof where === "string" ? where : undefined;
}

const WAYS_OUT =
  "set HOME to a home directory, set BAKEPLAN_CACHE_DIR to a directory bakeplan may write, or set BAKEPLAN_NO_CACHE=1 to plan without the state";

/**
 * The plan-state directory a plan will use, checked before anything is read or written: undefined
 * when the state is turned off; a UserError when there is none (no usable HOME, XDG_CACHE_HOME or
 * BAKEPLAN_CACHE_DIR) or it cannot be written, rather than planning in full every time unseen.
 */
export function usablePlanStateDir(): string | undefined {
  const where = planStateWhere();
  if (where === undefined) return undefined;
  if (typeof where !== "string")
    throw new UserError(`no directory for the up-to-date plan state: ${where.missing}; ${WAYS_OUT}`);
  // The deepest part that exists must be a directory this process may write (and enter).
  for (let dir = join(where, "plans"); ; dir = dirname(dir)) {
    let st;
    try {
      st = statSync(dir);
    } catch {
      if (dirname(dir) === dir) break;
      continue;
    }
    const problem = !st.isDirectory()
      ? `${shown(dir)} is not a directory`
      : !isWritable(dir)
        ? `${shown(dir)} is not writable by this user`
        : undefined;
    if (problem)
      throw new UserError(`the up-to-date plan state cannot be kept in ${shown(where)}: ${problem}; ${WAYS_OUT}`);
    break;
  }
  return where;
}

function isWritable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A path as a message shows it: quoted when it holds a line break or control character, so the message stays one line. */
function shown(path: string): string {
  // eslint-disable-next-line no-control-regex -- the point
  return /[\x00-\x1f\x7f]/.test(path) ? JSON.stringify(path) : path;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * bakeplan's own code, by stamp: every file of the bundle (dist/, flat, libraries included), or,
 * run from source (vitest), src/ and each library's package.json in the first node_modules up
 * from it (where Node finds it: reinstalling or upgrading one replaces it).
 */
function toolIdentity(): string[] {
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith(".ts");
  const root = fromSource ? dirname(dirname(here)) : dirname(here);
  const parts: string[] = [process.version, process.execPath];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.[cm]?[jt]s$/.test(entry.name)) parts.push(`${relative(root, full)} ${fileStamp(full)}`);
    }
  };
  walk(root);
  if (!fromSource) return parts;
  for (const dep of ["liquidjs", "yaml", "zod", "commander"]) {
    let found = "-";
    for (let dir = root; ; dir = dirname(dir)) {
      const st = fileStamp(join(dir, "node_modules", dep, "package.json"));
      if (st !== undefined) {
        found = `${join(dir, "node_modules", dep)} ${st}`;
        break;
      }
      if (dirname(dir) === dir) break;
    }
    parts.push(`${dep} ${found}`);
  }
  return parts;
}

/**
 * Every entry under the template directory, with the digest of each *.liquid file: read from
 * disk, or taken from the texts that were rendered.
 */
function templateEntries(dir: string, rendered?: ReadonlyMap<string, string>): [string, string][] {
  const entries = walkTemplateDir(dir);
  if (!entries) throw new Error(`${dir}: no template directory`);
  return entries.map((entry): [string, string] => {
    if (entry.kind === "directory") return [`${entry.rel}/`, entry.real];
    // Any other kind fails the plan, so it is never in a saved state.
    if (entry.kind !== "file") return [entry.rel, entry.kind];
    if (!entry.rel.endsWith(".liquid")) return [entry.rel, ""];
    if (!rendered) return [entry.rel, sha1(readFileSync(entry.real))];
    const text = rendered.get(entry.rel);
    return [entry.rel, text === undefined ? "(not rendered)" : sha1(text)];
  });
}

export class PlanState {
  private constructor(
    private readonly file: string,
    private readonly key: string,
    private readonly configPath: string,
    private readonly configStamp: string,
    private readonly configRacy: boolean,
    private readonly lockPath: string,
    private readonly lockStamp: string | null,
  ) {}

  /**
   * The state slot of this command line (before anything is read), or undefined when the state is
   * off or this config file has none; throws a UserError when the state is on but has no directory
   * it can use (usablePlanStateDir).
   */
  static open(configPath: string, bakeFile: string, options: unknown): PlanState | undefined {
    const dir = usablePlanStateDir();
    if (!dir) return undefined;
    try {
      const config = resolve(configPath);
      const configStamp = fileStamp(config);
      if (configStamp === undefined) return undefined;
      const env = ["LANG", "LC_ALL", "LC_TIME", "TZ", "BAKEPLAN_MAX_INPUT_BYTES"].map((k) => [
        k,
        process.env[k] ?? null,
      ]);
      const key = sha1(
        JSON.stringify({ FORMAT, cwd: process.cwd(), config, bakeFile, options, env, tool: toolIdentity() }),
      );
      const slot = createHash("sha256").update(`${config}\0${bakeFile}`).digest("hex").slice(0, 40);
      const lock = join(dirname(config), LOCK_FILE);
      const lockStamp = fileStamp(lock) ?? null;
      const racy = isRacy(config, Date.now()) || (lockStamp !== null && isRacy(lock, Date.now(), lockStamp));
      return new PlanState(join(dir, "plans", `${slot}.json`), key, config, configStamp, racy, lock, lockStamp);
    } catch {
      return undefined;
    }
  }

  /** What to print when nothing changed since the saved plan; undefined when the full plan must run. */
  upToDate(): (Printed & { outputs: number }) | undefined {
    try {
      const s = JSON.parse(readFileSync(this.file, "utf8")) as SavedState;
      // Cheapest first, and no file is read before every stamp matched (a full plan reads them again).
      if (
        s.bakeplanPlanState !== FORMAT ||
        s.key !== this.key ||
        s.config.path !== this.configPath ||
        s.config.stamp !== this.configStamp ||
        s.lock?.path !== this.lockPath ||
        s.lock.stamp !== (fileStamp(this.lockPath) ?? null)
      )
        return undefined;
      if (JSON.stringify(readdirSync(s.outDir.path).sort()) !== JSON.stringify(s.outDir.names)) return undefined;
      for (const [path, st] of s.outputs) if (fileStamp(path) !== st) return undefined;
      if (JSON.stringify(templateEntries(s.templates.dir)) !== JSON.stringify(s.templates.entries)) return undefined;
      let checkedByContent = false;
      for (const [path, , digest] of s.outputs) {
        if (digest === undefined) continue;
        if (sha1(readFileSync(path)) !== digest) return undefined;
        checkedByContent = true;
      }
      // Saved again: outputs old enough by now are trusted by their stamp next time.
      if (checkedByContent) {
        const now = Date.now();
        this.save({
          ...s,
          savedAt: now,
          outputs: s.outputs.map(([p, st, d]) => (d !== undefined && isRacy(p, now) ? [p, st, d] : [p, st])),
        });
      }
      return { ...s.printed, outputs: s.outputs.length };
    } catch {
      return undefined;
    }
  }

  /** Saves what a successful full plan read, wrote and printed. Never fails the plan. */
  record(facts: PlanFacts): void {
    try {
      // The config and the lock must be the ones that were read: stamped before the plan, not within a clock tick of a change.
      if (
        this.configRacy ||
        fileStamp(this.configPath) !== this.configStamp ||
        (fileStamp(this.lockPath) ?? null) !== this.lockStamp
      )
        return this.forget();
      // Output that depends on the clock is never "unchanged".
      if ([...facts.templates.values()].some((t) => /\|\s*date\b/.test(t))) return this.forget();
      const now = Date.now();
      const outputs: [string, string, string?][] = [];
      for (const o of facts.outputs) {
        const st = o.stamp;
        if (st === undefined) return this.forget();
        outputs.push(isRacy(o.abs, now, st) ? [o.abs, st, sha1(o.content())] : [o.abs, st]);
      }
      const names = readdirSync(facts.outDir).sort();
      // Another writer's journal, lock or temp file: `check` would not agree with an "up to date" later.
      if (names.some((n) => n.startsWith(".bakeplan") || n.endsWith(".tmp"))) return this.forget();
      this.save({
        bakeplanPlanState: FORMAT,
        key: this.key,
        savedAt: now,
        config: { path: this.configPath, stamp: this.configStamp },
        lock: { path: this.lockPath, stamp: this.lockStamp },
        templates: { dir: facts.templatesDir, entries: templateEntries(facts.templatesDir, facts.templates) },
        outDir: { path: facts.outDir, names },
        outputs,
        printed: facts.printed,
      });
    } catch {
      this.forget();
    }
  }

  private forget(): void {
    try {
      rmSync(this.file, { force: true });
    } catch {
      // nothing to forget
    }
  }

  private save(state: SavedState): void {
    const dir = dirname(this.file);
    mkdirSync(dir, { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(state));
    renameSync(tmp, this.file);
    prune(dir);
  }
}

/** Keeps the newest states (one per context file and bake file) when there are more than KEEP_STATES. */
function prune(dir: string): void {
  const names = readdirSync(dir).filter((n) => n.endsWith(".json"));
  if (names.length <= KEEP_STATES) return;
  const byAge = names.map((n) => ({ n, t: statSync(join(dir, n)).mtimeMs })).sort((a, b) => a.t - b.t);
  for (const { n } of byAge.slice(0, names.length - KEEP_STATES / 2)) rmSync(join(dir, n), { force: true });
}

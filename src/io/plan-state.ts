// What the last successful `bakeplan plan` of a context file read, wrote and printed, so that the
// next one with the same inputs can say "nothing changed" without loading the YAML, schema and
// liquid modules, rendering or comparing Dockerfiles.
//
// Kept outside the project (XDG cache dir; BAKEPLAN_CACHE_DIR to move it, BAKEPLAN_NO_CACHE=1 to
// turn it off) so a checkout gains no file. A state is used only when all of this is unchanged:
//   - bakeplan itself (the files of its bundle, and Node), the command line,
//     the working directory and the environment variables a plan reads;
//   - context.yaml by device, inode, mode, size, mtime and ctime, taken before the plan read it;
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
// Only node: built-ins are imported here (and io/ modules that import only them), so the
// up-to-date path stays cheap to load.

import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fileStamp } from "./stamp.js";
import { walkTemplateDir } from "./template-dir.js";

const FORMAT = 1;
const KEEP_STATES = 256;

interface SavedState {
  bakeplanPlanState: typeof FORMAT;
  key: string;
  savedAt: number;
  config: { path: string; stamp: string };
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

/** Where plan states are kept, or undefined when they are not (BAKEPLAN_NO_CACHE, no home directory). */
export function planStateDir(): string | undefined {
  if (process.env.BAKEPLAN_NO_CACHE) return undefined;
  if (process.env.BAKEPLAN_CACHE_DIR) return resolve(process.env.BAKEPLAN_CACHE_DIR);
  // Kept only below a home (or XDG_CACHE_HOME's parent) that exists: a HOME that is unset, empty or
  // gone (a CI container's user without one) turns the state off; bakeplan never creates a home
  // directory, nor falls back to the passwd entry's home, which may not be this job's to write.
  const xdg = process.env.XDG_CACHE_HOME;
  if (xdg) return isAbsolute(xdg) && isDirectory(dirname(xdg)) ? join(xdg, "bakeplan") : undefined;
  const home = process.env.HOME;
  return home && isAbsolute(home) && isDirectory(home) ? join(home, ".cache", "bakeplan") : undefined;
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
  ) {}

  /** The state slot of this command line (before anything is read), or undefined when caching is off or unavailable. */
  static open(configPath: string, bakeFile: string, options: unknown): PlanState | undefined {
    try {
      const dir = planStateDir();
      if (!dir) return undefined;
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
      return new PlanState(join(dir, "plans", `${slot}.json`), key, config, configStamp, isRacy(config, Date.now()));
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
        s.config.stamp !== this.configStamp
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
      // The config must be the one that was read: stamped before the plan, not within a clock tick of a change.
      if (this.configRacy || fileStamp(this.configPath) !== this.configStamp) return this.forget();
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

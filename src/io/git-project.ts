// A project as a revision has it: context.yaml, templates, ignore files and the pinned bakeplan
// version read from git objects (ls-tree + cat-file --batch), never from a checkout.

import { existsSync, readFileSync } from "node:fs";
import { join, posix, relative, resolve, sep } from "node:path";
import { loadContext, type LoadResult } from "../config/load.js";
import { ConfigError, UserError } from "../errors.js";
import { LOCK_FILE, parseLock, type Lock } from "../images/lock.js";
import type { TemplateFiles } from "../render/templates.js";
import { listTree, readBlobs, type Repository, type TreeEntry } from "./git.js";
import { decodeInput } from "./read-input.js";

export interface RevisionProject extends LoadResult {
  /** context.yaml as messages name it: `origin/main:container/context.yaml`. */
  configLabel: string;
  templates: TemplateFiles;
}

/** Why a revision cannot be planned (no context.yaml yet, or an invalid one). */
export interface NotPlannable {
  problem: string;
}

/** The path from the top of the repository, with `/`. */
export function repoPath(repo: Repository, abs: string): string {
  const rel = relative(repo.top, abs);
  return rel.split(sep).join("/");
}

/**
 * The files of one commit that a run reads, listed and read together: `load` takes every path the
 * run will ask for (files or directories, from the top) in one `git ls-tree -r` and one
 * `git cat-file --batch`, where asking for each file when it is needed started two git processes
 * per question (13 in all for `affected`). A path no `load` covered is listed and read when asked.
 */
export class FilesAt {
  private readonly loaded: string[] = [];
  private readonly entries = new Map<string, TreeEntry>();
  private readonly blobs = new Map<string, Buffer>();

  constructor(
    readonly repo: Repository,
    readonly commit: string,
  ) {}

  /** Lists these paths (each a file or a directory, "" the whole tree) and reads their blobs. */
  async load(paths: readonly string[]): Promise<void> {
    const wanted = [...new Set(paths)].filter((p) => !this.covers(p));
    if (wanted.length === 0) return;
    const entries = await listTree(this.repo, this.commit, wanted);
    for (const e of entries) this.entries.set(e.path, e);
    this.loaded.push(...wanted);
    const blobs = await readBlobs(
      this.repo,
      entries.filter((e) => e.type === "blob" && !this.blobs.has(e.object)).map((e) => e.object),
    );
    for (const [object, content] of blobs) this.blobs.set(object, content);
  }

  /** The blob (or link) at `path`, undefined when there is none. */
  async entry(path: string): Promise<TreeEntry | undefined> {
    await this.load([path]);
    return this.entries.get(path);
  }

  /** Every entry under the directory `dir`. */
  async under(dir: string): Promise<TreeEntry[]> {
    await this.load([dir]);
    const prefix = dir === "" ? "" : `${dir}/`;
    return [...this.entries.values()].filter((e) => e.path.startsWith(prefix));
  }

  /** A blob's content ("" when it could not be read). */
  content(entry: TreeEntry): Buffer {
    return this.blobs.get(entry.object) ?? Buffer.alloc(0);
  }

  /** Whether a loaded path is `path` or a directory above it: its entries are all known. */
  private covers(path: string): boolean {
    return this.loaded.some((p) => p === "" || p === path || path.startsWith(`${p}/`));
  }
}

/** Where context.yaml at a revision says its templates are, from the top ("templates" next to it unless build.templates says otherwise). */
export function templatesPath(configPath: string, templatesDir: string): string {
  return posix.normalize(posix.join(posix.dirname(configPath), templatesDir));
}

/** context.yaml and templates at `files.commit`, or why they cannot be planned. */
export async function readRevision(
  files: FilesAt,
  label: string,
  configAbs: string,
): Promise<RevisionProject | NotPlannable> {
  const configPath = repoPath(files.repo, resolve(configAbs));
  const configLabel = `${label}:${configPath}`;
  const entry = await files.entry(configPath);
  if (!entry || entry.type !== "blob")
    return { problem: `${configLabel} does not exist (context.yaml was added after ${label})` };
  const text = files.content(entry).toString("utf8");
  let loaded: LoadResult;
  try {
    loaded = loadContext(configLabel, text);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const more = e.issues.length > 1 ? ` (and ${e.issues.length - 1} more)` : "";
    return { problem: `${configLabel} is invalid: ${e.message.split("\n")[0]}${more}` };
  }
  const dir = templatesPath(configPath, loaded.project.build.templates);
  const templates = await readTemplatesAt(files, dir);
  if ("problem" in templates) return { problem: `${label}:${dir}: ${templates.problem}` };
  return { ...loaded, configLabel, templates: templates.files };
}

/** bakeplan.lock.json next to context.yaml, from the top of the repository. */
export function lockPath(repo: Repository, configAbs: string): string {
  return posix.join(posix.dirname(repoPath(repo, resolve(configAbs))), LOCK_FILE);
}

/**
 * bakeplan.lock.json next to context.yaml at `files.commit` (what a locked plan of that revision
 * pins with), or why it cannot be used: missing, or not a lock. Read from git objects like the rest.
 */
export async function readLockAt(
  files: FilesAt,
  label: string,
  configAbs: string,
  why: string,
): Promise<{ lock: Lock } | NotPlannable> {
  const path = lockPath(files.repo, configAbs);
  const lockLabel = `${label}:${path}`;
  const entry = await files.entry(path);
  // A directory (its files are listed) or a link there is not a lock.
  if (!entry || entry.type !== "blob" || entry.mode === "120000") {
    const there = entry !== undefined || (await files.under(path)).length > 0;
    return { problem: `${lockLabel} ${there ? "is not a regular file" : "does not exist"} (${why})` };
  }
  const bytes = files.content(entry);
  try {
    return { lock: parseLock(decodeInput(bytes, lockLabel), lockLabel) };
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    // parseLock's message starts with the file: said once.
    const message = e.message.startsWith(`${lockLabel}: `) ? e.message.slice(lockLabel.length + 2) : e.message;
    return { problem: `${lockLabel} is invalid: ${message}` };
  }
}

async function readTemplatesAt(at: FilesAt, dir: string): Promise<{ files: TemplateFiles } | NotPlannable> {
  const entries = (await at.under(dir)).filter((e) => e.path.startsWith(`${dir}/`));
  if (entries.length === 0) return { problem: "template directory not found" };
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const text = (e: TreeEntry) => at.content(e).toString("utf8");
  const files = new Map<string, string>();
  for (const e of entries) {
    if (!e.path.endsWith(".liquid")) continue;
    let target: TreeEntry | undefined = e;
    // A link (mode 120000) holds its target path; follow it while it stays inside the directory.
    for (let hops = 0; target && target.mode === "120000" && hops < 8; hops++) {
      const to = posix.normalize(posix.join(posix.dirname(target.path), text(target)));
      if (!to.startsWith(`${dir}/`)) return { problem: `${e.path} is a link outside ${dir}/` };
      target = byPath.get(to);
    }
    if (!target || target.type !== "blob" || target.mode === "120000") return { problem: `${e.path}: broken link` };
    files.set(e.path.slice(dir.length + 1), text(target));
  }
  return { files };
}

/** Ignore files (paths relative to the build context) from the top of the repository. */
export function ignorePaths(contextDir: string, names: readonly string[]): string[] {
  return names.map((n) => (contextDir === "" ? n : `${contextDir}/${n}`));
}

/** Ignore files (paths relative to the build context) that exist at `files.commit`. */
export async function ignoreFilesAt(
  files: FilesAt,
  contextDir: string,
  names: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const paths = ignorePaths(contextDir, names);
  await files.load(paths);
  for (const path of paths) {
    const e = await files.entry(path);
    if (!e) continue;
    out.set(contextDir === "" ? e.path : e.path.slice(contextDir.length + 1), files.content(e).toString("utf8"));
  }
  return out;
}

/** The same ignore files in the working tree. */
export function ignoreFilesOnDisk(contextAbs: string, names: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of names) {
    const abs = join(contextAbs, n);
    if (existsSync(abs)) out.set(n, readFileSync(abs, "utf8"));
  }
  return out;
}

/** bakeplan's version in the package-lock.json nearest to the project (it, or its root package, is bakeplan). */
export function bakeplanVersionIn(lockText: string): string | undefined {
  try {
    const lock = JSON.parse(lockText) as { packages?: Record<string, { name?: string; version?: string }> };
    const dep = lock.packages?.["node_modules/bakeplan"]?.version;
    if (dep) return dep;
    const root = lock.packages?.[""];
    return root?.name === "bakeplan" ? root.version : undefined;
  } catch {
    return undefined;
  }
}

/** package-lock.json paths from the project directory up to the top (repository paths). */
export function lockCandidates(projectDir: string): string[] {
  const out: string[] = [];
  for (let d = projectDir; ; d = posix.dirname(d)) {
    out.push(d === "." || d === "" ? "package-lock.json" : `${d}/package-lock.json`);
    if (d === "." || d === "" || d === "/") break;
  }
  return out;
}

export async function bakeplanVersionAt(
  files: FilesAt,
  projectDir: string,
): Promise<{ version: string; file: string } | undefined> {
  const candidates = lockCandidates(projectDir);
  await files.load(candidates);
  for (const path of candidates) {
    const entry = await files.entry(path);
    if (!entry) continue;
    const version = bakeplanVersionIn(files.content(entry).toString("utf8"));
    return version ? { version, file: path } : undefined;
  }
  return undefined;
}

export function bakeplanVersionOnDisk(
  repo: Repository,
  projectDir: string,
): { version: string; file: string } | undefined {
  for (const path of lockCandidates(projectDir)) {
    const abs = join(repo.top, path);
    if (!existsSync(abs)) continue;
    const version = bakeplanVersionIn(readFileSync(abs, "utf8"));
    return version ? { version, file: path } : undefined;
  }
  return undefined;
}

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

/** context.yaml and templates at `commit`, or why they cannot be planned. */
export async function readRevision(
  repo: Repository,
  commit: string,
  label: string,
  configAbs: string,
): Promise<RevisionProject | NotPlannable> {
  const configPath = repoPath(repo, resolve(configAbs));
  const configLabel = `${label}:${configPath}`;
  const [entry] = await listTree(repo, commit, configPath);
  if (!entry || entry.type !== "blob")
    return { problem: `${configLabel} does not exist (context.yaml was added after ${label})` };
  const text = (await readBlobs(repo, [entry.object])).get(entry.object)?.toString("utf8") ?? "";
  let loaded: LoadResult;
  try {
    loaded = loadContext(configLabel, text);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const more = e.issues.length > 1 ? ` (and ${e.issues.length - 1} more)` : "";
    return { problem: `${configLabel} is invalid: ${e.message.split("\n")[0]}${more}` };
  }
  const dir = posix.normalize(posix.join(posix.dirname(configPath), loaded.project.build.templates));
  const templates = await readTemplatesAt(repo, commit, dir);
  if ("problem" in templates) return { problem: `${label}:${dir}: ${templates.problem}` };
  return { ...loaded, configLabel, templates: templates.files };
}

/**
 * bakeplan.lock.json next to context.yaml at `commit` (what a locked plan of that revision pins
 * with), or why it cannot be used: missing, or not a lock. Read from git objects like the rest.
 */
export async function readLockAt(
  repo: Repository,
  commit: string,
  label: string,
  configAbs: string,
  why: string,
): Promise<{ lock: Lock } | NotPlannable> {
  const path = posix.join(posix.dirname(repoPath(repo, resolve(configAbs))), LOCK_FILE);
  const lockLabel = `${label}:${path}`;
  const entries = await listTree(repo, commit, path);
  const entry = entries.find((e) => e.path === path);
  // A directory (its files are listed) or a link there is not a lock.
  if (!entry || entry.type !== "blob" || entry.mode === "120000")
    return { problem: `${lockLabel} ${entries.length > 0 ? "is not a regular file" : "does not exist"} (${why})` };
  const bytes = (await readBlobs(repo, [entry.object])).get(entry.object) ?? Buffer.alloc(0);
  try {
    return { lock: parseLock(decodeInput(bytes, lockLabel), lockLabel) };
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    // parseLock's message starts with the file: said once.
    const message = e.message.startsWith(`${lockLabel}: `) ? e.message.slice(lockLabel.length + 2) : e.message;
    return { problem: `${lockLabel} is invalid: ${message}` };
  }
}

async function readTemplatesAt(
  repo: Repository,
  commit: string,
  dir: string,
): Promise<{ files: TemplateFiles } | NotPlannable> {
  const entries = (await listTree(repo, commit, dir)).filter((e) => e.path.startsWith(`${dir}/`));
  if (entries.length === 0) return { problem: "template directory not found" };
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const blobs = await readBlobs(
    repo,
    entries.filter((e) => e.type === "blob").map((e) => e.object),
  );
  const files = new Map<string, string>();
  for (const e of entries) {
    if (!e.path.endsWith(".liquid")) continue;
    let target: TreeEntry | undefined = e;
    // A link (mode 120000) holds its target path; follow it while it stays inside the directory.
    for (let hops = 0; target && target.mode === "120000" && hops < 8; hops++) {
      const to = posix.normalize(
        posix.join(posix.dirname(target.path), blobs.get(target.object)?.toString("utf8") ?? ""),
      );
      if (!to.startsWith(`${dir}/`)) return { problem: `${e.path} is a link outside ${dir}/` };
      target = byPath.get(to);
    }
    if (!target || target.type !== "blob" || target.mode === "120000") return { problem: `${e.path}: broken link` };
    files.set(e.path.slice(dir.length + 1), blobs.get(target.object)?.toString("utf8") ?? "");
  }
  return { files };
}

/** Ignore files (paths relative to the build context) that exist at `commit`. */
export async function ignoreFilesAt(
  repo: Repository,
  commit: string,
  contextDir: string,
  names: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const paths = names.map((n) => (contextDir === "" ? n : `${contextDir}/${n}`));
  const wanted = new Set(paths);
  const entries = (await listTree(repo, commit, paths)).filter((e) => wanted.has(e.path));
  const blobs = await readBlobs(
    repo,
    entries.map((e) => e.object),
  );
  for (const e of entries)
    out.set(
      contextDir === "" ? e.path : e.path.slice(contextDir.length + 1),
      blobs.get(e.object)?.toString("utf8") ?? "",
    );
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
  repo: Repository,
  commit: string,
  projectDir: string,
): Promise<{ version: string; file: string } | undefined> {
  const candidates = lockCandidates(projectDir);
  const found = await listTree(repo, commit, candidates);
  for (const path of candidates) {
    const entry = found.find((e) => e.path === path);
    if (!entry) continue;
    const text = (await readBlobs(repo, [entry.object])).get(entry.object)?.toString("utf8") ?? "";
    const version = bakeplanVersionIn(text);
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

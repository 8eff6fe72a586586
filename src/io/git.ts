// Reading a repository without changing it: no checkout, no worktree, no index refresh written
// (GIT_OPTIONAL_LOCKS=0). `affected` plans BASE from these objects in memory.

import { execa } from "execa";
import { UserError } from "../errors.js";

export interface GitResult {
  exitCode: number;
  stdout: Buffer;
  stderr: string;
}

/** `git <argv>` in `cwd`, output as bytes (file contents are not always text). */
export async function git(argv: string[], opts: { cwd: string; input?: string }): Promise<GitResult> {
  const res = await execa("git", argv, {
    cwd: opts.cwd,
    reject: false,
    encoding: "buffer",
    input: opts.input,
    env: { GIT_OPTIONAL_LOCKS: "0", GIT_TERMINAL_PROMPT: "0" },
    stripFinalNewline: false,
    maxBuffer: 1024 * 1024 * 1024,
  });
  if (res.exitCode === undefined)
    throw new UserError(`git could not be started (${res.message}); affected needs git on PATH`);
  return { exitCode: res.exitCode, stdout: Buffer.from(res.stdout), stderr: Buffer.from(res.stderr).toString("utf8") };
}

async function gitText(argv: string[], cwd: string): Promise<string | undefined> {
  const res = await git(argv, { cwd });
  return res.exitCode === 0 ? res.stdout.toString("utf8").trim() : undefined;
}

export interface Repository {
  /** The top of the working tree. */
  top: string;
  shallow: boolean;
}

export async function openRepository(dir: string): Promise<Repository> {
  const res = await git(["rev-parse", "--show-toplevel", "--is-shallow-repository"], { cwd: dir });
  if (res.exitCode !== 0)
    throw new UserError(
      `${dir}: not inside a git repository (${res.stderr.trim().split("\n").pop() ?? ""}); affected compares two git revisions`,
    );
  const [top = "", shallow = ""] = res.stdout.toString("utf8").trim().split("\n");
  return { top, shallow: shallow.trim() === "true" };
}

/**
 * The commits these refs name (undefined for one that names none), in one `git cat-file
 * --batch-check`, which resolves each name as rev-parse does: one process instead of one per ref.
 */
export async function resolveCommits(repo: Repository, refs: readonly string[]): Promise<(string | undefined)[]> {
  // A name on the batch's input is one line: one that starts with "-" or holds a line break is no ref.
  const asked = refs.map((r) => (r.startsWith("-") || /[\n\r]/.test(r) ? undefined : r));
  const names = asked.filter((r): r is string => r !== undefined);
  if (names.length === 0) return asked.map(() => undefined);
  const res = await git(["cat-file", "--batch-check"], {
    cwd: repo.top,
    input: names.map((r) => `${r}^{commit}\n`).join(""),
  });
  if (res.exitCode !== 0) throw new UserError(`git cat-file --batch-check failed: ${res.stderr.trim()}`);
  const lines = res.stdout.toString("utf8").split("\n");
  let n = 0;
  return asked.map((r) => {
    if (r === undefined) return undefined;
    const [object = "", type = ""] = (lines[n++] ?? "").split(" ");
    return type === "commit" && /^[0-9a-f]{40,64}$/.test(object) ? object : undefined;
  });
}

export async function mergeBase(repo: Repository, a: string, b: string): Promise<string | undefined> {
  return gitText(["merge-base", a, b], repo.top);
}

export interface TreeEntry {
  mode: string;
  type: string;
  object: string;
  /** Path from the top of the repository. */
  path: string;
}

/** Every blob (and submodule) under `paths` (from the top) at `commit`, in one ls-tree; [] when there is none. */
export async function listTree(
  repo: Repository,
  commit: string,
  paths: string | readonly string[],
): Promise<TreeEntry[]> {
  const specs = (typeof paths === "string" ? [paths] : paths).map((p) => (p === "" ? "." : p));
  if (specs.length === 0) return [];
  const res = await git(["ls-tree", "-r", "-z", "--full-tree", commit, "--", ...specs], { cwd: repo.top });
  if (res.exitCode !== 0) throw new UserError(`git ls-tree ${commit} failed: ${res.stderr.trim()}`);
  const entries: TreeEntry[] = [];
  for (const record of res.stdout.toString("utf8").split("\0")) {
    if (!record) continue;
    const tab = record.indexOf("\t");
    const [mode = "", type = "", object = ""] = record.slice(0, tab).split(" ");
    entries.push({ mode, type, object, path: record.slice(tab + 1) });
  }
  return entries;
}

/** The contents of these blobs, in one `git cat-file --batch`. */
export async function readBlobs(repo: Repository, objects: readonly string[]): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  if (objects.length === 0) return out;
  const res = await git(["cat-file", "--batch"], { cwd: repo.top, input: `${objects.join("\n")}\n` });
  if (res.exitCode !== 0) throw new UserError(`git cat-file --batch failed: ${res.stderr.trim()}`);
  const buf = res.stdout;
  let pos = 0;
  while (pos < buf.length) {
    const eol = buf.indexOf(10, pos);
    if (eol < 0) break;
    const [object = "", type = "", size = ""] = buf.subarray(pos, eol).toString("utf8").split(" ");
    pos = eol + 1;
    if (type === "missing" || size === "") continue;
    const n = Number(size);
    out.set(object, buf.subarray(pos, pos + n));
    pos += n + 1;
  }
  return out;
}

/**
 * Files that differ between `base` and `head` (a commit, or the working tree when undefined, with
 * untracked files that .gitignore does not hide), as paths from the top, under `path`.
 */
export async function changedFiles(
  repo: Repository,
  base: string,
  head: string | undefined,
  path: string,
): Promise<string[]> {
  const spec = path === "" ? "." : path;
  if (head) {
    const diff = await git(["diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", base, head, "--", spec], {
      cwd: repo.top,
    });
    if (diff.exitCode !== 0) throw new UserError(`git diff ${base} failed: ${diff.stderr.trim()}`);
    return [...new Set(splitNul(diff.stdout))].sort();
  }
  const names = await changedInWorkingTree(repo, base, spec);
  const untracked = await git(["ls-files", "-z", "--others", "--exclude-standard", "--full-name", "--", spec], {
    cwd: repo.top,
  });
  if (untracked.exitCode === 0) names.push(...splitNul(untracked.stdout));
  return [...new Set(names)].sort();
}

/**
 * Tracked files whose working-tree content differs from `base`. Porcelain `git diff` would say the
 * same, but when it meets a file whose stat data no longer matches the index (touched, or checked
 * out in the second the index was written) it rewrites .git/index, even with GIT_OPTIONAL_LOCKS=0
 * (git 2.39). The plumbing `diff-index` never writes: it lists such a file with no object id, and
 * the file's content hashed as `git add` would (`hash-object`, which writes nothing either)
 * against the one in `base` says whether it changed.
 */
async function changedInWorkingTree(repo: Repository, base: string, spec: string): Promise<string[]> {
  const raw = await git(["diff-index", "-z", "--raw", "--no-renames", base, "--", spec], { cwd: repo.top });
  if (raw.exitCode !== 0) throw new UserError(`git diff-index ${base} failed: ${raw.stderr.trim()}`);
  const names: string[] = [];
  const unsure: { name: string; was: string }[] = [];
  const fields = splitNul(raw.stdout);
  for (let i = 0; i + 1 < fields.length; i += 2) {
    // :<mode in base> <mode now> <object in base> <object now> <status>, then the path
    const [modeWas, modeNow, was, now] = fields[i]!.slice(1).split(" ");
    const name = fields[i + 1]!;
    const regular = modeWas === modeNow && (modeNow === "100644" || modeNow === "100755");
    if (regular && /^0+$/.test(now!)) unsure.push({ name, was: was! });
    else names.push(name);
  }
  for (let at = 0; at < unsure.length; at += 500) {
    const batch = unsure.slice(at, at + 500);
    const hashed = await git(["hash-object", "--", ...batch.map((f) => f.name)], { cwd: repo.top });
    if (hashed.exitCode !== 0) throw new UserError(`git hash-object failed: ${hashed.stderr.trim()}`);
    const ids = hashed.stdout.toString("utf8").split("\n");
    batch.forEach((f, n) => {
      if (ids[n] !== f.was) names.push(f.name);
    });
  }
  return names;
}

function splitNul(out: Buffer): string[] {
  return out.toString("utf8").split("\0").filter(Boolean);
}

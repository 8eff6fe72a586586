// Helpers for the hardening catalogue (test/unit/hardening-*.test.ts, test/itg/hardening-*.test.ts).
import { chmodSync, cpSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect } from "vitest";
import { REPO, runCli, testdir, type CliResult } from "./helpers.js";

/** Everything observable about one entry of a tree: kind, bytes (files), target (links), mode and mtime. */
export interface Entry {
  kind: "file" | "dir" | "link" | "special";
  mode: number;
  mtimeNs: bigint;
  content?: string;
  target?: string;
}

/**
 * Every file, directory and link under `dir` (dot files included), keyed by relative path.
 * Directory mtimes are recorded too, so a file created and removed again also shows up.
 */
export function snapshotTree(dir: string): Record<string, Entry> {
  const out: Record<string, Entry> = {};
  const walk = (rel: string) => {
    const abs = rel ? join(dir, rel) : dir;
    const st = lstatSync(abs, { bigint: true });
    const base = { mode: Number(st.mode), mtimeNs: st.mtimeNs };
    if (st.isSymbolicLink()) out[rel || "."] = { kind: "link", ...base, target: readlinkSync(abs) };
    else if (st.isDirectory()) {
      out[rel || "."] = { kind: "dir", ...base };
      for (const name of readdirSync(abs).sort()) walk(rel ? `${rel}/${name}` : name);
    } else if (!st.isFile())
      out[rel || "."] = { kind: "special", ...base }; // a pipe is never read: it would block
    else out[rel || "."] = { kind: "file", ...base, content: readFileSync(abs).toString("base64") };
  };
  walk("");
  return out;
}

/** Byte-for-byte, mtime-for-mtime equality with an earlier snapshot. */
export function expectTreeUnchanged(dir: string, before: Record<string, Entry>): void {
  expect(snapshotTree(dir)).toEqual(before);
}

/** `file:line:col` of the `nth` (0-based) occurrence of `needle` in `text` (1-based line and column). */
export function loc(text: string, needle: string, opts: { nth?: number; file?: string; offset?: number } = {}): string {
  let i = -1;
  for (let n = 0; n <= (opts.nth ?? 0); n++) {
    i = text.indexOf(needle, i + 1);
    if (i < 0) throw new Error(`loc: ${JSON.stringify(needle)} (occurrence ${n}) not in text`);
  }
  i += opts.offset ?? 0;
  const before = text.slice(0, i);
  const line = before.split("\n").length;
  const col = i - before.lastIndexOf("\n");
  return `${opts.file ?? "context.yaml"}:${line}:${col}`;
}

/** A small valid project: 2 frameworks x 2 stages, one template, publish + cache. */
export const HARD_CONTEXT = `project:
  name: demo
axes:
  framework: [vllm, sglang]
  target: [runtime, dev]
stage_axis: target
defaults:
  platforms: [linux/amd64]
  args:
    PYTHON_VERSION: "3.12"
  labels:
    org.example.team: infra
publish:
  registry: registry.example.com
  repository: demo/app
  tags: ["{branch}-{name}"]
cache:
  repository: demo/cache
`;

export const HARD_TEMPLATE = `FROM scratch AS runtime
{% arg PYTHON_VERSION %}
LABEL framework={{ framework }}
FROM runtime AS dev
`;

/** A throwaway project directory; `files` overrides or adds files (null removes one). */
export function hardProject(files: Record<string, string | null> = {}): string {
  const all: Record<string, string> = {};
  for (const [name, content] of Object.entries({
    "context.yaml": HARD_CONTEXT,
    "templates/Dockerfile.liquid": HARD_TEMPLATE,
    ...files,
  }))
    if (content !== null) all[name] = content;
  return testdir(all);
}

/** A project that has been planned once (so bake/ and docker-bake.json exist), ready for a bad input. */
export async function plannedProject(files: Record<string, string | null> = {}, args: string[] = []): Promise<string> {
  const dir = hardProject(files);
  const res = await runCli(["plan", ...args], dir);
  expect(res.stderr).toBe("");
  expect(res.code).toBe(0);
  return dir;
}

/** What YAML, zod, liquidjs or V8 say when their input goes wrong, which bakeplan must never pass on as it is. */
export const ENGINE_MESSAGES = [
  "Maximum call stack size exceeded",
  "parseAllDocuments",
  "include cycle?",
  "expected string, got",
  "collection, but expects",
];

/**
 * The contract of a refused input: the exact exit code, every location in `at` present in stderr as
 * `file:line:col: key.path` (or `file: path` for a command-line option), the message, nothing on stdout.
 */
export function expectRefused(
  res: CliResult,
  expected: { code?: number; at: string[]; message: string | RegExp },
): void {
  expect(res.code, res.stderr).toBe(expected.code ?? 1);
  for (const at of expected.at) expect(res.stderr).toContain(at);
  // Never an engine's own words: say what the user wrote and what to write instead.
  for (const raw of ENGINE_MESSAGES) expect(res.stderr).not.toContain(raw);
  if (typeof expected.message === "string") expect(res.stderr).toContain(expected.message);
  else expect(res.stderr).toMatch(expected.message);
  expect(res.stdout).toBe("");
}

/**
 * The CLI (bin/ and the bundle in dist/, which needs no node_modules) copied to a world-readable
 * temp directory, for a run as another user: the clone may live where others cannot traverse
 * (under /root, or a `mktemp -d` directory, mode 700). Removed when the test ends.
 */
export function worldReadableCli(): string {
  const dir = testdir();
  chmodSync(dir, 0o755);
  for (const part of ["bin", "dist"]) cpSync(join(REPO, part), join(dir, part), { recursive: true });
  const open = (p: string) => {
    chmodSync(p, statSync(p).isDirectory() ? 0o755 : 0o644);
    if (statSync(p).isDirectory()) for (const n of readdirSync(p)) open(join(p, n));
  };
  for (const n of readdirSync(dir)) open(join(dir, n));
  return join(dir, "bin/bakeplan.js");
}

// The walk of the template directory, shared by the reader (project-files.ts) and the up-to-date
// check (plan-state.ts). Only node: built-ins are imported, so the up-to-date path stays cheap.

import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync, type Stats } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";

/** One entry under the template directory; `rel` is its path from the directory, with `/`. */
export type TemplateDirEntry =
  | { kind: "directory"; rel: string; real: string }
  | { kind: "file"; rel: string; real: string }
  /** A named pipe, device or socket: never opened (reading a pipe would wait forever). */
  | { kind: "special"; rel: string; real: string }
  /** A link that leads out of the template directory (`real`: where to, existing or not). */
  | { kind: "outside"; rel: string; real: string }
  /** A link inside the template directory that leads nowhere. */
  | { kind: "broken"; rel: string; target: string }
  /** An entry that could not be looked at, or (`directory`) a directory that could not be listed; `rel` "" is the template directory itself. */
  | { kind: "unreadable"; rel: string; code: string; directory?: true };

/**
 * Every entry under `dir`, depth first in name order, links followed; a directory reached twice
 * (through links) is listed each time but walked once. Undefined when `dir` does not exist.
 */
export function walkTemplateDir(dir: string): TemplateDirEntry[] | undefined {
  let root: string;
  try {
    root = realpathSync(dir);
  } catch {
    return undefined;
  }
  const entries: TemplateDirEntry[] = [];
  const walked = new Set<string>([root]);
  const walk = (sub: string, realDir: string) => {
    let names: string[];
    try {
      names = readdirSync(join(dir, sub)).sort();
    } catch (e) {
      entries.push({ kind: "unreadable", rel: sub, code: errorCode(e), directory: true });
      return;
    }
    for (const name of names) {
      const rel = sub ? `${sub}/${name}` : name;
      const entry = entryOf(join(dir, rel), rel, join(realDir, name), root);
      entries.push(entry);
      if (entry.kind !== "directory" || walked.has(entry.real)) continue;
      walked.add(entry.real);
      walk(rel, entry.real);
    }
  };
  walk("", root);
  return entries;
}

/** What `full` is; `real` is its real path when it is no link (its directory's real path is known). */
function entryOf(full: string, rel: string, real: string, root: string): TemplateDirEntry {
  const inside = (path: string) => path === root || path.startsWith(root + sep);
  let st;
  try {
    st = lstatSync(full);
  } catch (e) {
    return { kind: "unreadable", rel, code: errorCode(e) };
  }
  if (!st.isSymbolicLink()) return { kind: kindOf(st), rel, real };
  let target: string;
  try {
    target = realpathSync(full);
  } catch (e) {
    try {
      target = resolve(dirname(full), readlinkSync(full));
    } catch {
      return { kind: "unreadable", rel, code: errorCode(e) };
    }
    return inside(target) ? { kind: "broken", rel, target } : { kind: "outside", rel, real: target };
  }
  if (!inside(target)) return { kind: "outside", rel, real: target };
  return { kind: kindOf(statSync(target)), rel, real: target };
}

function kindOf(st: Stats): "directory" | "file" | "special" {
  return st.isDirectory() ? "directory" : st.isFile() ? "file" : "special";
}

function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}

// The walk of the template directory, shared by the reader (project-files.ts) and the up-to-date
// check (plan-state.ts). Only node: built-ins are imported, so the up-to-date path stays cheap.

import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";

/** One entry under the template directory; `rel` is its path from the directory, with `/`. */
export type TemplateDirEntry =
  | { kind: "directory"; rel: string; real: string }
  | { kind: "file"; rel: string; real: string }
  /** A link that leads out of the template directory (`real`: where to, existing or not). */
  | { kind: "outside"; rel: string; real: string }
  /** A link inside the template directory that leads nowhere. */
  | { kind: "broken"; rel: string; target: string }
  | { kind: "unreadable"; rel: string; code: string };

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
  const inside = (real: string) => real === root || real.startsWith(root + sep);
  const entries: TemplateDirEntry[] = [];
  const walked = new Set<string>([root]);
  const walk = (sub: string, realDir: string) => {
    for (const name of readdirSync(join(dir, sub)).sort()) {
      const rel = sub ? `${sub}/${name}` : name;
      const full = join(dir, rel);
      let entry;
      try {
        entry = lstatSync(full);
      } catch (e) {
        entries.push({ kind: "unreadable", rel, code: errorCode(e) });
        continue;
      }
      let real = join(realDir, name);
      let isDirectory = entry.isDirectory();
      if (entry.isSymbolicLink()) {
        try {
          real = realpathSync(full);
        } catch (e) {
          let target: string;
          try {
            target = resolve(dirname(full), readlinkSync(full));
          } catch {
            entries.push({ kind: "unreadable", rel, code: errorCode(e) });
            continue;
          }
          entries.push(inside(target) ? { kind: "broken", rel, target } : { kind: "outside", rel, real: target });
          continue;
        }
        if (!inside(real)) {
          entries.push({ kind: "outside", rel, real });
          continue;
        }
        isDirectory = statSync(real).isDirectory();
      }
      if (!isDirectory) {
        entries.push({ kind: "file", rel, real });
        continue;
      }
      entries.push({ kind: "directory", rel, real });
      if (walked.has(real)) continue;
      walked.add(real);
      walk(rel, real);
    }
  };
  walk("", root);
  return entries;
}

function errorCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? String(e);
}

// What a test run left in its HOME (test/setup/global-setup.ts gives the run a temp HOME of its
// own, so whatever a test or a tool it runs would have put into the user's ~/.docker, ~/.cache or
// ~/.npm lands there, and the run fails naming it).
import { readdirSync } from "node:fs";
import { join } from "node:path";

/** Every file and empty directory under `home`, relative to it, sorted (at most `limit`). */
export function homeEntries(home: string, limit = 10_000): string[] {
  const seen: string[] = [];
  const walk = (rel: string) => {
    let entries;
    try {
      entries = readdirSync(join(home, rel), { withFileTypes: true });
    } catch {
      return;
    }
    if (entries.length === 0 && rel) seen.push(rel);
    for (const e of entries) {
      if (seen.length >= limit) return;
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path);
      else seen.push(path);
    }
  };
  walk("");
  return seen.sort();
}

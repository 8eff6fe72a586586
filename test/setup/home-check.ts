// What a test run may not leave behind in the user's home: nothing new under ~/.docker (docker's
// client state; tests use their own DOCKER_CONFIG), ~/.cache (bakeplan's plan state; tests use
// their own BAKEPLAN_CACHE_DIR) or ~/.npm (the pack test uses a private npm cache).
import { readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export const WATCHED = [".docker", ".cache", ".npm"];

/** Every path under the watched directories of `home`, relative to it (bounded: at most `limit`). */
export function homeEntries(home = homedir(), limit = 200_000): Set<string> {
  const seen = new Set<string>();
  const walk = (rel: string) => {
    if (seen.size >= limit) return;
    let entries;
    try {
      entries = readdirSync(join(home, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = `${rel}/${e.name}`;
      seen.add(path);
      if (e.isDirectory()) walk(path);
    }
  };
  for (const dir of WATCHED) walk(dir);
  return seen;
}

/** The paths in `after` that were not in `before`, sorted; a new directory stands for what is inside it. */
export function gained(before: ReadonlySet<string>, after: ReadonlySet<string>): string[] {
  const added = [...after].filter((p) => !before.has(p)).sort();
  return added.filter((p) => !added.some((q) => q !== p && p.startsWith(`${q}/`)));
}

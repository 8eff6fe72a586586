// dist/ from src/ when a source file is newer than dist/bin.js: one copy of this staleness check,
// for the test run (test/setup/global-setup.ts) and the build benchmark (bench/build.mjs).
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

export const REPO = resolve(import.meta.dirname, "..");

/** The newest modification time of any file under `dir` (0 for an empty or missing tree). */
export function newestMtime(dir) {
  let newest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Whether dist/bin.js is missing or older than a file in src/ or a tsconfig. */
export function distIsStale(repo = REPO) {
  let built = 0;
  try {
    built = statSync(join(repo, "dist/bin.js")).mtimeMs;
  } catch {
    // not built yet
  }
  const inputs = [
    newestMtime(join(repo, "src")),
    ...["tsconfig.json", "tsconfig.build.json"].map((f) => statSync(join(repo, f)).mtimeMs),
  ];
  return built < Math.max(...inputs);
}

/**
 * Compiles src/ to dist/ when it is stale. Returns tsc's output when it reported errors (it still
 * emits JavaScript then), "" otherwise; throws when dist/bin.js is still missing.
 */
export function ensureBuilt(repo = REPO) {
  if (!distIsStale(repo)) return "";
  const tsc = spawnSync(
    process.execPath,
    [join(repo, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    {
      cwd: repo,
      encoding: "utf8",
    },
  );
  if (distIsStale(repo))
    throw new Error(`could not build dist/ (npx tsc -p tsconfig.build.json):\n${tsc.stdout}${tsc.stderr}`);
  return tsc.status === 0 ? "" : `${tsc.stdout}${tsc.stderr}`;
}

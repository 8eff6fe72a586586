// Once per test run: dist/ built from the current src/ (the tests that run bin/bakeplan.js as a
// child need it), and a plan-state cache directory of the run's own, so no test writes into the
// user's ~/.cache/bakeplan.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt } from "../../scripts/build-dist.mjs";

export default function setup(): () => void {
  const typeErrors = ensureBuilt();
  if (typeErrors) process.stderr.write(`test setup: dist/ built, but tsc reported:\n${typeErrors}`);
  const cacheDir = mkdtempSync(join(tmpdir(), "bakeplan-test-cache-"));
  process.env.BAKEPLAN_CACHE_DIR = cacheDir;
  return () => rmSync(cacheDir, { recursive: true, force: true });
}

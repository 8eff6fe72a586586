// Once per test run: dist/ built from the current src/ (the tests that run bin/bakeplan.js as a
// child need it), a plan-state cache directory and a docker client config (DOCKER_CONFIG) of the
// run's own, so no test writes into the user's ~/.cache/bakeplan or ~/.docker (buildx is found in
// the system's cli-plugins directory); and, at the end, a check that ~/.docker, ~/.cache and ~/.npm
// gained nothing (a failure in CI, a warning elsewhere, where other runs may share the home).
import { mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt } from "../../scripts/build-dist.mjs";
import { gained, homeEntries } from "./home-check.js";

export default function setup(): () => void {
  const typeErrors = ensureBuilt();
  if (typeErrors) process.stderr.write(`test setup: dist/ built, but tsc reported:\n${typeErrors}`);
  const cacheDir = mkdtempSync(join(tmpdir(), "bakeplan-test-cache-"));
  process.env.BAKEPLAN_CACHE_DIR = cacheDir;
  const dockerConfig = mkdtempSync(join(tmpdir(), "bakeplan-test-docker-"));
  process.env.DOCKER_CONFIG = dockerConfig;
  const before = homeEntries();
  return () => {
    rmSync(cacheDir, { recursive: true, force: true });
    rmSync(dockerConfig, { recursive: true, force: true });
    const added = gained(before, homeEntries());
    if (added.length === 0) return;
    const message = `the test run left files in ${homedir()}: ${added.slice(0, 10).join(", ")}${added.length > 10 ? `, and ${added.length - 10} more` : ""}`;
    if (process.env.CI === "true") throw new Error(message);
    process.stderr.write(`test teardown: warning: ${message} (another process may have written them)\n`);
  };
}

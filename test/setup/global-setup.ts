// Once per test run: dist/ (the bundle) built from the current src/ (the tests that run bin/bakeplan.js as a
// child need it), and a plan-state cache directory, a docker client config (DOCKER_CONFIG) and a
// HOME of the run's own, so no test and no tool a test runs (docker, buildx, npm, git) writes into
// the user's ~/.cache, ~/.docker or ~/.npm (buildx is found in the system's cli-plugins directory).
// The run fails at the end if anything landed in its HOME: it would have landed in the user's.
import { mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { ensureBuilt } from "../../scripts/build-dist.mjs";
import { homeEntries } from "./home-check.js";

export default async function setup(): Promise<() => void> {
  await ensureBuilt();
  const cacheDir = mkdtempSync(join(tmpdir(), "bakeplan-test-cache-"));
  process.env.BAKEPLAN_CACHE_DIR = cacheDir;
  const dockerConfig = mkdtempSync(join(tmpdir(), "bakeplan-test-docker-"));
  process.env.DOCKER_CONFIG = dockerConfig;
  // npm still reads the user's own settings (its registry), but writes nothing to their home.
  process.env.npm_config_userconfig ??= join(homedir(), ".npmrc");
  const home = mkdtempSync(join(tmpdir(), "bakeplan-test-home-"));
  process.env.HOME = home;
  return () => {
    const left = homeEntries(home);
    rmSync(cacheDir, { recursive: true, force: true });
    rmSync(dockerConfig, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
    if (left.length > 0)
      throw new Error(
        `the test run wrote into its HOME (it would have written into the user's): ${left.slice(0, 10).join(", ")}${left.length > 10 ? `, and ${left.length - 10} more` : ""}`,
      );
  };
}

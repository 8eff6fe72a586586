// The test run's own setup (test/setup/): a private plan-state cache, docker config and HOME, and
// the reason printed when the end-to-end tests are skipped.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO, testdir } from "../helpers.js";
import { homeEntries } from "../setup/home-check.js";

describe("test setup", () => {
  it("points BAKEPLAN_CACHE_DIR at a temp directory of this run, not the user's cache", () => {
    const dir = process.env.BAKEPLAN_CACHE_DIR;
    expect(dir).toMatch(new RegExp(`^${tmpdir()}/bakeplan-test-cache-`));
    expect(existsSync(dir!)).toBe(true);
    expect(dir!.startsWith(join(homedir(), ".cache"))).toBe(false);
  });

  it("points DOCKER_CONFIG at a temp directory of this run, not ~/.docker", () => {
    const dir = process.env.DOCKER_CONFIG;
    expect(dir).toMatch(new RegExp(`^${tmpdir()}/bakeplan-test-docker-`));
    expect(existsSync(dir!)).toBe(true);
  });

  it("gives the run a HOME of its own (docker, npm and git write nothing into the user's)", () => {
    expect(homedir()).toMatch(new RegExp(`^${tmpdir()}/bakeplan-test-home-`));
    expect(process.env.HOME).toBe(homedir());
  });

  it("lists what a run left in its HOME: files and empty directories", () => {
    const home = testdir({ ".docker/buildx/refs/x": "{}", ".npm/_logs/a.log": "", "elsewhere/x": "" });
    mkdirSync(join(home, ".cache/bakeplan"), { recursive: true });
    expect(homeEntries(home)).toEqual([".cache/bakeplan", ".docker/buildx/refs/x", ".npm/_logs/a.log", "elsewhere/x"]);
    expect(homeEntries(testdir())).toEqual([]);
  });

  /** `vitest run` of one end-to-end file with no docker on PATH. */
  function itgWithoutDocker(env: NodeJS.ProcessEnv) {
    const res = spawnSync(
      process.execPath,
      [join(REPO, "node_modules/vitest/vitest.mjs"), "run", "--project", "itg", "test/itg/print.test.ts"],
      { cwd: REPO, encoding: "utf8", env: { ...process.env, PATH: testdir(), NO_COLOR: "1", ...env } },
    );
    return { code: res.status, stdout: res.stdout };
  }

  it("ends a run whose end-to-end tests were skipped with the reason", () => {
    const { code, stdout } = itgWithoutDocker({ CI: "" });
    expect(code).toBe(0);
    expect(stdout).toMatch(/skipped/);
    expect(stdout.trimEnd().split("\n").at(-1)).toBe(
      "end-to-end tests skipped: docker buildx is not installed; run `make docker-up`",
    );
  }, 60_000);

  it("in CI a missing engine fails the run, and no skip reason is printed", () => {
    const { code, stdout } = itgWithoutDocker({ CI: "true" });
    expect(code).not.toBe(0);
    expect(stdout).toContain("× needs Docker buildx");
    expect(stdout).not.toContain("end-to-end tests skipped");
  }, 60_000);
});

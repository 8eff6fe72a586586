import { execFileSync } from "node:child_process";
import { describe, it } from "vitest";
import { skippedSuiteName } from "../setup/skip-reason.js";

function works(args: string[]): boolean {
  try {
    execFileSync("docker", args, { stdio: "ignore", timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

const REGISTRY = "127.0.0.1:5000";

/** Why the tests that need `what` cannot run here, or undefined when they can. */
export function dockerMissing(what: "buildx" | "engine"): string | undefined {
  if (!works(["buildx", "version"])) return "docker buildx is not installed";
  if (what === "buildx") return undefined;
  if (!works(["info"])) return "no Docker engine answers";
  if (!works(["image", "inspect", "local/busybox:1"])) return "the local base image local/busybox:1 is missing";
  try {
    execFileSync("curl", ["-fsS", `http://${REGISTRY}/v2/`], { stdio: "ignore", timeout: 5_000 });
  } catch {
    return `no registry answers on ${REGISTRY}`;
  }
  return undefined;
}

/**
 * `describe` for tests that need Docker. Outside CI a missing piece skips them with a one-line
 * reason; in CI (CI=true) it is a failing test, never a skip.
 */
export function describeWithDocker(what: "buildx" | "engine", name: string, fn: () => void): void {
  const missing = dockerMissing(what);
  if (!missing) {
    describe(name, fn);
    return;
  }
  if (process.env.CI === "true") {
    describe(name, () => {
      it(`needs Docker ${what}`, () => {
        throw new Error(`${missing}; CI must provision it (scripts/docker-up) before the tests`);
      });
    });
    return;
  }
  describe.skip(skippedSuiteName(name, missing), fn);
}

export { REGISTRY };

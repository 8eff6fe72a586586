// Before building, `bakeplan bake` checks that the builder can do what the plan needs and says how
// to fix it. The test engine (scripts/docker-up) runs dockerd with `bridge: none`: a plan whose RUN
// steps use the default network would fail deep in the build with "network bridge not found".
import { expect, it } from "vitest";
import { describeWithDocker, REGISTRY } from "./docker.js";
import { bakeplan, e2eProject } from "./e2e.js";

describeWithDocker("engine", "bakeplan bake checks the builder first", () => {
  it("an engine without a bridge network and a plan on the default network: the fix, and nothing built", async () => {
    const p = e2eProject();
    try {
      p.edit("context.yaml", "  network: none\n", "  network: default\n");
      expect((await bakeplan(["plan"], { cwd: p.dir })).code).toBe(0);
      const run = await bakeplan(["bake", "alpha-cuda12", "--registry", REGISTRY], { cwd: p.dir });
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toContain(
        "bakeplan: error: the builder uses the docker driver on an engine without a bridge network",
      );
      expect(run.stderr).toContain("set `build.network: none` in context.yaml");
      expect(run.stderr).not.toContain("failed to solve");
      expect(run.stderr).not.toMatch(/^#\d+ /m);
    } finally {
      p.cleanup();
    }
  });
});

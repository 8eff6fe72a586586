// The docker/bake-action variant of docs/ci.md: buildx itself reads the committed bake file and
// the override `bakeplan bake --write-override` wrote (bake-action's `files`), with `push: true`
// (`--push`), against the real engine and the loopback registry.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { describeWithDocker, REGISTRY } from "./docker.js";
import { bakeplan, e2eProject, localEnv, registryTags, type Project } from "./e2e.js";

describeWithDocker("engine", "docker/bake-action with bakeplan's override", () => {
  const projects: Project[] = [];
  afterAll(() => projects.forEach((p) => p.cleanup()));

  it("buildx bake -f docker-bake.json -f override.json --push: this commit's tags and cache, the plan unchanged", async () => {
    const p = e2eProject();
    projects.push(p);
    // The committed plan, as `bakeplan plan` writes it (context.yaml's registry.invalid).
    expect((await bakeplan(["plan"], { cwd: p.dir })).code).toBe(0);
    const committed = readFileSync(join(p.dir, "docker-bake.json"), "utf8");
    const args = ["bake", "beta-cuda12", "--registry", REGISTRY, "--branch", "main", "--sha", "0123abcd"];
    const write = await bakeplan([...args, "--write-override", "override.json"], { cwd: p.dir });
    expect(write.code, write.stderr).toBe(0);
    // --registry replaces the committed cache-from ref, which a merged file cannot (bake appends
    // lists): that goes to bake-action's set input.
    expect(write.stdout).toBe(`beta-cuda12.cache-from=type=registry,ref=${p.cacheRef("beta-cuda12", "main")}\n`);
    const sets = write.stdout
      .trimEnd()
      .split("\n")
      .flatMap((s) => ["--set", s]);
    // What bake-action runs for `files: [docker-bake.json, override.json]`, `set`, `targets: beta-cuda12`, `push: true`.
    execFileSync(
      "docker",
      [
        "buildx",
        "bake",
        "-f",
        "docker-bake.json",
        "-f",
        "override.json",
        ...sets,
        "--push",
        "--progress=plain",
        "beta-cuda12",
      ],
      { cwd: p.dir, env: localEnv(), stdio: ["ignore", "pipe", "pipe"], timeout: 300_000 },
    );
    // The fixture's tags are {branch}-{name} and latest-{name}; the sha is the revision label.
    expect(await registryTags(p.repository)).toEqual(["latest-beta-cuda12", "main-beta-cuda12"]);
    expect(await registryTags(p.cacheRepository)).toEqual(["beta-cuda12-main"]);
    expect(readFileSync(join(p.dir, "docker-bake.json"), "utf8")).toBe(committed);
    // And bakeplan check still passes: the override never touched the committed plan.
    expect((await bakeplan(["check"], { cwd: p.dir })).code).toBe(0);
  });
});

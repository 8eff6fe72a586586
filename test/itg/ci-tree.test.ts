// CI runs never rewrite committed files: `bake --push`, `bake --cache-warm` and `lint` with CI set
// leave a git checkout byte-identical and `check` green, while this run's branch, sha and registry
// still reach buildx (through the override file); a stale plan fails with the diff and builds nothing.
import { execFileSync } from "node:child_process";
import { afterAll, expect, it } from "vitest";
import { describeWithDocker, REGISTRY } from "./docker.js";
import { bakeplan, e2eProject, localEnv, registry, registryTags, type Project } from "./e2e.js";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const CI = { ...process.env, CI: "true" };

function git(dir: string, args: string[]): string {
  // No user or system git config: the identity comes from the command line.
  return execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" },
  });
}

/** The image config labels of a pushed tag (its linux/amd64 image). */
async function imageLabels(repo: string, tag: string): Promise<Record<string, string>> {
  const index = JSON.parse((await registry(`/v2/${repo}/manifests/${tag}`)).body) as {
    manifests: { digest: string; platform: { architecture: string } }[];
  };
  const amd64 = index.manifests.find((m) => m.platform.architecture === "amd64")!;
  const manifest = JSON.parse((await registry(`/v2/${repo}/manifests/${amd64.digest}`)).body) as {
    config: { digest: string };
  };
  const config = JSON.parse((await registry(`/v2/${repo}/blobs/${manifest.config.digest}`)).body) as {
    config: { Labels: Record<string, string> };
  };
  return config.config.Labels;
}

describeWithDocker("engine", "CI runs leave the committed plan alone", () => {
  const projects: Project[] = [];
  afterAll(() => projects.forEach((p) => p.cleanup()));

  it("bake --push, bake --cache-warm and lint: tree byte-identical, check exits 0, the run's tags and cache pushed", async () => {
    const p = e2eProject();
    projects.push(p);
    expect((await bakeplan(["plan"], { cwd: p.dir })).code).toBe(0);
    git(p.dir, ["init", "-q"]);
    git(p.dir, ["add", "-A"]);
    git(p.dir, ["commit", "-qm", "plan"]);
    const clean = async (what: string) => {
      expect(git(p.dir, ["status", "--porcelain", "--untracked-files=all"]), `after ${what}`).toBe("");
      const check = await bakeplan(["check"], { cwd: p.dir, env: CI });
      expect(check.code, `check after ${what}: ${check.stdout}`).toBe(0);
    };

    const push = await bakeplan(
      ["bake", "alpha-cuda12", "--push", "--branch", "main", "--sha", SHA, "--registry", REGISTRY],
      { cwd: p.dir, env: CI },
    );
    expect(push.code, push.stderr.slice(-2000)).toBe(0);
    expect(push.stderr).not.toContain("the plan was out of date");
    // The sha reached the image as its revision label (the fixture's tags do not use it).
    expect((await imageLabels(p.repository, "main-alpha-cuda12"))["org.opencontainers.image.revision"]).toBe(SHA);
    await clean("bake --push");
    expect(await registryTags(p.repository)).toEqual(["latest-alpha-cuda12", "main-alpha-cuda12"]);
    expect(await registryTags(p.cacheRepository)).toEqual(["alpha-cuda12-main"]);

    const warm = await bakeplan(["bake", "beta-cuda12", "--cache-warm", "--branch", "main", "--registry", REGISTRY], {
      cwd: p.dir,
      env: CI,
    });
    expect(warm.code, warm.stderr.slice(-2000)).toBe(0);
    await clean("bake --cache-warm");
    expect(await registryTags(p.cacheRepository)).toEqual(["alpha-cuda12-main", "beta-cuda12-main"]);

    const lint = await bakeplan(["lint"], { cwd: p.dir, env: CI });
    expect(lint.code, lint.stderr).toBe(0);
    await clean("lint");

    // A template changed but the plan not re-committed: CI fails with the diff, writes and builds nothing.
    p.edit("templates/framework.liquid", "RUN sleep 1", "RUN sleep 0");
    for (const args of [["bake", "alpha-cuda12", "--registry", REGISTRY], ["lint"]]) {
      const stale = await bakeplan(args, { cwd: p.dir, env: CI });
      expect(stale.code, args.join(" ")).toBe(1);
      expect(stale.stdout).toMatch(/^--- a\/bake\/alpha-cuda12\.Dockerfile$/m);
      expect(stale.stderr).toContain("bakeplan: error: the committed plan is out of date (diff above)");
      expect(stale.stderr).not.toContain("#1 ");
      expect(git(p.dir, ["status", "--porcelain"])).toBe(" M templates/framework.liquid\n");
    }

    // Outside CI, bake writes the plan first, as `bakeplan plan` would, and says so.
    const local = await bakeplan(["bake", "alpha-cuda12", "--registry", REGISTRY], { cwd: p.dir, env: localEnv() });
    expect(local.code, local.stderr.slice(-2000)).toBe(0);
    expect(local.stderr).toContain("bakeplan: the plan was out of date; wrote it first");
    expect((await bakeplan(["check"], { cwd: p.dir })).code).toBe(0);
  });
});

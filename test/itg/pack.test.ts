// The package as a user gets it: `npm pack`, installed from the tarball into a fresh project that
// has never seen bakeplan's source (with a private npm cache, so nothing lands in ~/.npm), then
// `npx bakeplan init`, plan, check, real `docker buildx bake --print`, and one real build pushed to
// the loopback registry (base image local/busybox:1 and network none, as the engine is offline),
// after which check still passes.
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { REPO } from "../helpers.js";
import { describeWithDocker, REGISTRY } from "./docker.js";
import { deleteRepository, localEnv, registryTags, removeImages } from "./e2e.js";

describeWithDocker("engine", "the packed package in a fresh project", () => {
  const work = mkdtempSync(join(tmpdir(), "bakeplan-pack-"));
  const id = randomBytes(4).toString("hex");
  const repository = `bakeplan-pack-${id}/app`;
  afterAll(() => {
    removeImages(`${REGISTRY}/bakeplan-pack-${id}/`);
    deleteRepository(repository);
    deleteRepository(`${repository}-cache`);
    rmSync(work, { recursive: true, force: true });
  });
  // npm's cache and logs go to the temp project, not ~/.npm; no update check, no audit.
  const env = {
    ...localEnv(),
    npm_config_cache: join(work, "npm-cache"),
    npm_config_update_notifier: "false",
    npm_config_audit: "false",
    npm_config_fund: "false",
  };
  const run = (cmd: string, args: string[], cwd: string) =>
    execFileSync(cmd, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 300_000 });

  it("installs from the tarball; init, plan, check, buildx bake --print and a real build work there", () => {
    run("npm", ["pack", "--pack-destination", work], REPO);
    const tarball = readdirSync(work).find((f) => /^bakeplan-\d+\.\d+\.\d+.*\.tgz$/.test(f));
    expect(tarball).toBeDefined();

    const project = join(work, "consumer");
    execFileSync("mkdir", [project]);
    writeFileSync(join(project, "package.json"), `${JSON.stringify({ name: "consumer", private: true })}\n`);
    const install = spawnSync("npm", ["install", "--save-dev", join(work, tarball!)], {
      cwd: project,
      env,
      encoding: "utf8",
      timeout: 300_000,
    });
    expect(install.status, install.stderr).toBe(0);
    // The package runs nothing at install time, so npm has no install script to ask the user to
    // approve (npm 11 warns "install scripts not yet covered by allowScripts"; npm 12 blocks them).
    expect(install.stderr).not.toMatch(/install-scripts|allow-scripts|allowScripts/);
    const lifecycle = ["preinstall", "install", "postinstall", "prepare"];
    const shipped = JSON.parse(readFileSync(join(project, "node_modules/bakeplan/package.json"), "utf8")) as {
      scripts?: Record<string, string>;
    };
    expect(Object.keys(shipped.scripts ?? {}).filter((name) => lifecycle.includes(name))).toEqual([]);
    // Nothing of bakeplan's source came along: only what the package ships.
    const installed = join(project, "node_modules/bakeplan");
    expect(existsSync(join(installed, "src"))).toBe(false);
    expect(existsSync(join(installed, "test"))).toBe(false);
    // The bundle is the whole program: npm installed no dependency next to it.
    expect(readdirSync(join(project, "node_modules")).filter((n) => !n.startsWith("."))).toEqual(["bakeplan"]);

    const bakeplan = (...args: string[]) => run("npx", ["--no-install", "bakeplan", ...args], project);
    expect(bakeplan("--version").trim()).toBe(
      (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string }).version,
    );
    // The docs' links to examples/ work in the installed copy, and the shipped examples are current.
    expect(existsSync(join(installed, "docs/context-yaml.md"))).toBe(true);
    for (const example of ["dynamo", "python"])
      expect(bakeplan("check", "-c", join(installed, "examples", example, "context.yaml"))).toMatch(/^up to date: /);
    const init = bakeplan("init", "--registry", REGISTRY, "--repository", repository);
    expect(init).toContain("wrote context.yaml");
    for (const f of ["context.yaml", "templates/Dockerfile.liquid", "bakeplan.mk", ".github/workflows/images.yml"])
      expect(existsSync(join(project, f)), f).toBe(true);
    // The $schema modeline resolves from the installed package, and it is bakeplan's schema.
    const context = readFileSync(join(project, "context.yaml"), "utf8");
    const schemaPath = /^# yaml-language-server: \$schema=(\S+)$/m.exec(context)?.[1];
    expect(schemaPath).toBe("./node_modules/bakeplan/context.schema.json");
    expect(readFileSync(join(project, schemaPath!), "utf8")).toBe(bakeplan("schema"));

    expect(bakeplan("plan")).toContain("2 targets, 1 Dockerfile -> docker-bake.json");
    expect(bakeplan("check")).toContain("up to date");
    const printed = JSON.parse(run("docker", ["buildx", "bake", "--print", "all"], project)) as {
      target: Record<string, { tags: string[] }>;
    };
    expect(Object.keys(printed.target).sort()).toEqual(["ubuntu24", "ubuntu24-dev"]);
    expect(printed.target.ubuntu24!.tags).toEqual([`${REGISTRY}/${repository}:latest-ubuntu24`]);

    // A real build on the offline engine: the scaffold's base image swapped for the local one.
    writeFileSync(
      join(project, "context.yaml"),
      context
        .replace("BASE_IMAGE: docker.io/library/ubuntu:24.04", "BASE_IMAGE: local/busybox:1")
        .replace("  context: .\n", "  context: .\n  network: none\n"),
    );
    bakeplan("plan");
    const committed = readFileSync(join(project, "docker-bake.json"), "utf8");
    const built = bakeplan("bake", "ubuntu24", "--push", "--branch", "main", "--sha", "0123abc");
    expect(built).toMatch(/^ubuntu24 /m);
    // The build changed nothing of the committed plan: check passes as in the CI job.
    expect(readFileSync(join(project, "docker-bake.json"), "utf8")).toBe(committed);
    expect(bakeplan("check")).toContain("up to date");
    return registryTags(repository).then(async (tags) => {
      expect(tags).toEqual(["0123abc-ubuntu24", "latest-ubuntu24", "main-ubuntu24"]);
      expect(await registryTags(`${repository}-cache`)).toEqual(["ubuntu24-main"]);
    });
  });
});

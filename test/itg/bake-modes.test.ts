// `bakeplan bake` failure, --push, --cache-warm, --one-by-one and --dry-run, and `bakeplan lint`,
// against the real engine, buildx and the loopback registry.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exampleCopy, REPO } from "../helpers.js";
import { describeWithDocker, REGISTRY } from "./docker.js";
import {
  bakeplan,
  e2eProject,
  localEnv,
  localImages,
  registry,
  registryTags,
  summaryRows,
  tagsColumn,
  type Project,
} from "./e2e.js";
import { printDryRun, removeDryRunTemp } from "./print-plan.js";

/** The fixture's dev stage, where the failure is inserted for one framework. */
const DEV_STEP = 'RUN sleep 1 && echo "dev {{ framework }} {{ cuda }}" > /target.txt';
const FAILING_DEV_STEP = `{% if framework == "beta" %}RUN sleep 1 && exit 7{% endif %}\n${DEV_STEP}`;

describeWithDocker("engine", "bakeplan bake: failures, push, cache warming, one by one", () => {
  const projects: Project[] = [];
  const project = () => {
    const p = e2eProject();
    projects.push(p);
    return p;
  };
  afterAll(() => projects.forEach((p) => p.cleanup()));

  it("a failing RUN step: exits with buildx's code and names the target that failed", async () => {
    const p = project();
    p.edit("templates/Dockerfile.liquid", DEV_STEP, FAILING_DEV_STEP);
    const args = ["bake", "alpha-cuda12", "beta-cuda13-dev", "--registry", REGISTRY];
    const run = await bakeplan([...args, "--summary-json", "summary.json"], { cwd: p.dir });
    // The same buildx command, run directly, for its exit code.
    const dry = await bakeplan([...args, "--dry-run"], { cwd: p.dir });
    let buildxCode = 0;
    try {
      execFileSync("sh", ["-c", dry.stdout.trim()], { cwd: p.dir, stdio: "ignore" });
    } catch (e) {
      buildxCode = (e as { status: number }).status;
    }
    removeDryRunTemp(dry.stdout);
    expect(buildxCode).not.toBe(0);
    expect(run.code).toBe(buildxCode);
    expect(run.stderr).toContain(
      'ERROR: process "/bin/sh -c sleep 1 && exit 7" did not complete successfully: exit code: 7',
    );
    expect(run.stderr).toMatch(
      new RegExp(
        `bakeplan: error: docker buildx bake failed with exit code ${buildxCode}: target beta-cuda13-dev failed; the failing step: templates/Dockerfile\\.liquid:28 \\(bake/beta-cuda13-dev\\.Dockerfile:34\\)\\n$`,
      ),
    );
    // No summary table for a failed bake.
    expect(run.stdout).not.toContain("TARGET");
    // The JSON summary is written all the same: what failed, where, and what it stopped.
    const summary = JSON.parse(readFileSync(join(p.dir, "summary.json"), "utf8")) as {
      targets: { target: string; status: string }[];
      failure: unknown;
    };
    expect(summary.targets.map((t) => [t.target, t.status])).toEqual([
      ["alpha-cuda12", "stopped"],
      ["beta-cuda13-dev", "failed"],
    ]);
    expect(summary.failure).toEqual({
      targets: ["beta-cuda13-dev"],
      at: "templates/Dockerfile.liquid:28 (bake/beta-cuda13-dev.Dockerfile:34)",
    });
  });

  it("--one-by-one: one buildx bake per target, in order; stops at the failing one and says what was built", async () => {
    const p = project();
    const ok = await bakeplan(
      ["bake", "alpha-cuda12", "beta-cuda12", "--one-by-one", "--registry", REGISTRY, "--branch", "main"],
      { cwd: p.dir },
    );
    expect(ok.code, ok.stderr.slice(-2000)).toBe(0);
    const commands = ok.stderr.split("\n").filter((l) => l.startsWith("bakeplan: docker buildx bake "));
    expect(commands).toHaveLength(2);
    expect(commands[0]).toMatch(/ alpha-cuda12$/);
    expect(commands[1]).toMatch(/ beta-cuda12$/);
    const rows = summaryRows(ok.stdout);
    expect([...rows.keys()]).toEqual(["alpha-cuda12", "beta-cuda12"]);
    for (const [t, row] of rows) {
      expect(row.tags).toBe(tagsColumn([p.image(t, "main"), p.image(t, "latest")]));
      expect(row.digest).toMatch(/^sha256:/);
    }
    // In order: beta-cuda12 found the shared and toolkit steps alpha-cuda12's bake had just built.
    expect(rows.get("alpha-cuda12")!.cache).toBe("4 of 4 steps built");
    expect(rows.get("beta-cuda12")!.cache).toBe("2 of 4 steps built");
    // Each bake wrote its target's cache.
    expect(await registryTags(p.cacheRepository)).toEqual(["alpha-cuda12-main", "beta-cuda12-main"]);

    p.edit("templates/Dockerfile.liquid", DEV_STEP, FAILING_DEV_STEP);
    const failed = await bakeplan(
      ["bake", "alpha-cuda12-dev", "beta-cuda12-dev", "beta-cuda13", "--one-by-one", "--registry", REGISTRY],
      { cwd: p.dir },
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(
      "bakeplan: error: docker buildx bake failed with exit code 1: target beta-cuda12-dev failed (--one-by-one: built alpha-cuda12-dev before it; 1 not started); the failing step: templates/Dockerfile.liquid:28 (bake/beta-cuda12-dev.Dockerfile:34)\n",
    );
    expect(failed.stderr).not.toMatch(/bakeplan: docker buildx bake .* beta-cuda13$/m);
  });

  it("--push: the pushed manifest comes back from the registry with the digest bakeplan reported", async () => {
    const p = project();
    const meta = join(p.dir, "metadata.json");
    const run = await bakeplan(
      ["bake", "beta-cuda13", "--push", "--registry", REGISTRY, "--branch", "feat/push", "--metadata-file", meta],
      { cwd: p.dir },
    );
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    const digest = (JSON.parse(readFileSync(meta, "utf8")) as Record<string, { "containerimage.digest": string }>)[
      "beta-cuda13"
    ]!["containerimage.digest"];
    expect(summaryRows(run.stdout).get("beta-cuda13")).toEqual({
      cache: "4 of 4 steps built",
      digest: digest.slice(0, 19),
      tags: tagsColumn([p.image("beta-cuda13", "feat-push"), p.image("beta-cuda13", "latest")]),
    });

    expect(await registryTags(p.repository)).toEqual(["feat-push-beta-cuda13", "latest-beta-cuda13"]);
    const index = await registry(`/v2/${p.repository}/manifests/feat-push-beta-cuda13`);
    expect(index.status).toBe(200);
    expect(index.headers.get("docker-content-digest")).toBe(digest);
    const parsed = JSON.parse(index.body) as {
      mediaType: string;
      manifests: { digest: string; platform: { os: string; architecture: string } }[];
    };
    expect(parsed.mediaType).toBe("application/vnd.oci.image.index.v1+json");
    const amd64 = parsed.manifests.find((m) => m.platform.os === "linux" && m.platform.architecture === "amd64")!;
    const manifest = JSON.parse((await registry(`/v2/${p.repository}/manifests/${amd64.digest}`)).body) as {
      config: { digest: string };
    };
    const config = JSON.parse((await registry(`/v2/${p.repository}/blobs/${manifest.config.digest}`)).body) as {
      config: { Labels: Record<string, string> };
    };
    expect(config.config.Labels["org.opencontainers.image.title"]).toBe("bakeplan e2e beta-cuda13");
  });

  it("--cache-warm: writes the target's own cache ref, no image anywhere, pushes nothing", async () => {
    const p = project();
    // feat/warm is not in cache.write_on, so a normal plan would not write cache at all.
    const run = await bakeplan(
      ["bake", "alpha-cuda13-dev", "--cache-warm", "--registry", REGISTRY, "--branch", "feat/warm"],
      { cwd: p.dir },
    );
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    expect(await registryTags(p.cacheRepository)).toEqual(["alpha-cuda13-dev-feat-warm"]);
    const cache = JSON.parse(
      (await registry(`/v2/${p.cacheRepository}/manifests/alpha-cuda13-dev-feat-warm`)).body,
    ) as { mediaType: string; config: { mediaType: string } };
    expect(cache.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(cache.config.mediaType).toBe("application/vnd.buildkit.cacheconfig.v0");
    expect(await registryTags(p.repository)).toEqual([]);
    expect(localImages(`${REGISTRY}/${p.repository}:`)).toEqual([]);
    expect(summaryRows(run.stdout).get("alpha-cuda13-dev")).toEqual({
      cache: "5 of 5 steps built",
      digest: "-",
      tags: "-",
    });

    const push = await bakeplan(["bake", "alpha-cuda13-dev", "--cache-warm", "--registry", REGISTRY, "--", "--push"], {
      cwd: p.dir,
    });
    expect(push.code).toBe(2);
    expect(push.stderr).toContain("--cache-warm writes only cache; it cannot be combined with --push");
  });
});

/** Pids of processes whose working directory is `dir`. */
function processesIn(dir: string): string[] {
  return readdirSync("/proc").filter((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    try {
      return readlinkSync(`/proc/${pid}/cwd`) === dir;
    } catch {
      return false;
    }
  });
}

describeWithDocker("engine", "bakeplan bake interrupted", () => {
  const projects: Project[] = [];
  afterAll(() => projects.forEach((p) => p.cleanup()));

  it("Ctrl-C during a build stops buildx and exits 130", async () => {
    const p = e2eProject();
    projects.push(p);
    p.edit("templates/Dockerfile.liquid", "RUN sleep 1 && cat /proc", "RUN sleep 60 && cat /proc");
    const child = spawn(
      process.execPath,
      [join(REPO, "bin/bakeplan.js"), "bake", "alpha-cuda12", "--registry", REGISTRY],
      { cwd: p.dir, env: localEnv(), stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    const started = new Promise<void>((resolve, reject) => {
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes("RUN sleep 60")) resolve();
      });
      // A bake that ends before the build starts fails the test at once, with what it printed.
      child.on("close", (code) => reject(new Error(`bake exited ${code} before the build started:\n${stderr}`)));
    });
    const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
      child.on("close", (code) => resolve({ code, at: performance.now() })),
    );
    await started;
    const sent = performance.now();
    child.kill("SIGINT");
    const { code, at } = await exited;
    expect(code).toBe(130);
    expect((at - sent) / 1000).toBeLessThan(20);
    expect(stderr).toContain("bakeplan: error: interrupted; buildx stopped\n");
    // No process (buildx or its plugin) is left working in the project directory.
    expect(processesIn(p.dir)).toEqual([]);
  });
});

describeWithDocker("engine", "bakeplan lint on the e2e fixture", () => {
  const projects: Project[] = [];
  afterAll(() => projects.forEach((p) => p.cleanup()));

  it("reports a deliberately bad instruction at the template's file:line, for the targets that render it", async () => {
    const p = e2eProject();
    projects.push(p);
    const clean = await bakeplan(["lint"], { cwd: p.dir });
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toBe("lint: no findings in 8 Dockerfile(s) (8 targets)\n");

    const anchor = 'RUN sleep 1 && echo "beta=$BETA_REF" > /framework.txt';
    p.edit("templates/framework.liquid", anchor, `MAINTAINER nobody@example.com\n${anchor}`);
    const line =
      readFileSync(join(p.dir, "templates/framework.liquid"), "utf8")
        .split("\n")
        .indexOf("MAINTAINER nobody@example.com") + 1;
    expect(line).toBe(8);
    const run = await bakeplan(["lint"], { cwd: p.dir });
    expect(run.code).toBe(1);
    // One line for the template line, naming the four Dockerfiles it became and the four targets.
    const at = (n: string) =>
      `bake/${n}.Dockerfile:${
        readFileSync(join(p.dir, `bake/${n}.Dockerfile`), "utf8")
          .split("\n")
          .indexOf("MAINTAINER nobody@example.com") + 1
      }`;
    expect(run.stdout).toBe(
      `templates/framework.liquid:${line}: MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label (${at("beta-cuda12-dev")}, ${at("beta-cuda12")}, ${at("beta-cuda13-dev")}, ${at("beta-cuda13")}; beta-cuda12, beta-cuda12-dev, beta-cuda13, beta-cuda13-dev) https://docs.docker.com/go/dockerfile/rule/maintainer-deprecated/\n`,
    );
    expect(run.stderr).toContain("bakeplan: error: lint: 1 finding(s) in 4 Dockerfile(s)");
  });
});

describeWithDocker("buildx", "bakeplan bake --dry-run on the bundled example", () => {
  it("prints the exact buildx command, writes nothing, and buildx accepts it", async () => {
    const dir = exampleCopy();
    const run = await bakeplan(["bake", "--dry-run", "vllm-cuda12"], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /^mkdir -p (\/\S+\/bakeplan-\d+-\d+)\ndocker buildx bake -f docker-bake\.json --progress=rawjson --metadata-file \1\/metadata-0\.json vllm-cuda12\n$/,
    );
    expect(existsSync(join(dir, "docker-bake.json"))).toBe(false);
    expect(existsSync(join(dir, "bake"))).toBe(false);

    // With the plan written, the printed command (plus --print, which builds nothing) selects exactly that target.
    expect((await bakeplan(["plan"], { cwd: dir })).code).toBe(0);
    const printed = printDryRun(dir, run.stdout);
    expect(Object.keys(printed.target)).toEqual(["vllm-cuda12"]);
    expect(printed.target["vllm-cuda12"]!.target).toBe("runtime");

    // From another directory, the command says where to run it.
    const elsewhere = await bakeplan(
      ["bake", "--dry-run", "-c", join(dir, "context.yaml"), "vllm-cuda12", "--cache-warm", "--branch", "feat/x"],
      { cwd: tmpdir() },
    );
    // --cache-warm's settings go into the override file the script writes, not into the committed plan.
    const lines = elsewhere.stdout.split("\n");
    const override = /^cat > (\S+\/override\.json) <<'EOF'$/.exec(lines[1] ?? "")?.[1];
    expect(override, elsewhere.stdout).toBeDefined();
    const json = JSON.parse(lines.slice(2, lines.indexOf("EOF")).join("\n")) as { target: Record<string, unknown> };
    expect(json.target).toEqual({
      "vllm-cuda12": {
        output: ["type=cacheonly"],
        "cache-to": [
          "type=registry,ref=123456789012.dkr.ecr.us-west-2.amazonaws.com/ai-dynamo/dynamo-cache:vllm-cuda12-feat-x,mode=max,image-manifest=true,oci-mediatypes=true,ignore-error=true",
        ],
        "cache-from": [
          "type=registry,ref=123456789012.dkr.ecr.us-west-2.amazonaws.com/ai-dynamo/dynamo-cache:vllm-cuda12-feat-x",
        ],
        tags: [
          "123456789012.dkr.ecr.us-west-2.amazonaws.com/ai-dynamo/dynamo:feat-x-vllm-cuda12",
          "123456789012.dkr.ecr.us-west-2.amazonaws.com/ai-dynamo/dynamo:latest-vllm-cuda12",
        ],
      },
    });
    expect(lines.at(-2)).toBe(
      `cd ${dir} && docker buildx bake -f docker-bake.json -f ${override} --progress=rawjson --metadata-file ${override!.replace("override.json", "metadata-0.json")} vllm-cuda12`,
    );
  });
});

describe("bakeplan without docker", () => {
  it("bake and lint say docker is missing and how to get it, exit 1", async () => {
    const bin = mkdtempSync(join(tmpdir(), "bakeplan-nodocker-"));
    try {
      symlinkSync(process.execPath, join(bin, "node"));
      const dir = exampleCopy();
      for (const args of [["bake", "vllm-cuda12"], ["lint"]]) {
        const run = await bakeplan(args, { cwd: dir, env: { ...localEnv(), PATH: bin } });
        expect(run.code, args.join(" ")).toBe(1);
        expect(run.stderr.split("\n").at(-2)! + "\n").toBe(
          "bakeplan: error: docker not found on PATH: install Docker with the buildx plugin (https://docs.docker.com/build/install-buildx/), or run `make docker-up` in the bakeplan repository for a local engine\n",
        );
      }
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

// `bakeplan bake` against the real engine, buildx and the loopback registry, on the e2e fixture
// (2 frameworks x 2 CUDA values x runtime/dev = 8 targets, 8 Dockerfiles: the template branches on
// the stage axis, and beta-cuda13-dev builds the stage a combination picks). The tests share one
// cold bake (beforeAll); the cache tests after it prune and rebuild.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeWithDocker, REGISTRY } from "./docker.js";
import {
  bakeplan,
  docker,
  e2eProject,
  localImages,
  rawVertices,
  registry,
  runSteps,
  summaryRows,
  tagsColumn,
  TARGETS,
  type Project,
  type Run,
} from "./e2e.js";

const SHA = "0123456789abcdef0123456789abcdef01234567";
/** Inputs of every bake here: tags and cache refs in the loopback registry, main writes cache. */
const INPUTS = ["--registry", REGISTRY, "--branch", "main", "--image-version", "1.0.0", "--sha", SHA];
const RAW = ["--", "--progress=rawjson"];

function ok(run: Run): Run {
  expect(run.code, `exit ${run.code}\nstdout:\n${run.stdout}\nstderr (last 3000):\n${run.stderr.slice(-3000)}`).toBe(0);
  return run;
}

describeWithDocker("engine", "bakeplan bake: one bake of the fixture's 8 targets", () => {
  let p: Project;
  let cold: Run;

  beforeAll(async () => {
    p = e2eProject();
    cold = ok(await bakeplan(["bake", "all", ...INPUTS, "--summary-json", "summary.json", ...RAW], { cwd: p.dir }));
  });
  afterAll(() => p?.cleanup());

  it("builds every target: tags, labels, the stage the plan names, the branch on the stage axis, and the args reached the stages", () => {
    const rows = summaryRows(cold.stdout);
    expect([...rows.keys()]).toEqual(TARGETS);
    const summary = JSON.parse(readFileSync(join(p.dir, "summary.json"), "utf8")) as {
      targets: { target: string; status: string; tags: string[] }[];
    };
    // The stage each target builds, as the plan gives it to bake: the stage axis's value, except
    // for the one combination whose own stage wins (context.yaml, combinations[0].stage).
    const planned = JSON.parse(readFileSync(join(p.dir, "docker-bake.json"), "utf8")) as {
      target: Record<string, { target?: string }>;
    };
    const stages = Object.fromEntries(TARGETS.map((t) => [t, planned.target[t]!.target]));
    expect(stages).toEqual({
      "alpha-cuda12": "runtime",
      "alpha-cuda12-dev": "dev",
      "alpha-cuda13": "runtime",
      "alpha-cuda13-dev": "dev",
      "beta-cuda12": "runtime",
      "beta-cuda12-dev": "dev",
      "beta-cuda13": "runtime",
      "beta-cuda13-dev": "debug",
    });
    for (const target of TARGETS) {
      const [framework, cudaName, dev] = target.split("-") as [string, string, string | undefined];
      const cuda = cudaName === "cuda12" ? "12.9" : "13.0";
      const tags = [p.image(target, "main"), p.image(target, "latest")];
      // The summary table: the first tag and the count, the digest buildx reported, every step
      // built (cold); --summary-json has every tag.
      const row = rows.get(target)!;
      expect(row.tags).toBe(tagsColumn(tags));
      expect(summary.targets.find((t) => t.target === target)).toMatchObject({ status: "built", tags });
      expect(row.cache).toBe(dev ? "5 of 5 steps built" : "4 of 4 steps built");

      const [info] = JSON.parse(docker(["image", "inspect", ...tags])) as {
        Id: string;
        RepoTags: string[];
        Config: { Labels: Record<string, string> };
      }[];
      expect(info!.RepoTags.sort()).toEqual([...tags].sort());
      expect(info!.Id.slice(0, 19)).toBe(row.digest);
      // Each stage labels the image with its name, so the last one built is the plan's; the
      // template's `{% if target == "dev" %}` label is there for the dev targets only.
      expect(info!.Config.Labels, target).toEqual({
        "org.opencontainers.image.title": `bakeplan e2e ${target}`,
        "org.opencontainers.image.source": "https://example.com/bakeplan-e2e",
        "org.opencontainers.image.version": "1.0.0",
        "org.opencontainers.image.revision": SHA,
        "org.opencontainers.image.vendor": "bakeplan-e2e",
        "com.example.e2e.stage": stages[target],
        ...(dev ? { "com.example.e2e.branch": "dev" } : {}),
      });
      // CMD cats what each stage wrote from its ARGs.
      const out = docker(["run", "--rm", "--network", "none", tags[0]!]);
      expect(out).toBe(
        `nonce-${p.id}\ncuda=${cuda}\n${framework}=${framework === "alpha" ? "a1" : "b1"}\n${dev ? "dev" : "runtime"} ${framework} ${cuda}\n`,
      );
    }
  });

  it("runs a stage shared by several targets once", () => {
    const steps = runSteps(rawVertices(cold.stderr));
    const shared = steps.filter((s) => s.stage === "shared");
    // One vertex, reported for all 8 targets, executed (not cached: the nonce is new).
    expect(shared).toHaveLength(1);
    expect(shared[0]!.targets).toEqual(TARGETS);
    expect(shared[0]).toMatchObject({ cached: false, completed: true });
    const toolkit = steps.filter((s) => s.stage === "toolkit");
    expect(toolkit.map((s) => s.targets)).toHaveLength(2);
    for (const s of toolkit) expect(s.targets).toHaveLength(4);
    // 1 shared + 2 toolkit + 4 framework + 4 runtime + 4 dev executions for 36 target-steps.
    expect(steps.filter((s) => !s.cached)).toHaveLength(15);
    expect(steps.reduce((n, s) => n + s.targets.length, 0)).toBe(4 * 4 + 4 * 5);
    // The shared RUN wrote a random id once: every image has the same one.
    const ids = new Set(
      TARGETS.map((t) => docker(["run", "--rm", "--network", "none", p.image(t, "main"), "cat", "/shared.id"]).trim()),
    );
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("round-trips the registry cache: after prune and image removal every RUN step is CACHED", async () => {
    // The exact cache settings this bake's inputs give (bake passes them to buildx in an override
    // file and leaves the committed docker-bake.json alone): the plan for the same inputs.
    ok(await bakeplan(["plan", "--out", "wanted.json", ...INPUTS], { cwd: p.dir }));
    const bake = JSON.parse(readFileSync(join(p.dir, "wanted.json"), "utf8")) as {
      target: Record<string, { "cache-from": string[]; "cache-to": string[] }>;
    };
    for (const target of TARGETS) {
      expect(bake.target[target]!["cache-to"]).toEqual([
        `type=registry,ref=${p.cacheRef(target, "main")},mode=max,image-manifest=true,oci-mediatypes=true,ignore-error=true`,
      ]);
      expect(bake.target[target]!["cache-from"]).toEqual([`type=registry,ref=${p.cacheRef(target, "main")}`]);
      // The cold bake wrote it: an OCI image manifest (what ECR accepts), at the target's own ref.
      const m = await registry(`/v2/${p.cacheRepository}/manifests/${target}-main`);
      expect(m.status, `${target} cache manifest`).toBe(200);
      expect((JSON.parse(m.body) as { mediaType: string }).mediaType).toBe(
        "application/vnd.oci.image.manifest.v1+json",
      );
    }

    docker(["buildx", "prune", "-af"]);
    docker(["image", "rm", ...localImages(`${REGISTRY}/${p.repository}:`)]);
    expect(localImages(`${REGISTRY}/${p.repository}:`)).toEqual([]);

    const warm = ok(await bakeplan(["bake", "all", ...INPUTS, ...RAW], { cwd: p.dir }));
    const vertices = rawVertices(warm.stderr);
    // Each target imported its own cache ref, without error.
    for (const target of TARGETS) {
      const imports = [...vertices.values()].filter((v) =>
        [...v.names].some((n) => n === `[${target}] importing cache manifest from ${p.cacheRef(target, "main")}`),
      );
      expect(imports, `${target} imports its cache`).toHaveLength(1);
      expect(imports[0]!.error).toBeUndefined();
    }
    const steps = runSteps(vertices);
    expect(steps).toHaveLength(15);
    for (const s of steps) expect(s.cached, `${s.targets.join(",")} ${s.stage}: ${s.command}`).toBe(true);
    const rows = summaryRows(warm.stdout);
    for (const target of TARGETS) expect(rows.get(target)?.cache, target).toBe("fully cached");
    // And the images are back.
    expect(localImages(`${REGISTRY}/${p.repository}:`).sort()).toEqual(
      TARGETS.flatMap((t) => [p.image(t, "latest"), p.image(t, "main")]).sort(),
    );
  });

  it("changing one framework's ARG rebuilds only that framework's steps", async () => {
    const beta = TARGETS.filter((t) => t.startsWith("beta-"));
    const betaDockerfiles = beta.map((n) => readFileSync(join(p.dir, `bake/${n}.Dockerfile`), "utf8"));
    p.edit("context.yaml", "ALPHA_REF: a1", "ALPHA_REF: a2");
    const run = ok(await bakeplan(["bake", "all", ...INPUTS, ...RAW], { cwd: p.dir }));
    // beta's Dockerfiles did not even change.
    expect(beta.map((n) => readFileSync(join(p.dir, `bake/${n}.Dockerfile`), "utf8"))).toEqual(betaDockerfiles);

    const steps = runSteps(rawVertices(run.stderr));
    const alphaOnly = (s: { targets: string[] }) => s.targets.every((t) => t.startsWith("alpha-"));
    const rebuilt = steps.filter((s) => !s.cached);
    // alpha's framework, runtime and dev steps (2 CUDA values each); nothing else.
    expect(rebuilt.map((s) => `${s.stage} ${s.targets.join(",")}`).sort()).toEqual([
      "dev alpha-cuda12-dev",
      "dev alpha-cuda13-dev",
      "framework alpha-cuda12,alpha-cuda12-dev",
      "framework alpha-cuda13,alpha-cuda13-dev",
      "runtime alpha-cuda12,alpha-cuda12-dev",
      "runtime alpha-cuda13,alpha-cuda13-dev",
    ]);
    for (const s of steps.filter((s) => !alphaOnly(s)))
      expect(s.cached, `${s.stage} ${s.targets.join(",")}`).toBe(true);
    const rows = summaryRows(run.stdout);
    for (const t of TARGETS.filter((t) => t.startsWith("beta-"))) expect(rows.get(t)?.cache, t).toBe("fully cached");
    expect(rows.get("alpha-cuda12")?.cache).toBe("2 of 4 steps built");
    expect(rows.get("alpha-cuda12-dev")?.cache).toBe("3 of 5 steps built");
    expect(docker(["run", "--rm", "--network", "none", p.image("alpha-cuda13", "main"), "cat", "/framework.txt"])).toBe(
      "alpha=a2\n",
    );
  });
});

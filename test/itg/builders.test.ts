// `bakeplan bake --builders` on real Docker engines (scripts/docker-up --engines N): each engine is
// a `docker`-driver builder through a Docker context the test creates in a private DOCKER_CONFIG
// (nothing goes into ~/.docker). e1 and e2 are shared with the other end-to-end tests and are never
// stopped; the stop and kill tests use a third engine, e3, which they stop
// (`scripts/docker-down --engine 3`), kill (SIGKILL of its dockerd) and start again
// (`scripts/docker-up --engines 3`, after a kill on a clean data-root); if e3 was not running
// before, it is stopped at the end.
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../helpers.js";
import { skippedSuiteName } from "../setup/skip-reason.js";
import { dockerMissing, REGISTRY } from "./docker.js";
import { bakeplan, e2eProject, localEnv, secretFileProject, TARGETS, type Project, type Run } from "./e2e.js";

const STATE = process.env.BAKEPLAN_DOCKER_HOME ?? "/var/lib/bakeplan-docker";
const INPUTS = ["--registry", REGISTRY, "--branch", "main"];

/** The running engines docker-up lists: name -> DOCKER_HOST. */
function engines(): Map<string, string> {
  const file = join(STATE, "engines");
  if (!existsSync(file)) return new Map();
  return new Map(
    readFileSync(file, "utf8")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => l.split(" ") as [string, string]),
  );
}

function missingEngines(): string | undefined {
  const docker = dockerMissing("engine");
  if (docker) return docker;
  const have = engines();
  if (!have.has("e1") || !have.has("e2")) return "these tests need two engines (scripts/docker-up --engines 2)";
  return undefined;
}

/** Engine e3 is ours to stop and start: it runs already, or we may start it (root, docker-up). */
function missingThirdEngine(): string | undefined {
  if (engines().has("e3")) return process.getuid?.() === 0 ? undefined : "stopping engine e3 needs root";
  return process.getuid?.() === 0
    ? undefined
    : "these tests start a third engine with scripts/docker-up, which needs root";
}

function describeWith(missing: string | undefined, name: string, fn: () => void): void {
  if (!missing) describe(name, fn);
  else if (process.env.CI === "true")
    describe(name, () => {
      it("needs its engines", () => {
        throw new Error(`${missing}; CI must provision them (.ci/run)`);
      });
    });
  else describe.skip(skippedSuiteName(name, missing), fn);
}

function ok(run: Run): Run {
  expect(run.code, `exit ${run.code}\nstdout:\n${run.stdout}\nstderr (last 4000):\n${run.stderr.slice(-4000)}`).toBe(0);
  return run;
}

/** The summary rows of a pool bake: TARGET, BUILDER, CACHE, DIGEST, TAGS. */
function poolRows(stdout: string): Map<string, { builder: string; cache: string; digest: string }> {
  const lines = stdout.split("\n");
  const head = lines.findIndex((l) => /^TARGET\s+BUILDER\s+CACHE\s+DIGEST\s+TAGS$/.test(l));
  if (head < 0) throw new Error(`no summary table in:\n${stdout}`);
  const rows = new Map<string, { builder: string; cache: string; digest: string }>();
  for (const line of lines.slice(head + 1)) {
    const m =
      /^(\S+)\s+(\S+)\s+(fully cached|\d+ of \d+ steps built|failed|stopped|not started|-)\s+(sha256:[0-9a-f]{12}|-)\s/.exec(
        `${line} `,
      );
    if (!m) break;
    rows.set(m[1]!, { builder: m[2]!, cache: m[3]!, digest: m[4]! });
  }
  return rows;
}

describeWith(missingEngines(), "bakeplan bake --builders: the fixture over real engines", () => {
  const dockerConfig = mkdtempSync(join(tmpdir(), "bakeplan-builders-docker-"));
  // Outside CI, as a developer runs bake: the fixture has no committed plan, which bake in CI refuses.
  const env = { ...localEnv(), DOCKER_CONFIG: dockerConfig };
  const projects: Project[] = [];
  let startedE3 = false;

  const docker = (args: string[]) =>
    execFileSync("docker", args, { encoding: "utf8", env, stdio: ["ignore", "pipe", "pipe"], timeout: 300_000 });
  const context = (name: string, host: string) => {
    try {
      docker(["context", "rm", "--force", name]);
    } catch {
      // not there yet
    }
    docker(["context", "create", name, "--docker", `host=${host}`]);
  };
  const imagesOn = (engine: string, p: Project) =>
    docker(["--context", engine, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"])
      .split("\n")
      .filter((l) => l.startsWith(`${REGISTRY}/${p.repository}:`))
      .sort();
  const removeImagesOn = (engine: string, p: Project) => {
    const images = imagesOn(engine, p);
    if (images.length > 0) docker(["--context", engine, "image", "rm", "--force", ...images]);
  };
  const project = () => {
    const p = e2eProject();
    projects.push(p);
    return p;
  };
  const assignment = async (p: Project, pool: string) => {
    const res = ok(await bakeplan(["builders", "--builders", pool, "--json"], { cwd: p.dir, env }));
    const report = JSON.parse(res.stdout) as { targets: { target: string; builder: string }[] };
    return new Map(report.targets.map((t) => [t.target, t.builder]));
  };

  beforeAll(() => {
    for (const [name, host] of engines()) context(name, host);
  });
  afterAll(() => {
    for (const p of projects) {
      for (const engine of ["e2", "e3"]) if (engines().has(engine)) removeImagesOn(engine, p);
      p.cleanup();
    }
    if (startedE3) execFileSync(join(REPO, "scripts/docker-down"), ["--engine", "3"], { stdio: "ignore" });
    rmSync(dockerConfig, { recursive: true, force: true });
  });

  describe("two builders", () => {
    let p: Project;
    let cold: Run;
    let planned: Map<string, string>;

    beforeAll(async () => {
      p = project();
      planned = await assignment(p, "e1,e2");
      cold = ok(await bakeplan(["bake", "all", "--builders", "e1,e2", ...INPUTS], { cwd: p.dir, env }));
    });

    it("builds every target, each on its assigned builder: the summary and each engine's images say so", () => {
      // The fixture's four keys (one per framework and CUDA version) do not fit on one builder's cap.
      expect(new Set(planned.values())).toEqual(new Set(["e1", "e2"]));
      const rows = poolRows(cold.stdout);
      expect([...rows.keys()]).toEqual(TARGETS);
      for (const t of TARGETS) {
        expect(rows.get(t)!.builder, t).toBe(planned.get(t));
        expect(rows.get(t)!.cache, t).toMatch(/^\d+ of \d+ steps built$/);
      }
      // The docker driver keeps each image in its own engine: e1 has exactly its targets, e2 its.
      for (const engine of ["e1", "e2"]) {
        const mine = TARGETS.filter((t) => planned.get(t) === engine);
        expect(imagesOn(engine, p), engine).toEqual(
          mine.flatMap((t) => [p.image(t, "latest"), p.image(t, "main")]).sort(),
        );
      }
      // The preflight ran once, before the builders: the base image is in each docker-driver builder's own engine.
      expect(cold.stderr.match(/^bakeplan: preflight: /gm)).toHaveLength(1);
      expect(cold.stderr).toMatch(/^bakeplan: preflight: 1 image found, every platform present$/m);
      expect(cold.stderr.indexOf("bakeplan: preflight: ")).toBeLessThan(cold.stderr.indexOf("bakeplan: [e1] "));
      // Output is prefixed by builder; each builder ran its own bake through its context.
      expect(cold.stderr).toMatch(/^bakeplan: \[e1\] docker --context e1 buildx bake .* --builder e1 /m);
      expect(cold.stderr).toMatch(/^bakeplan: \[e2\] docker --context e2 buildx bake .* --builder e2 /m);
      expect(cold.stderr).toMatch(/^\[e2\] #\d+ \[\S+ toolkit 1\/1\] RUN /m);
    });

    it("after pruning each engine's build cache, a second run is fully cached through the registry", async () => {
      for (const engine of ["e1", "e2"]) {
        docker(["--context", engine, "buildx", "prune", "-af"]);
        removeImagesOn(engine, p);
      }
      const warm = ok(await bakeplan(["bake", "all", "--builders", "e1,e2", ...INPUTS], { cwd: p.dir, env }));
      const rows = poolRows(warm.stdout);
      for (const t of TARGETS) {
        expect(rows.get(t), t).toMatchObject({ builder: planned.get(t), cache: "fully cached" });
        // Its builder imported the target's own cache ref from the registry.
        expect(warm.stderr, t).toContain(`[${planned.get(t)}] #`);
        expect(warm.stderr).toMatch(
          new RegExp(
            `^\\[${planned.get(t)}\\] #\\d+ \\[${t}\\] importing cache manifest from ${p.cacheRef(t, "main").replaceAll(".", "\\.")}$`,
            "m",
          ),
        );
      }
    });
  });

  it("a docker-driver builder of the pool is checked on its own engine: a plan on the default network fails at once, naming the builder", async () => {
    const p = project();
    // The engines run dockerd with `bridge: none` (scripts/docker-up).
    p.edit("context.yaml", "  network: none\n", "  network: default\n");
    const run = await bakeplan(["bake", "all", "--builders", "e1,e2", ...INPUTS], { cwd: p.dir, env });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(
      /^bakeplan: error: builder e[12]: the builder uses the docker driver on an engine without a bridge network/m,
    );
    expect(run.stderr).not.toMatch(/^\[e[12]\] #\d+ /m);
  });

  it("the preflight of a pool bake stops a missing image before any builder starts, with its table; --no-preflight leaves it to buildx", async () => {
    const p = project();
    const missing = `${REGISTRY}/bakeplan-missing-${p.id}/base:1`;
    p.edit(
      "context.yaml",
      "        BETA_REF: b1\n",
      `        BETA_REF: b1\n      images:\n        BASE_IMAGE: ${missing}\n`,
    );
    const run = await bakeplan(["bake", "all", "--builders", "e1,e2", ...INPUTS], { cwd: p.dir, env });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/^IMAGE\s+DIGEST\s+PLATFORMS\s+USED BY\s+SOURCE$/m);
    expect(run.stderr).toMatch(/^local\/busybox:1\s+local image store \((e1|e2|e1, e2)\)\s+linux\/amd64 ✓\s/m);
    expect(run.stderr).toMatch(
      new RegExp(`^${missing.replaceAll(".", "\\.")}\\s+FAILED \\(below\\)\\s+linux/amd64 \\?`, "m"),
    );
    expect(run.stderr).toContain("preflight: 1 image missing or unreachable; nothing was built:");
    expect(run.stderr).toContain(missing);
    // The beta targets need it, on whichever builder the plan gives them.
    expect(run.stderr).toMatch(/beta-cuda12/);
    // No builder was probed or given a bake, so nothing was built anywhere.
    expect(run.stderr).not.toMatch(/^bakeplan: \[e[12]\] /m);
    expect(run.stdout).not.toMatch(/^TARGET\s+BUILDER/m);
    for (const engine of ["e1", "e2"]) expect(imagesOn(engine, p), engine).toEqual([]);

    const off = await bakeplan(["bake", "beta", "--builders", "e1,e2", "--no-preflight", ...INPUTS], {
      cwd: p.dir,
      env,
    });
    expect(off.code, off.stderr).not.toBe(0);
    expect(off.stderr).not.toContain("preflight");
    // buildx itself met the missing image, on a builder.
    expect(off.stderr).toMatch(/^bakeplan: \[e[12]\] docker --context e[12] buildx bake /m);
    expect(off.stderr).toContain(`bakeplan-missing-${p.id}/base`);
  });

  it("a secret read from a file outside the project reaches the RUN step on the builder the pool gives it", async () => {
    const { dir, token } = secretFileProject("bakeplan-test/pool-secret");
    const withToken = { ...env, BAKEPLAN_TEST_TOKEN_FILE: token };
    const args = ["bake", "runtime", "--builders", "e1,e2", "--no-preflight", "--", "--no-cache"];
    try {
      const run = await bakeplan(args, { cwd: dir, env: withToken });
      expect(run.stderr).not.toContain("additional privileges requested");
      ok(run);
      expect(run.stderr).toMatch(/^bakeplan: \[e[12]\] docker --context e[12] buildx bake .*--allow=fs\.read=/m);
      // The check inside the build is real: with the wrong content the RUN step fails.
      writeFileSync(token, "wrong");
      expect((await bakeplan(args, { cwd: dir, env: withToken })).code).not.toBe(0);
      // Unset, bake stops before any builder is started.
      const unset = await bakeplan(args, { cwd: dir, env });
      expect(unset.code).toBe(1);
      expect(unset.stderr).toContain("$BAKEPLAN_TEST_TOKEN_FILE is not set, and the secret tok of runtime");
      expect(unset.stderr).not.toMatch(/^bakeplan: \[e[12]\] /m);
    } finally {
      for (const engine of ["e1", "e2"])
        execFileSync("docker", ["--context", engine, "image", "rm", "--force", "bakeplan-test/pool-secret:runtime"], {
          env,
          stdio: "ignore",
        });
    }
  });

  it("Ctrl-C stops the bake of every builder: exit 130, and no buildx is left running", async () => {
    const p = project();
    const run = await new Promise<Run>((resolve, reject) => {
      const t0 = performance.now();
      const child = spawn(
        process.execPath,
        [join(REPO, "bin/bakeplan.js"), "bake", "all", "--builders", "e1,e2", ...INPUTS],
        {
          cwd: p.dir,
          env,
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let stdout = "";
      let stderr = "";
      let sent = false;
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        // Once both builders run a step.
        if (
          !sent &&
          /^\[e1\] #\d+ \[\S+ \S+ \d+\/\d+\] RUN /m.test(stderr) &&
          /^\[e2\] #\d+ \[\S+ \S+ \d+\/\d+\] RUN /m.test(stderr)
        ) {
          sent = true;
          child.kill("SIGINT");
        }
      });
      child.on("error", reject);
      child.on("close", (code, signal) =>
        resolve({ code, signal, stdout, stderr, seconds: (performance.now() - t0) / 1000 }),
      );
    });
    expect(run.code, run.stderr.slice(-3000)).toBe(130);
    expect(run.stderr).toMatch(/^bakeplan: error: interrupted; buildx stopped on every builder$/m);
    // Every buildx bake bakeplan started named this project's override file; none runs now.
    const left = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })
      .split("\n")
      .filter((l) => l.includes("buildx bake") && l.includes(p.repository));
    expect(left).toEqual([]);
  });

  describeWith(missingThirdEngine(), "a third engine, stopped and killed", () => {
    const e3 = () => engines().get("e3");
    const up = () => {
      execFileSync(join(REPO, "scripts/docker-up"), ["--engines", "3"], { stdio: "ignore", timeout: 300_000 });
      context("e3", e3()!);
    };
    // After a SIGKILL of its dockerd, e3's containerd may hold a half-renamed overlay snapshot, and
    // its next build fails before any step ("failed to rename .../snapshots/new-N .../snapshots/M:
    // file exists"). So a killed e3 is brought back on a clean data-root (docker-up imports
    // local/busybox:1 again), whoever started it: .ci/run starts e3 for these tests, and when its
    // e3 was only restarted the next test's bake on e3 failed before any step.
    // The killed dockerd also leaves its running steps' overlay mounts behind: unmounted here.
    const upAfterKill = () => {
      execFileSync(join(REPO, "scripts/docker-down"), ["--engine", "3"], { stdio: "ignore" });
      const root = join(STATE, "data/docker-e3");
      const mounts = readFileSync("/proc/mounts", "utf8")
        .split("\n")
        .map((l) => l.split(" ")[1] ?? "")
        .filter((m) => m.startsWith(`${root}/`))
        .sort((a, b) => b.length - a.length);
      for (const m of mounts) execFileSync("umount", [m], { stdio: "ignore" });
      rmSync(root, { recursive: true, force: true });
      up();
    };

    beforeAll(() => {
      if (!e3()) {
        up();
        startedE3 = true;
      } else context("e3", e3()!);
    });

    it("stopping e3 before a run moves exactly its targets to e1, and the run succeeds from the registry cache", async () => {
      const p = project();
      const planned = await assignment(p, "e1,e3");
      const onE3 = TARGETS.filter((t) => planned.get(t) === "e3");
      expect(onE3.length).toBeGreaterThan(0);
      expect(onE3.length).toBeLessThan(TARGETS.length);
      // Fill the registry cache from e1 alone, then start cold on e1.
      ok(await bakeplan(["bake", "all", "--builders", "e1", ...INPUTS], { cwd: p.dir, env }));
      docker(["--context", "e1", "buildx", "prune", "-af"]);
      removeImagesOn("e1", p);

      execFileSync(join(REPO, "scripts/docker-down"), ["--engine", "3"], { stdio: "ignore" });
      try {
        const run = ok(await bakeplan(["bake", "all", "--builders", "e1,e3", ...INPUTS], { cwd: p.dir, env }));
        expect(run.stderr).toMatch(/^bakeplan: builder e3 is not available: /m);
        // One line per unit: each target of the fixture is one (a Dockerfile of its own).
        expect(run.stderr).toContain(`bakeplan: ${onE3[0]}: e3 -> e1 (e3 is not available; `);
        const rows = poolRows(run.stdout);
        for (const t of TARGETS) expect(rows.get(t), t).toMatchObject({ builder: "e1", cache: "fully cached" });
        // Exactly e3's targets moved: the others were on e1 already.
        const moved = [...run.stderr.matchAll(/^bakeplan: (\S.*): e3 -> e1 /gm)].flatMap((m) => m[1]!.split(", "));
        expect(moved.sort()).toEqual(onE3);
        expect(run.stderr).not.toMatch(/^bakeplan: \[e3\]/m);
      } finally {
        up();
      }
    });

    /** `bakeplan bake` that SIGKILLs e3's dockerd once e3's bake has started a RUN step. */
    const bakeKillingE3 = (p: Project, args: string[]): Promise<Run & { killed: boolean }> =>
      new Promise((resolve, reject) => {
        const t0 = performance.now();
        const child = spawn(process.execPath, [join(REPO, "bin/bakeplan.js"), ...args], {
          cwd: p.dir,
          env,
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        let killed = false;
        child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
        child.stderr.on("data", (d: Buffer) => {
          stderr += d.toString();
          if (!killed && /^\[e3\] #\d+ \[\S+ \S+ \d+\/\d+\] RUN /m.test(stderr)) {
            killed = true;
            const pid = Number(readFileSync(join(STATE, "run/e3/dockerd.pid"), "utf8"));
            process.kill(pid, "SIGKILL");
          }
        });
        child.on("error", reject);
        child.on("close", (code, signal) =>
          resolve({ code, signal, stdout, stderr, seconds: (performance.now() - t0) / 1000, killed }),
        );
      });

    it("killing e3 during a run fails its targets with a message naming it; --keep-going lets e1 finish", async () => {
      const p = project();
      const planned = await assignment(p, "e1,e3");
      const onE3 = TARGETS.filter((t) => planned.get(t) === "e3");
      try {
        const run = await bakeKillingE3(p, ["bake", "all", "--builders", "e1,e3", "--keep-going", ...INPUTS]);
        expect(run.killed, run.stderr.slice(-3000)).toBe(true);
        expect(run.code).not.toBe(0);
        expect(run.stderr).toMatch(
          /^bakeplan: builder e3 was lost during its bake \(docker buildx bake exited \d+; docker buildx inspect --bootstrap e3: .+\)$/m,
        );
        // Exactly e3's targets (how many depends on the run's random keys and the load cap).
        const notBuilt = onE3.length === 1 ? "1 target" : `${onE3.length} targets`;
        expect(run.stderr).toMatch(
          new RegExp(
            `^bakeplan: error: builder e3 was lost during its bake .*\\(${notBuilt} not built; see the summary above\\)$`,
            "m",
          ),
        );
        const rows = poolRows(run.stdout);
        for (const t of TARGETS)
          if (onE3.includes(t)) expect(rows.get(t), t).toMatchObject({ builder: "e3", cache: "failed" });
          else expect(rows.get(t)!.cache, t).toMatch(/^\d+ of \d+ steps built$/);
      } finally {
        upAfterKill();
      }
    });

    it("with --retry-on-other, the killed builder's targets are rebuilt on e1 and the run succeeds", async () => {
      const p = project();
      const planned = await assignment(p, "e1,e3");
      const onE3 = TARGETS.filter((t) => planned.get(t) === "e3");
      try {
        const run = await bakeKillingE3(p, ["bake", "all", "--builders", "e1,e3", "--retry-on-other", ...INPUTS]);
        expect(run.killed, run.stderr.slice(-3000)).toBe(true);
        ok(run);
        expect(run.stderr).toContain(`; rebuilding on the next builder of their ranking: ${onE3.join(", ")} on e1`);
        const rows = poolRows(run.stdout);
        for (const t of TARGETS) expect(rows.get(t)!.builder, t).toBe("e1");
        expect(imagesOn("e1", p)).toEqual(TARGETS.flatMap((t) => [p.image(t, "latest"), p.image(t, "main")]).sort());
      } finally {
        upAfterKill();
      }
    });
  });
});

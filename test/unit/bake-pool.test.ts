// `bakeplan bake --builders` without docker: probes read from `docker buildx inspect` output
// (captured from the real engines, test/fixtures/buildx/<version>/inspect-*.json; remote and
// kubernetes builders from hand-written representative output, test/fixtures/buildx-representative/),
// the exact buildx argv of each builder, and the scheduler fed with captured bake output.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  afterProbes,
  builderAccess,
  builderRuns,
  poolFailure,
  poolTargetRuns,
  prefixed,
  probeNotes,
  runPool,
  targetsByBuilder,
  type PoolDeps,
  type PoolOutcome,
  type PoolOptions,
  type PoolRunSettings,
} from "../../src/command-support/bake-pool.js";
import { poolPlan, refusePoolMisuse } from "../../src/commands/bake.js";
import { UsageError, UserError } from "../../src/errors.js";
import { judgeProbe, parseInspect, type BuilderProbe, type RunResult } from "../../src/io/buildx.js";
import type { AffinityUnit } from "../../src/plan/affinity.js";
import { assignBuilders, type Assignment } from "../../src/plan/builders.js";
import type { BuilderPlan } from "../../src/plan/pool.js";
import { capturedBuildxVersions, capturedRun, REPO, type CapturedRun } from "../helpers.js";
import { summarize, summaryTable } from "../../src/command-support/build-summary.js";

/** The table `bake --builders` prints for a pool's outcome. */
function poolSummaryTable(targets: string[], outcome: PoolOutcome): string {
  const runs = poolTargetRuns(outcome);
  return summaryTable(
    summarize({ targets, metadata: outcome.metadata, runs, cacheRefs: () => ({ cacheFrom: [], cacheTo: [] }) }),
  );
}

const VERSION = capturedBuildxVersions().at(-1)!;
const PROBE = { bootstrap: true, timeoutMs: 60_000 };

function representative(name: string): CapturedRun {
  return JSON.parse(
    readFileSync(join(REPO, "test/fixtures/buildx-representative", `${name}.json`), "utf8"),
  ) as CapturedRun;
}

function probeOf(builder: string, run: CapturedRun): BuilderProbe {
  return judgeProbe(builder, run.argv, run, PROBE);
}

const SETTINGS: PoolRunSettings = {
  file: "docker-bake.json",
  sets: [],
  push: false,
  load: false,
  oneByOne: false,
  extra: [],
  progress: "rawjson",
};

describe("probing a builder: docker buildx inspect --bootstrap", () => {
  it("a docker-driver builder of another engine (captured): running, its platforms", () => {
    const run = capturedRun(VERSION, "inspect-docker");
    expect(parseInspect(run.stdout)).toMatchObject({
      name: "e2",
      driver: "docker",
      nodes: [{ name: "e2", status: "running" }],
    });
    expect(probeOf("e2", run)).toEqual({
      builder: "e2",
      ok: true,
      driver: "docker",
      platforms: ["linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/amd64/v4"],
      argv: ["buildx", "inspect", "--bootstrap", "e2"],
    });
  });

  it("an engine that does not answer (captured): buildx exits 0 and prints Error:, the probe says the builder is not available", () => {
    const run = capturedRun(VERSION, "inspect-down");
    expect(run.exitCode).toBe(0);
    const probe = probeOf("down", run);
    expect(probe.ok).toBe(false);
    expect(probe.reason).toMatch(
      /^Cannot connect to the Docker daemon at unix:\/\/.*no-engine\.sock\. Is the docker daemon running\?$/,
    );
  });

  it("a builder that does not exist (captured): buildx's error line", () => {
    expect(probeOf("nosuch", capturedRun(VERSION, "inspect-missing"))).toMatchObject({
      ok: false,
      reason: 'ERROR: no builder "nosuch" found',
    });
  });

  it("no answer within the timeout", () => {
    expect(
      judgeProbe("slow", ["buildx"], { exitCode: 1, stdout: "", stderr: "", timedOut: true }, PROBE),
    ).toMatchObject({
      ok: false,
      reason: "no answer within 60s",
    });
  });

  it("a remote builder of two nodes (representative output): both nodes' platforms, without buildx's * marks", () => {
    const run = representative("inspect-remote");
    const info = parseInspect(run.stdout);
    expect(info.driver).toBe("remote");
    expect(info.nodes.map((n) => [n.name, n.endpoint])).toEqual([
      ["bk-pool-00", "tcp://buildkit-amd64-0.buildkit-amd64-headless.buildkit.svc.cluster.local:1234"],
      ["bk-pool-01", "tcp://buildkit-arm64-0.buildkit-arm64-headless.buildkit.svc.cluster.local:1234"],
    ]);
    expect(probeOf("bk-pool-0", run)).toMatchObject({
      ok: true,
      driver: "remote",
      platforms: [
        "linux/amd64",
        "linux/amd64/v2",
        "linux/amd64/v3",
        "linux/386",
        "linux/arm64",
        "linux/arm/v7",
        "linux/arm/v6",
      ],
    });
  });

  it("a kubernetes builder (representative output)", () => {
    expect(probeOf("kube", representative("inspect-kubernetes"))).toMatchObject({
      ok: true,
      driver: "kubernetes",
      platforms: ["linux/amd64", "linux/amd64/v2", "linux/amd64/v3", "linux/386", "linux/arm64"],
    });
  });

  it("a builder whose nodes are all in error, or not running, is not available", () => {
    const stdout = "Name: b\nDriver: remote\n\nNodes:\nName: b0\nEndpoint: tcp://x:1234\nError: connection refused\n";
    expect(judgeProbe("b", [], { exitCode: 0, stdout, stderr: "" }, PROBE)).toMatchObject({
      ok: false,
      reason: "node b0 is in error: connection refused",
    });
    const stopped = "Name: b\nDriver: docker-container\n\nNodes:\nName: b0\nEndpoint: unix:///x\nStatus: stopped\n";
    expect(judgeProbe("b", [], { exitCode: 0, stdout: stopped, stderr: "" }, PROBE).reason).toBe("node b0 is stopped");
    // Without --bootstrap (dry runs) an inactive node is fine.
    expect(judgeProbe("b", [], { exitCode: 0, stdout: stopped, stderr: "" }, { ...PROBE, bootstrap: false }).ok).toBe(
      true,
    );
  });
});

describe("the exact buildx argv of each builder", () => {
  const targets = ["vllm-cuda12", "vllm-cuda12-dev"];
  const settings: PoolRunSettings = {
    ...SETTINGS,
    overrideFile: "/tmp/x/override.json",
    sets: [
      "vllm-cuda12.cache-from=type=registry,ref=r/c:vllm-cuda12-main",
      "sglang.cache-from=x",
      "*.output=type=cacheonly",
    ],
    push: true,
    extra: ["--no-cache"],
  };
  const meta = () => "<metadata>";
  const tail = ["-f", "docker-bake.json", "-f", "/tmp/x/override.json"];
  const rest = [
    "--progress=rawjson",
    "--metadata-file",
    "<metadata>",
    "--push",
    "--set",
    "vllm-cuda12.cache-from=type=registry,ref=r/c:vllm-cuda12-main",
    "--set",
    "*.output=type=cacheonly",
    "--no-cache",
    "vllm-cuda12",
    "vllm-cuda12-dev",
  ];

  it("docker driver: docker --context <builder> buildx bake --builder <builder> (it refuses --builder from another context)", () => {
    const access = builderAccess(probeOf("e2", capturedRun(VERSION, "inspect-docker")));
    expect(access).toEqual({ builder: "e2", context: "e2" });
    expect(builderRuns(access, targets, settings, meta)[0]!.argv).toEqual([
      "--context",
      "e2",
      "buildx",
      "bake",
      ...tail,
      "--builder",
      "e2",
      ...rest,
    ]);
  });

  it("remote driver: docker buildx bake --builder <builder>", () => {
    const access = builderAccess(probeOf("bk-pool-0", representative("inspect-remote")));
    expect(builderRuns(access, targets, settings, meta)[0]!.argv).toEqual([
      "buildx",
      "bake",
      ...tail,
      "--builder",
      "bk-pool-0",
      ...rest,
    ]);
  });

  it("kubernetes driver: docker buildx bake --builder <builder>", () => {
    const access = builderAccess(probeOf("kube", representative("inspect-kubernetes")));
    expect(builderRuns(access, targets, settings, meta)[0]!.argv).toEqual([
      "buildx",
      "bake",
      ...tail,
      "--builder",
      "kube",
      ...rest,
    ]);
  });

  it("a secret file outside the project is granted on every builder's bake, as on one builder", () => {
    const runs = builderRuns({ builder: "kube" }, targets, { ...settings, allow: ["fs.read=/run/secrets/t"] }, meta);
    expect(runs[0]!.argv).toContain("--allow=fs.read=/run/secrets/t");
    expect(
      builderRuns({ builder: "kube" }, targets, settings, meta)[0]!.argv.some((a) => a.startsWith("--allow")),
    ).toBe(false);
  });

  it("--one-by-one: one bake per target on that builder, each with its own --set values and metadata file", () => {
    let n = 0;
    const runs = builderRuns({ builder: "kube" }, targets, { ...settings, oneByOne: true }, (b) => `<${b}-${n++}>`);
    expect(runs.map((r) => [r.targets, r.metadataFile])).toEqual([
      [["vllm-cuda12"], "<kube-0>"],
      [["vllm-cuda12-dev"], "<kube-1>"],
    ]);
    expect(runs[1]!.argv.filter((a) => a.includes("cache-from"))).toEqual([]);
  });
});

function unit(targets: string[], key: string, weight = 1, platforms: string[] = []): AffinityUnit {
  return { targets, key, label: key, weight, platforms, origin: { kind: "own", stage: "s", dockerfile: "d" } };
}

/** Two units of two targets each, on a pool of e1 and e2 without a binding cap: each on its first choice. */
function twoUnits(): Assignment {
  const units = [
    unit(["alpha-cuda12", "alpha-cuda12-dev"], "kA", 5),
    unit(["beta-cuda12", "beta-cuda12-dev"], "kB", 5),
  ];
  let { assignment } = assignBuilders(
    units,
    [
      { name: "e1", weight: 1 },
      { name: "e2", weight: 1 },
    ],
    1e9,
  );
  // The tests want the units apart; with these keys both might rank one builder first.
  if (assignment.builderOf.get("alpha-cuda12") === assignment.builderOf.get("beta-cuda12"))
    assignment = assignBuilders(
      [unit(["alpha-cuda12", "alpha-cuda12-dev"], "kA", 5), unit(["beta-cuda12", "beta-cuda12-dev"], "kC", 5)],
      [
        { name: "e1", weight: 1 },
        { name: "e2", weight: 1 },
      ],
      1e9,
    ).assignment;
  expect(assignment.builderOf.get("alpha-cuda12")).not.toBe(assignment.builderOf.get("beta-cuda12"));
  return assignment;
}

const ok = (builder: string): BuilderProbe => ({ builder, ok: true, driver: "docker", platforms: [], argv: [] });
const down = (builder: string): BuilderProbe => ({
  builder,
  ok: false,
  reason: "Cannot connect to the Docker daemon",
  platforms: [],
  argv: ["buildx", "inspect", "--bootstrap", builder],
});

describe("probes before the build", () => {
  it("a builder that does not answer hands its units to the next builder of their ranking, and the notes say so", () => {
    const assignment = twoUnits();
    const onE2 = [...assignment.builderOf]
      .filter(([, b]) => b === "e2")
      .map(([t]) => t)
      .sort();
    const probes = new Map([
      ["e1", ok("e1")],
      ["e2", down("e2")],
    ]);
    const after = afterProbes(assignment, probes);
    expect(after.gone).toEqual(["e2"]);
    expect([...new Set(after.assignment.builderOf.values())]).toEqual(["e1"]);
    expect(probeNotes(probes, after.moves, new Set([...assignment.builderOf.keys()]))).toEqual([
      "builder e2 is not available: Cannot connect to the Docker daemon",
      `${onE2.join(", ")}: e2 -> e1 (e2 is not available; the next builder in its ranking)`,
    ]);
  });

  it("a builder that lists platforms (its probe) that a unit lacks is not used for it", () => {
    const units = [unit(["m"], "k", 1, ["linux/arm64"])];
    const { assignment } = assignBuilders(
      units,
      [
        { name: "e1", weight: 1 },
        { name: "e2", weight: 1 },
      ],
      1.25,
    );
    const on = assignment.builderOf.get("m")!;
    const other = on === "e1" ? "e2" : "e1";
    const probes = new Map([
      [on, { ...ok(on), platforms: ["linux/amd64"] }],
      [other, { ...ok(other), platforms: ["linux/amd64", "linux/arm64"] }],
    ]);
    expect(afterProbes(assignment, probes).assignment.builderOf.get("m")).toBe(other);
  });

  it("every builder gone is an error listing each; so is a target no available builder can build", () => {
    const pool: BuilderPlan = { assignment: twoUnits(), unitOf: new Map(), groups: new Map(), fromCommandLine: true };
    const selected = ["alpha-cuda12"];
    expect(() =>
      poolPlan(
        pool,
        new Map([
          ["e1", down("e1")],
          ["e2", down("e2")],
        ]),
        selected,
        SETTINGS,
        () => "<m>",
      ),
    ).toThrow(
      new UserError(
        "no builder of the pool is available\n  builder e1 is not available: Cannot connect to the Docker daemon\n  builder e2 is not available: Cannot connect to the Docker daemon",
      ),
    );
  });

  it("poolPlan: one run per builder with its share of the selected targets", () => {
    const assignment = twoUnits();
    const pool: BuilderPlan = { assignment, unitOf: new Map(), groups: new Map(), fromCommandLine: true };
    const selected = ["alpha-cuda12", "beta-cuda12", "beta-cuda12-dev"];
    const { runs, access } = poolPlan(
      pool,
      new Map([
        ["e1", ok("e1")],
        ["e2", ok("e2")],
      ]),
      selected,
      SETTINGS,
      (b) => `<${b}>`,
    );
    expect(runs.map((r) => [r.builder, r.targets]).sort()).toEqual([...targetsByBuilder(assignment, selected)].sort());
    expect(access.get("e1")).toEqual({ builder: "e1", context: "e1" });
  });
});

/** A fake `docker buildx bake`: per builder, the captured output it replays, and a gate the test opens. */
interface FakeBake {
  exitCode: number;
  stderr: string;
  metadata?: Record<string, unknown>;
  /** Resolve to let the bake end; a bake that is aborted first ends as canceled. */
  gate?: Promise<void>;
  interrupted?: boolean;
}

function renamed(run: CapturedRun, from: string, to: string): { stderr: string; metadata: Record<string, unknown> } {
  const swap = (s: string) => s.replaceAll(from, to);
  return {
    stderr: swap(run.stderr),
    metadata: JSON.parse(swap(JSON.stringify(run.metadata ?? {}))) as Record<string, unknown>,
  };
}

function fakeDeps(
  bakes: (builder: string, targets: string[], attempt: number) => FakeBake,
  probes: (builder: string) => BuilderProbe = ok,
) {
  const events: string[] = [];
  const metadataFiles = new Map<string, Record<string, unknown>>();
  const attempts = new Map<string, number>();
  let n = 0;
  const deps: PoolDeps = {
    async run(argv, o): Promise<RunResult> {
      const builder = argv[argv.indexOf("--builder") + 1]!;
      const metadataFile = argv[argv.indexOf("--metadata-file") + 1]!;
      const targets = argv.slice(argv.lastIndexOf("--metadata-file") + 2).filter((a) => !a.startsWith("-"));
      const attempt = attempts.get(builder) ?? 0;
      attempts.set(builder, attempt + 1);
      const bake = bakes(builder, targets, attempt);
      events.push(`start ${builder} ${targets.join(",")}`);
      const aborted = new Promise<"aborted">((resolve) => o.signal.addEventListener("abort", () => resolve("aborted")));
      const how = await Promise.race([bake.gate ?? Promise.resolve(), aborted]);
      if (how === "aborted") {
        events.push(`canceled ${builder}`);
        return { exitCode: 1, stderr: "", interrupted: false, canceled: true };
      }
      for (const line of bake.stderr.split("\n")) o.onStderrLine(line);
      if (bake.exitCode === 0 && bake.metadata) metadataFiles.set(metadataFile, bake.metadata);
      events.push(`end ${builder} ${bake.exitCode}`);
      return { exitCode: bake.exitCode, stderr: "", interrupted: bake.interrupted ?? false };
    },
    probe: (builder) => {
      events.push(`probe ${builder}`);
      return Promise.resolve(probes(builder));
    },
    readMetadata: (file) => metadataFiles.get(file) ?? {},
    metadataFile: (builder) => `<metadata-${builder}-${n++}>`,
  };
  return { deps, events };
}

function captureOutput() {
  const err: string[] = [];
  return { output: { out: () => undefined, err: (s: string) => void err.push(s) }, err };
}

function options(assignment: Assignment, more: Partial<PoolOptions> = {}): PoolOptions {
  return {
    settings: SETTINGS,
    access: new Map(assignment.builders.map((b) => [b.name, { builder: b.name }])),
    keepGoing: false,
    retryOnOther: false,
    maxParallel: 2,
    where: "",
    ...more,
  };
}

function initialRuns(assignment: Assignment, opts: PoolOptions) {
  let n = 0;
  return [...targetsByBuilder(assignment, [...assignment.builderOf.keys()])].flatMap(([b, ts]) =>
    builderRuns(opts.access.get(b)!, ts, opts.settings, (x) => `<metadata-${x}-init${n++}>`),
  );
}

function gate() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe("runPool: one bake per builder, side by side", () => {
  const cold = capturedRun(VERSION, "bake-cold"); // alpha-cuda12, alpha-cuda12-dev built
  const warm = renamed(capturedRun(VERSION, "bake-warm"), "alpha-cuda12", "beta-cuda12"); // fully cached
  const failed = capturedRun(VERSION, "bake-failed"); // beta-cuda13-dev fails

  it("runs every builder's bake at once, prefixes their output, merges metadata; the summary has a BUILDER column", async () => {
    const assignment = twoUnits();
    const alpha = assignment.builderOf.get("alpha-cuda12")!;
    const beta = assignment.builderOf.get("beta-cuda12")!;
    const both = { a: gate(), b: gate() };
    const { deps, events } = fakeDeps((b) =>
      b === alpha
        ? { exitCode: 0, stderr: cold.stderr, metadata: cold.metadata ?? {}, gate: both.a.promise }
        : { exitCode: 0, stderr: warm.stderr, metadata: warm.metadata, gate: both.b.promise },
    );
    const { output, err } = captureOutput();
    const opts = options(assignment);
    const done = runPool({ assignment, runs: initialRuns(assignment, opts) }, opts, deps, output);
    await new Promise((r) => setTimeout(r, 10));
    // Both started before either ended.
    expect(events.filter((e) => e.startsWith("start"))).toHaveLength(2);
    both.b.open();
    both.a.open();
    const outcome = await done;
    expect(outcome.failures).toEqual([]);
    const text = err.join("");
    expect(text).toMatch(
      new RegExp(`^bakeplan: \\[${alpha}\\] docker buildx bake -f docker-bake.json --builder ${alpha} `, "m"),
    );
    expect(text).toMatch(new RegExp(`^\\[${alpha}\\] #\\d+ \\[alpha-cuda12-dev dev 1/1\\] RUN`, "m"));
    expect(text).toMatch(new RegExp(`^\\[${beta}\\] #\\d+ CACHED$`, "m"));
    expect(
      Object.keys(outcome.metadata)
        .filter((k) => !k.startsWith("buildx."))
        .sort(),
    ).toEqual(["alpha-cuda12", "alpha-cuda12-dev", "beta-cuda12", "beta-cuda12-dev"]);
    const summary = poolSummaryTable(["alpha-cuda12", "alpha-cuda12-dev", "beta-cuda12", "beta-cuda12-dev"], outcome);
    const rows = summary.split("\n");
    expect(rows[0]).toMatch(/^TARGET +BUILDER +CACHE +DIGEST +TAGS$/);
    expect(rows[1]).toMatch(new RegExp(`^alpha-cuda12 +${alpha} +4 of 4 steps built +sha256:[0-9a-f]{12} `));
    expect(rows[3]).toMatch(new RegExp(`^beta-cuda12 +${beta} +fully cached +sha256:[0-9a-f]{12} `));
  });

  it("--max-parallel 1: one bake at a time", async () => {
    const assignment = twoUnits();
    const { deps, events } = fakeDeps((b) => ({ exitCode: 0, stderr: b === "e1" ? cold.stderr : warm.stderr }));
    const opts = options(assignment, { maxParallel: 1 });
    await runPool({ assignment, runs: initialRuns(assignment, opts) }, opts, deps, captureOutput().output);
    expect(events.map((e) => e.split(" ")[0])).toEqual(["start", "end", "start", "end"]);
  });

  it("a failed bake stops the other builders' bakes; the failure names the builder and target", async () => {
    const assignment = twoUnits();
    const alpha = assignment.builderOf.get("alpha-cuda12")!;
    const never = gate();
    const { deps, events } = fakeDeps((b) =>
      b === alpha
        ? { exitCode: 0, stderr: cold.stderr, gate: never.promise }
        : { exitCode: 1, stderr: renamed(failed, "beta-cuda13-dev", "beta-cuda12-dev").stderr },
    );
    const opts = options(assignment);
    const outcome = await runPool(
      { assignment, runs: initialRuns(assignment, opts) },
      opts,
      deps,
      captureOutput().output,
    );
    const beta = assignment.builderOf.get("beta-cuda12")!;
    expect(events).toContain(`probe ${beta}`);
    expect(events).toContain(`canceled ${alpha}`);
    expect(outcome.failures).toEqual([
      {
        builder: beta,
        exitCode: 1,
        message: `the bake on ${beta} failed with exit code 1: target beta-cuda12-dev failed`,
        // The Dockerfile line buildx's error names, for bake to map to its template line.
        at: { dockerfile: "beta-cuda12-dev.Dockerfile", line: 34 },
      },
    ]);
    expect(outcome.byTarget.get("beta-cuda12-dev")).toMatchObject({ status: "failed", builder: beta });
    expect(outcome.byTarget.get("alpha-cuda12")).toMatchObject({ status: "stopped", builder: alpha });
    expect(poolFailure(outcome)).toBe(
      `the bake on ${beta} failed with exit code 1: target beta-cuda12-dev failed; the failing step: beta-cuda12-dev.Dockerfile:34 (4 targets not built; see the summary above)`,
    );
    expect(poolFailure(outcome, (at) => `templates/Dockerfile.liquid:28 (bake/${at.dockerfile}:${at.line})`)).toBe(
      `the bake on ${beta} failed with exit code 1: target beta-cuda12-dev failed; the failing step: templates/Dockerfile.liquid:28 (bake/beta-cuda12-dev.Dockerfile:34) (4 targets not built; see the summary above)`,
    );
    expect(poolSummaryTable(["alpha-cuda12", "beta-cuda12-dev"], outcome)).toMatch(
      new RegExp(`\\nalpha-cuda12 +${alpha} +stopped +- +-\\nbeta-cuda12-dev +${beta} +failed +- +-\\n`),
    );
  });

  it("--keep-going: the other builders finish", async () => {
    const assignment = twoUnits();
    const alpha = assignment.builderOf.get("alpha-cuda12")!;
    const later = gate();
    const { deps } = fakeDeps((b) =>
      b === alpha
        ? { exitCode: 0, stderr: cold.stderr, metadata: cold.metadata ?? {}, gate: later.promise }
        : { exitCode: 1, stderr: renamed(failed, "beta-cuda13-dev", "beta-cuda12-dev").stderr },
    );
    const opts = options(assignment, { keepGoing: true });
    const done = runPool({ assignment, runs: initialRuns(assignment, opts) }, opts, deps, captureOutput().output);
    await new Promise((r) => setTimeout(r, 10));
    later.open();
    const outcome = await done;
    expect(outcome.failures).toHaveLength(1);
    expect(outcome.byTarget.get("alpha-cuda12")?.status).toBe("built");
    expect(outcome.byTarget.get("alpha-cuda12-dev")?.status).toBe("built");
  });

  it("a builder lost mid-run: its bake fails with a message naming the builder and what its probe said", async () => {
    const assignment = twoUnits();
    const beta = assignment.builderOf.get("beta-cuda12")!;
    const { deps } = fakeDeps(
      (b) =>
        b === beta
          ? {
              exitCode: 1,
              stderr:
                "ERROR: failed to receive status: rpc error: code = Unavailable desc = error reading from server: EOF",
            }
          : { exitCode: 0, stderr: cold.stderr },
      (b) => (b === beta ? down(b) : ok(b)),
    );
    const { output, err } = captureOutput();
    const opts = options(assignment, { keepGoing: true });
    const outcome = await runPool({ assignment, runs: initialRuns(assignment, opts) }, opts, deps, output);
    const message = `builder ${beta} was lost during its bake (docker buildx bake exited 1; docker buildx inspect --bootstrap ${beta}: Cannot connect to the Docker daemon)`;
    expect(outcome.failures).toEqual([{ builder: beta, exitCode: 1, message }]);
    expect(err.join("")).toContain(`bakeplan: ${message}\n`);
    expect(outcome.byTarget.get("beta-cuda12")).toMatchObject({ status: "failed", why: `builder ${beta} lost` });
  });

  it("--retry-on-other: a lost builder's targets are rebuilt on the next builder of their ranking, and the build succeeds", async () => {
    const assignment = twoUnits();
    const alpha = assignment.builderOf.get("alpha-cuda12")!;
    const beta = assignment.builderOf.get("beta-cuda12")!;
    const { deps, events } = fakeDeps(
      (b, targets) =>
        b === beta
          ? { exitCode: 1, stderr: "ERROR: failed to receive status: EOF" }
          : targets[0] === "beta-cuda12"
            ? { exitCode: 0, stderr: warm.stderr, metadata: warm.metadata }
            : { exitCode: 0, stderr: cold.stderr, metadata: cold.metadata ?? {} },
      (b) => (b === beta ? down(b) : ok(b)),
    );
    const { output, err } = captureOutput();
    const opts = options(assignment, { retryOnOther: true });
    const outcome = await runPool({ assignment, runs: initialRuns(assignment, opts) }, opts, deps, output);
    expect(outcome.failures).toEqual([]);
    expect(events.filter((e) => e.startsWith("start")).sort()).toEqual(
      [
        `start ${alpha} alpha-cuda12,alpha-cuda12-dev`,
        `start ${beta} beta-cuda12,beta-cuda12-dev`,
        `start ${alpha} beta-cuda12,beta-cuda12-dev`,
      ].sort(),
    );
    expect(outcome.byTarget.get("beta-cuda12")).toMatchObject({ status: "built", builder: alpha, retriedFrom: beta });
    expect(err.join("")).toContain(
      `; rebuilding on the next builder of their ranking: beta-cuda12, beta-cuda12-dev on ${alpha}\n`,
    );
  });

  it("Ctrl-C: every bake stops, and the outcome says interrupted", async () => {
    const assignment = twoUnits();
    const alpha = assignment.builderOf.get("alpha-cuda12")!;
    const never = gate();
    const { deps, events } = fakeDeps((b) =>
      b === alpha ? { exitCode: 1, stderr: "", gate: never.promise } : { exitCode: 130, stderr: "", interrupted: true },
    );
    const opts = options(assignment);
    const outcome = await runPool(
      { assignment, runs: initialRuns(assignment, opts) },
      opts,
      deps,
      captureOutput().output,
    );
    expect(outcome.interrupted).toBe(true);
    expect(events).toContain(`canceled ${alpha}`);
    expect(events.some((e) => e.startsWith("probe"))).toBe(false);
  });
});

describe("options", () => {
  it.each([
    [
      { builders: ["a"], builder: "b" },
      "--builder names one builder for every target; it cannot be combined with --builders or --pool",
    ],
    [
      { builders: ["a"], pool: true },
      "--pool uses builders.pool of context.yaml and --builders names a pool; give one of them",
    ],
    [
      { keepGoing: true, maxParallel: 2 },
      "--keep-going, --max-parallel only apply to a builder pool: add --builders a,b or --pool",
    ],
    [{ retryOnOther: true }, "--retry-on-other only apply to a builder pool: add --builders a,b or --pool"],
  ])("%o is refused", (opts, message) => {
    expect(() => refusePoolMisuse(opts)).toThrow(new UsageError(message));
  });

  it("prefixes each line with its builder; a blank line with the builder alone", () => {
    expect(prefixed("e1", "#1 a\n\n#2 b\n")).toBe("[e1] #1 a\n[e1]\n[e1] #2 b\n");
    expect(prefixed("e1", "")).toBe("");
  });
});

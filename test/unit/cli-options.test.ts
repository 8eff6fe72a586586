// The command line apart from the commands: argv -> each command's options, and how bin.ts turns
// what a command throws into a message and an exit code. The commands are replaced by spies.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { BuildxError, ConfigError, UsageError, UserError } from "../../src/errors.js";
import { runCli } from "../helpers.js";

const calls: { last: unknown; error: Error | undefined } = vi.hoisted(() => ({ last: undefined, error: undefined }));
function record(opts: unknown): void {
  calls.last = opts;
  if (calls.error) throw calls.error;
}

vi.mock("../../src/commands/plan.js", () => ({ plan: record }));
vi.mock("../../src/commands/list.js", () => ({ list: record }));
vi.mock("../../src/commands/render.js", () => ({ render: record }));
vi.mock("../../src/commands/explain.js", () => ({ explain: record }));
vi.mock("../../src/commands/check.js", () => ({ check: record }));
vi.mock("../../src/commands/bake.js", () => ({ bake: record }));
vi.mock("../../src/commands/lint.js", () => ({ lint: record }));
vi.mock("../../src/commands/schema.js", () => ({ schema: () => record(undefined) }));
vi.mock("../../src/commands/affected.js", () => ({ affected: record }));
vi.mock("../../src/commands/images.js", () => ({ images: record }));
vi.mock("../../src/commands/preflight.js", () => ({ preflight: record }));
vi.mock("../../src/commands/lock.js", () => ({ lock: record }));

beforeEach(() => {
  calls.last = undefined;
  calls.error = undefined;
  for (const name of ["BAKEPLAN_VERSION", "BAKEPLAN_SHA", "BAKEPLAN_BRANCH", "BAKEPLAN_REGISTRY", "BAKEPLAN_BUILDERS"])
    vi.stubEnv(name, undefined);
  return () => vi.unstubAllEnvs();
});

const PLAN_DEFAULTS = {
  config: "context.yaml",
  set: [],
  only: [],
  inputs: {},
  inputVariables: {},
  strict: false,
  verbose: false,
  locked: false,
};

describe("argv -> command options", () => {
  // prettier-ignore
  it.each([
    { args: ["plan"], options: { ...PLAN_DEFAULTS, maxVariants: undefined, out: undefined } },
    {
      args: ["plan", "-c", "x.yaml", "--set", "A=1", "--set", "B=x=y", "--only", "framework=vllm", "--only", "dev", "--image-version", "1.2.0", "--sha", "abc", "--branch", "main", "--registry", "r.example.com", "--strict", "--max-variants", "20", "-v", "-o", "out.json"],
      options: { config: "x.yaml", set: [{ name: "A", value: "1" }, { name: "B", value: "x=y" }], only: ["framework=vllm", "dev"], inputs: { version: "1.2.0", sha: "abc", branch: "main", registry: "r.example.com" }, inputVariables: {}, strict: true, maxVariants: 20, verbose: true, locked: false, out: "out.json" },
    },
    { args: ["list", "--json", "--all", "--only", "os=ubi"], options: { ...PLAN_DEFAULTS, only: ["os=ubi"], maxVariants: undefined, json: true, all: true } },
    { args: ["render", "vllm", "--set", "A=1"], options: { ...PLAN_DEFAULTS, set: [{ name: "A", value: "1" }], maxVariants: undefined, target: "vllm" } },
    { args: ["explain", "vllm", "A", "B", "--branch", "feat/x"], options: { ...PLAN_DEFAULTS, inputs: { branch: "feat/x" }, maxVariants: undefined, target: "vllm", args: ["A", "B"] } },
    { args: ["check", "--out", "b.json", "--image-version", "2"], options: { ...PLAN_DEFAULTS, inputs: { version: "2" }, maxVariants: undefined, out: "b.json" } },
    {
      args: ["bake", "a", "grp", "--push", "--load", "--builder", "ci", "--dry-run", "--metadata-file", "m.json", "--summary-json", "s.json", "--cache-warm", "--one-by-one", "--", "--no-cache", "--progress=plain"],
      options: { ...PLAN_DEFAULTS, maxVariants: undefined, targets: ["a", "grp"], out: undefined, push: true, load: true, builder: "ci", dryRun: true, metadataFile: "m.json", summaryJson: "s.json", cacheWarm: true, oneByOne: true, affected: undefined, preflight: true, timeoutMs: 10_000, extra: ["--no-cache", "--progress=plain"], pool: false, keepGoing: false, retryOnOther: false },
    },
    {
      args: ["bake", "all", "--builders", "b1,b2", "--keep-going", "--retry-on-other", "--max-parallel", "3", "--probe-timeout", "20"],
      options: { ...PLAN_DEFAULTS, maxVariants: undefined, builders: ["b1", "b2"], targets: ["all"], out: undefined, push: false, load: false, builder: undefined, dryRun: false, metadataFile: undefined, cacheWarm: false, oneByOne: false, affected: undefined, preflight: true, timeoutMs: 10_000, extra: [], pool: false, keepGoing: true, retryOnOther: true, maxParallel: 3, probeTimeoutSeconds: 20 },
    },
    {
      args: ["bake", "--pool"],
      options: { ...PLAN_DEFAULTS, maxVariants: undefined, targets: [], out: undefined, push: false, load: false, builder: undefined, dryRun: false, metadataFile: undefined, cacheWarm: false, oneByOne: false, affected: undefined, preflight: true, timeoutMs: 10_000, extra: [], pool: true, keepGoing: false, retryOnOther: false },
    },
    {
      args: ["bake"],
      options: { ...PLAN_DEFAULTS, maxVariants: undefined, targets: [], out: undefined, push: false, load: false, builder: undefined, dryRun: false, metadataFile: undefined, cacheWarm: false, oneByOne: false, affected: undefined, preflight: true, timeoutMs: 10_000, extra: [], pool: false, keepGoing: false, retryOnOther: false },
    },
    {
      args: ["bake", "--affected", "origin/main", "--no-preflight", "--timeout", "2.5", "--locked"],
      options: { ...PLAN_DEFAULTS, locked: true, maxVariants: undefined, targets: [], out: undefined, push: false, load: false, builder: undefined, dryRun: false, metadataFile: undefined, cacheWarm: false, oneByOne: false, affected: "origin/main", preflight: false, timeoutMs: 2_500, extra: [], pool: false, keepGoing: false, retryOnOther: false },
    },
    {
      args: ["affected", "--base", "origin/main", "--head", "HEAD~1", "--explain", "--json", "--write-group", "--only", "framework=vllm"],
      options: { ...PLAN_DEFAULTS, only: ["framework=vllm"], maxVariants: undefined, base: "origin/main", head: "HEAD~1", explain: true, json: true, writeGroup: true, out: undefined },
    },
    {
      args: ["affected", "--base", "main", "--write-group", "g.json"],
      options: { ...PLAN_DEFAULTS, maxVariants: undefined, base: "main", head: undefined, explain: false, json: false, writeGroup: "g.json", out: undefined },
    },
    { args: ["images", "a", "--json"], options: { ...PLAN_DEFAULTS, maxVariants: undefined, targets: ["a"], json: true } },
    { args: ["preflight", "--builder", "b", "--timeout", "3"], options: { ...PLAN_DEFAULTS, maxVariants: undefined, targets: [], builder: "b", timeoutMs: 3_000 } },
    { args: ["lock"], options: { ...PLAN_DEFAULTS, maxVariants: undefined, update: undefined, timeoutMs: 10_000 } },
    { args: ["lock", "--update"], options: { ...PLAN_DEFAULTS, maxVariants: undefined, update: [], timeoutMs: 10_000 } },
    { args: ["lock", "--update", "x:1", "y:2"], options: { ...PLAN_DEFAULTS, maxVariants: undefined, update: ["x:1", "y:2"], timeoutMs: 10_000 } },
    {
      args: ["lint", "a", "--base-image", "local/busybox:1", "--builder", "b"],
      options: { ...PLAN_DEFAULTS, maxVariants: undefined, targets: ["a"], out: undefined, builder: "b", baseImage: "local/busybox:1" },
    },
  ])("$args", async ({ args, options }) => {
    const res = await runCli(args);
    expect(res).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(calls.last).toEqual(options);
  });

  it("reads the image version, sha, branch and registry from the environment; an empty one counts as unset", async () => {
    vi.stubEnv("BAKEPLAN_VERSION", "3.0");
    vi.stubEnv("BAKEPLAN_SHA", "");
    vi.stubEnv("BAKEPLAN_BRANCH", "main");
    vi.stubEnv("BAKEPLAN_REGISTRY", "127.0.0.1:5000");
    await runCli(["plan"]);
    expect((calls.last as { inputs: unknown }).inputs).toEqual({
      version: "3.0",
      branch: "main",
      registry: "127.0.0.1:5000",
    });
    // Messages about a value from the environment name its variable, not the option.
    expect((calls.last as { inputVariables: unknown }).inputVariables).toEqual({
      version: "BAKEPLAN_VERSION",
      branch: "BAKEPLAN_BRANCH",
      registry: "BAKEPLAN_REGISTRY",
    });
  });

  it("check ignores BAKEPLAN_SHA: a committed plan cannot name its own commit", async () => {
    vi.stubEnv("BAKEPLAN_SHA", "abc");
    await runCli(["check"]);
    expect((calls.last as { inputs: unknown }).inputs).toEqual({});
  });
});

describe("bin.ts: errors -> message and exit code", () => {
  // prettier-ignore
  it.each([
    { name: "a user error", error: new UserError("bake: cannot write"), code: 1, stderr: "bakeplan: error: bake: cannot write\n" },
    { name: "a located user error", error: new UserError("undefined variable: x", { location: { file: "templates/a.liquid", line: 2, col: 4 } }), code: 1, stderr: "bakeplan: error: templates/a.liquid:2:4: undefined variable: x\n" },
    { name: "a usage error", error: new UsageError('Unknown target "x"'), code: 2, stderr: 'bakeplan: error: Unknown target "x"\n' },
    { name: "one config problem", error: new ConfigError([{ message: "bad", location: { file: "context.yaml", line: 3, col: 1, path: "axes" } }]), code: 1, stderr: "bakeplan: error:\n  context.yaml:3:1: axes: bad\n" },
    { name: "two config problems", error: new ConfigError([{ message: "a" }, { message: "b" }]), code: 1, stderr: "bakeplan: 2 errors:\n  a\n  b\n" },
    { name: "a failed build (buildx's output was shown live)", error: new BuildxError("docker buildx bake failed with exit code 17: target a failed", { argv: ["buildx", "bake", "a"], exitCode: 17 }), code: 17, stderr: "bakeplan: error: docker buildx bake failed with exit code 17: target a failed\n" },
    {
      name: "a failed quiet docker run: the command and the end of its stderr",
      error: new BuildxError("docker buildx is not available: install it", { argv: ["buildx", "--builder", "my builder", "version"], stderrTail: "ERROR: no builder \"my builder\" found\nline two" }),
      code: 1,
      stderr: "bakeplan: error: docker buildx is not available: install it\n  $ docker buildx --builder 'my builder' version\n  ERROR: no builder \"my builder\" found\n  line two\n",
    },
    { name: "an interrupted build", error: new BuildxError("interrupted; buildx stopped", { argv: ["buildx", "bake"], exitCode: 130 }), code: 130, stderr: "bakeplan: error: interrupted; buildx stopped\n" },
  ])("$name: exit $code", async ({ error, code, stderr }) => {
    calls.error = error;
    expect(await runCli(["schema"])).toEqual({ code, stdout: "", stderr });
  });

  it("anything else is a bug: the stack and a request to report it, exit 1", async () => {
    calls.error = new TypeError("x is undefined");
    const res = await runCli(["schema"]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      /^bakeplan: internal error \(this is a bug; please report it with the command you ran\):\nTypeError: x is undefined\n {4}at /,
    );
  });
});

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { buildProgram, parseSet } from "../../src/cli.js";
import { UsageError } from "../../src/errors.js";
import { MINI_CONTEXT, miniProject, REPO, runCli } from "../helpers.js";

const PACKAGE_VERSION = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string }).version;

// exclude[0] sits on line 32, include[0] on line 35 (MINI_CONTEXT is 30 lines).
const WITH_RULES = `${MINI_CONTEXT}exclude:\n  - when: {os: ubi}\n    reason: UBI on request\ninclude:\n  - when: {framework: vllm, os: ubi}\n    reason: OpenShift\n`;

const COMMANDS = buildProgram({ out: () => undefined, err: () => undefined }).commands.map((c) => c.name());

describe("exit codes", () => {
  // prettier-ignore
  it.each([
    { name: "ok", args: ["plan"], code: 0, stderr: "" },
    { name: "--version", args: ["--version"], code: 0, stderr: "" },
    { name: "invalid context.yaml", args: ["list"], yaml: MINI_CONTEXT.replace("FW_REF: v1", "FW_REF: 3.10"), code: 1, stderr: 'bakeplan: error:\n  context.yaml:8:17: axes.framework.vllm.args.FW_REF: Invalid type: expected a string, but YAML reads 3.10 as the number 3.1. Quote it: "3.10"' },
    { name: "several problems", args: ["list"], yaml: MINI_CONTEXT.replace("FW_REF: v1", "FW_REF: 3.10").replace("FW_REF: s1", "FW_REF: false"), code: 1, stderr: "bakeplan: 2 errors:\n  context.yaml:8:17: " },
    { name: "missing config file", args: ["list", "-c", "nope.yaml"], code: 1, stderr: "bakeplan: error: nope.yaml: config file not found" },
    { name: "a template error", args: ["list"], template: "FROM a AS runtime\n{{ oops }}\nFROM runtime AS dev\n", code: 1, stderr: "bakeplan: error: templates/Dockerfile.liquid:2:4: undefined variable: oops" },
    { name: "--strict with a warning", args: ["list", "--strict"], yaml: `${MINI_CONTEXT}include:\n  - when: {os: ubi}\n    reason: nothing excludes it\n`, code: 1, stderr: "it has no effect (an error with --strict)" },
    { name: "unknown option", args: ["plan", "--bogus"], code: 2, stderr: "error: unknown option '--bogus'" },
    { name: "unknown command", args: ["frobnicate"], code: 2, stderr: "error: unknown command 'frobnicate'" },
    { name: "missing argument", args: ["render"], code: 2, stderr: "error: missing required argument 'target'" },
    { name: "--set without =", args: ["plan", "--set", "FW_REF"], code: 2, stderr: "bakeplan: error: --set FW_REF: expected NAME=VALUE with an ARG name" },
    { name: "--set with a bad name", args: ["plan", "--set", "1X=y"], code: 2, stderr: "bakeplan: error: --set 1X=y: expected NAME=VALUE with an ARG name" },
    { name: "--max-variants not a number", args: ["plan", "--max-variants", "10k"], code: 2, stderr: "bakeplan: error: --max-variants 10k: expected a positive whole number" },
    { name: "unknown target", args: ["render", "vlm"], code: 2, stderr: 'bakeplan: error: Unknown target "vlm". Did you mean "vllm"?' },
    { name: "unknown --only selector", args: ["list", "--only", "gpu=yes"], code: 2, stderr: 'bakeplan: error: Unknown axis "gpu" in selector "gpu=yes"' },
  ])("$code for $name", async ({ args, yaml, template, code, stderr }) => {
    const dir = miniProject({ ...(yaml ? { "context.yaml": yaml } : {}), ...(template ? { "templates/Dockerfile.liquid": template } : {}) });
    const res = await runCli(args, dir);
    if (stderr === "") expect(res.stderr).toBe("");
    else expect(res.stderr).toContain(stderr);
    expect(res.code).toBe(code);
  });

  it("writes nothing when the input is invalid", async () => {
    const dir = miniProject({ "context.yaml": MINI_CONTEXT.replace("FW_REF: v1", "FW_REF: 3.10") });
    expect((await runCli(["plan"], dir)).code).toBe(1);
    expect(existsSync(join(dir, "docker-bake.json"))).toBe(false);
    expect(existsSync(join(dir, "bake"))).toBe(false);
  });
});

describe("help", () => {
  it("covers the commands this suite knows about", () => {
    expect(COMMANDS).toEqual(expect.arrayContaining(["plan", "list", "render", "explain", "check", "schema"]));
  });

  it.each(COMMANDS)("%s --help exits 0 and shows examples", async (command) => {
    const res = await runCli([command, "--help"]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`Usage: bakeplan ${command}`);
    expect(res.stdout).toContain("\nExamples:\n  $ bakeplan ");
  });

  it.each(["--version", "-V"])("%s prints bakeplan's version from package.json", async (flag) => {
    expect(await runCli([flag])).toEqual({ code: 0, stdout: `${PACKAGE_VERSION}\n`, stderr: "" });
  });

  const PLAN = ["-c", "--set", "--only", "--strict", "--max-variants", "-v"];
  const INPUTS = ["--image-version", "--sha", "--branch", "--registry"];
  // prettier-ignore
  it.each([
    { command: "plan", options: [...PLAN, ...INPUTS, "-o", "--builders", "--locked"] },
    { command: "list", options: ["-c", "--only", "--json", "--all", "--builders", "--strict", "--max-variants", "-v"] },
    { command: "render", options: ["-c", "--set", "--strict", "--max-variants", "-v", "--locked"] },
    { command: "explain", options: ["-c", "--set", ...INPUTS, "--builders", "--strict", "--max-variants", "-v", "--locked"] },
    { command: "check", options: [...PLAN, "--image-version", "--branch", "--registry", "-o", "--builders", "--locked"] },
    { command: "builders", options: [...PLAN, "--builders", "--json"] },
    { command: "bake", options: [...PLAN, ...INPUTS, "-o", "--push", "--load", "--builder", "--dry-run", "--metadata-file", "--write-override", "--summary-json", "--cache-warm", "--one-by-one", "--builders", "--pool", "--keep-going", "--retry-on-other", "--max-parallel", "--probe-timeout", "--locked", "--affected", "--no-preflight", "--timeout"] },
    { command: "lint", options: [...PLAN, "-o", "--builder", "--base-image", "--locked"] },
    { command: "affected", options: ["-c", "--only", "--strict", "--max-variants", "-v", "-o", "--base", "--head", "--explain", "--json", "--write-group", "--locked"] },
    { command: "images", options: ["-c", "--only", "--strict", "--max-variants", "-v", "--json"] },
    { command: "preflight", options: ["-c", "--only", "--strict", "--max-variants", "-v", "--builder", "--timeout"] },
    { command: "lock", options: ["-c", "--strict", "--max-variants", "-v", "--update", "--timeout"] },
    { command: "schema", options: [] },
    { command: "init", options: ["--name", "--registry", "--repository"] },
  ])("$command --help lists only the options it uses", async ({ command, options }) => {
    const listed = [...(await runCli([command, "--help"])).stdout.matchAll(/^ {2}(-\w|--[\w-]+)/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...options, "-h"].sort());
  });

  it("a usage error is one line that points to the command's --help, not the help itself", async () => {
    expect(await runCli(["plan", "--foo"])).toEqual({
      code: 2,
      stdout: "",
      stderr: "bakeplan: error: unknown option '--foo'. See 'bakeplan plan --help'.\n",
    });
    expect((await runCli(["frobnicate"])).stderr).toBe(
      "bakeplan: error: unknown command 'frobnicate'. See 'bakeplan --help'.\n",
    );
    expect((await runCli(["plan", "--ou", "x"])).stderr).toBe(
      "bakeplan: error: unknown option '--ou' (Did you mean --out?). See 'bakeplan plan --help'.\n",
    );
  });

  it.each([["--version", "1.2.0"], ["--version=1.2.0"]])(
    "plan %s is a usage error that names --image-version",
    async (...args) => {
      expect(await runCli(["plan", ...args])).toEqual({
        code: 2,
        stdout: "",
        stderr:
          "bakeplan: error: unknown option '--version': the image version for tags and labels is --image-version; `bakeplan --version` prints bakeplan's own version. See 'bakeplan plan --help'.\n",
      });
    },
  );

  it("--image-version reaches the image's version label", async () => {
    const dir = miniProject();
    expect((await runCli(["plan", "--image-version", "1.2.0"], dir)).code).toBe(0);
    const bake = JSON.parse(readFileSync(join(dir, "docker-bake.json"), "utf8")) as {
      target: Record<string, { labels: Record<string, string> }>;
    };
    expect(bake.target.vllm!.labels["org.opencontainers.image.version"]).toBe("1.2.0");
  });
});

describe("parseSet", () => {
  it("splits at the first = and keeps the rest of the value as it is", () => {
    expect(parseSet(["A=1", "B=x=y", "C=", "D= spaced "])).toEqual([
      { name: "A", value: "1" },
      { name: "B", value: "x=y" },
      { name: "C", value: "" },
      { name: "D", value: " spaced " },
    ]);
  });

  it.each(["A", "=x", "A-B=1", "1A=2"])("refuses %j as a usage error", (raw) => {
    expect(() => parseSet([raw])).toThrow(UsageError);
  });
});

describe("list", () => {
  it("prints a table of the built targets", async () => {
    const res = await runCli(["list", "--only", "framework=vllm"], miniProject({ "context.yaml": WITH_RULES }));
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(
      [
        "NAME          FRAMEWORK  OS      TARGET   PLATFORMS    DOCKERFILE",
        "vllm          vllm       ubuntu  runtime  linux/amd64  bake/vllm.Dockerfile",
        "vllm-dev      vllm       ubuntu  dev      linux/amd64  bake/vllm.Dockerfile",
        "vllm-ubi      vllm       ubi     runtime  linux/amd64  bake/vllm-ubi.Dockerfile",
        "vllm-ubi-dev  vllm       ubi     dev      linux/amd64  bake/vllm-ubi.Dockerfile",
        "",
      ].join("\n"),
    );
  });

  it("--all adds the excluded combinations with their reasons", async () => {
    const res = await runCli(["list", "--all"], miniProject({ "context.yaml": WITH_RULES }));
    expect(res.stdout).toContain(
      "(sglang-ubi)      sglang     ubi     runtime  -            excluded                  UBI on request\n",
    );
    expect(res.stdout).toContain(
      "vllm-ubi          vllm       ubi     runtime  linux/amd64  bake/vllm-ubi.Dockerfile  OpenShift\n",
    );
    expect(res.stdout).toContain("\n6 built, 2 excluded\n");
  });

  it("--json --all prints every combination, sorted by name", async () => {
    const res = await runCli(["list", "--json", "--all"], miniProject({ "context.yaml": WITH_RULES }));
    const rows = JSON.parse(res.stdout) as { name: string; built: boolean; reason?: string }[];
    expect(rows.map((r) => [r.name, r.built, r.reason ?? ""])).toEqual([
      ["sglang", true, ""],
      ["sglang-dev", true, ""],
      ["sglang-ubi", false, "UBI on request"],
      ["sglang-ubi-dev", false, "UBI on request"],
      ["vllm", true, ""],
      ["vllm-dev", true, ""],
      ["vllm-ubi", true, "OpenShift"],
      ["vllm-ubi-dev", true, "OpenShift"],
    ]);
    expect(rows.find((r) => r.name === "vllm-ubi-dev")).toEqual({
      name: "vllm-ubi-dev",
      built: true,
      values: { framework: "vllm", os: "ubi", target: "dev" },
      platforms: ["linux/amd64"],
      dockerfile: "bake/vllm-ubi.Dockerfile",
      stage: "dev",
      reason: "OpenShift",
    });
  });

  it("--json without --all lists built targets only", async () => {
    const rows = JSON.parse((await runCli(["list", "--json"], miniProject({ "context.yaml": WITH_RULES }))).stdout) as {
      built: boolean;
    }[];
    expect(rows).toHaveLength(6);
    expect(rows.every((r) => r.built)).toBe(true);
  });
});

describe("render", () => {
  it("prints the Dockerfile plan would write for the target, writing nothing", async () => {
    const dir = miniProject();
    const res = await runCli(["render", "vllm-ubi-dev"], dir);
    expect(res.code).toBe(0);
    expect(existsSync(join(dir, "bake"))).toBe(false);
    await runCli(["plan"], dir);
    expect(res.stdout).toBe(readFileSync(join(dir, "bake", "vllm-ubi.Dockerfile"), "utf8"));
  });

  it("applies --set", async () => {
    const res = await runCli(["render", "vllm", "--set", "FW_REF=with space"], miniProject());
    expect(res.stdout).toContain('\nARG FW_REF="with space"\n');
  });

  it("says why an excluded combination is not built, and where", async () => {
    const res = await runCli(["render", "sglang-ubi"], miniProject({ "context.yaml": WITH_RULES }));
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      "bakeplan: error: sglang-ubi is not built: UBI on request (excluded by context.yaml:32:5: exclude[0])\n",
    );
  });
});

describe("explain", () => {
  it("shows each value with its source file:line, key path, layer and declaring stage", async () => {
    const res = await runCli(["explain", "vllm-dev"], miniProject());
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(
      [
        "vllm-dev (framework=vllm, os=ubuntu, target=dev)",
        "  dockerfile: bake/vllm.Dockerfile  stage: dev  (context.yaml:21:5: axes.target.dev, target=dev)",
        "  platforms: linux/amd64  (context.yaml:24:14: defaults.platforms)",
        "  tag: registry.example.com/demo/app:vllm-dev",
        "",
        "ARG         VALUE                             SOURCE                                              LAYER           DECLARED",
        'BASE_IMAGE  "docker.io/library/ubuntu:24.04"  context.yaml:26:17: defaults.images.BASE_IMAGE      defaults        global (templates/Dockerfile.liquid:1)',
        'FW_REF      "v1"                              context.yaml:8:17: axes.framework.vllm.args.FW_REF  framework=vllm  stage runtime (templates/Dockerfile.liquid:3)',
        "",
      ].join("\n"),
    );
  });

  it("limits the table to the named ARGs and shows --set as the source", async () => {
    const res = await runCli(["explain", "sglang", "FW_REF", "--set", "FW_REF=x"], miniProject());
    const rows = res.stdout.split("\n").filter((l) => l.startsWith("FW_REF") || l.startsWith("BASE_IMAGE"));
    expect(rows).toEqual([
      'FW_REF  "x"    command line: --set FW_REF  --set  stage runtime (templates/Dockerfile.liquid:3)',
    ]);
  });

  it("shows cache refs and the include that brought a target back", async () => {
    const res = await runCli(
      ["explain", "vllm-ubi", "FW_REF", "--branch", "main"],
      miniProject({ "context.yaml": `${WITH_RULES}cache:\n  repository: demo/cache\n` }),
    );
    expect(res.stdout).toContain("  included by context.yaml:35:5: include[0]: OpenShift\n");
    expect(res.stdout).toContain("  cache-from: type=registry,ref=registry.example.com/demo/cache:vllm-ubi-main\n");
    expect(res.stdout).toContain(
      "  cache-to: type=registry,ref=registry.example.com/demo/cache:vllm-ubi-main,mode=max,",
    );
  });

  it("explains an excluded combination with its reason and the rule's position", async () => {
    const res = await runCli(["explain", "sglang-ubi-dev"], miniProject({ "context.yaml": WITH_RULES }));
    expect(res).toEqual({
      code: 0,
      stdout:
        "sglang-ubi-dev is not built (framework=sglang, os=ubi, target=dev)\n  excluded by context.yaml:32:5: exclude[0]\n  reason: UBI on request\n",
      stderr: "",
    });
  });

  it("refuses an unknown ARG with a suggestion", async () => {
    const res = await runCli(["explain", "vllm", "FW_RF"], miniProject());
    expect(res.code).toBe(2);
    expect(res.stderr).toBe("bakeplan: error: vllm has no ARG FW_RF. Did you mean FW_REF?\n");
    expect(res.stdout).toBe("");
  });
});

describe("options", () => {
  it("reads --branch from BAKEPLAN_BRANCH", async () => {
    vi.stubEnv("BAKEPLAN_BRANCH", "release/1.0");
    try {
      const res = await runCli(
        ["explain", "vllm", "FW_REF"],
        miniProject({ "context.yaml": `${MINI_CONTEXT}cache:\n  repository: demo/cache\n` }),
      );
      expect(res.stdout).toContain("cache-from: type=registry,ref=registry.example.com/demo/cache:vllm-release-1.0\n");
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("finds context.yaml through -c from another directory and names it as given", async () => {
    const dir = miniProject({ "context.yaml": MINI_CONTEXT.replace("FW_REF: v1", "FW_REF: 3.10") });
    const res = await runCli(["list", "-c", join(dir, "context.yaml")]);
    expect(res.stderr).toContain(`${join(dir, "context.yaml")}:8:17: axes.framework.vllm.args.FW_REF`);
  });

  it("prints warnings on stderr and still succeeds", async () => {
    const res = await runCli(
      ["plan"],
      miniProject({ "context.yaml": MINI_CONTEXT.replace("  images:\n", "  args: {UNUSED: x}\n  images:\n") }),
    );
    expect(res.code).toBe(0);
    expect(res.stderr).toBe(
      "bakeplan: warning: context.yaml:25:10: defaults.args.UNUSED: ARG UNUSED is set here but no rendered Dockerfile declares it\n",
    );
  });
});

// Real projects' tag, cache, secret and group conventions through real `docker buildx bake --print`:
// Dynamo's shared cache refs in the image repository, branch-limited and optional tag parts,
// conditional and env-sourced secrets, a union group; docker-library's dotted versions and aliases.
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { runCli, testdir } from "../helpers.js";
import { describeWithDocker } from "./docker.js";
import { secretFileProject } from "./e2e.js";
import { bakePrint, expectPrintedAsPlanned, printDryRun, type Printed } from "./print-plan.js";

const ECR = "123456789012.dkr.ecr.us-west-2.amazonaws.com";
const SHA = "0123456789abcdef0123456789abcdef01234567";

const DYNAMO = `project: {name: dynamo}
axes:
  framework: [vllm, sglang, trtllm, dynamo]
  target:
    runtime: {name: ""}
    dev: {}
    planner: {}
  cuda:
    "12.9": {name: cuda12}
    "13.0": {name: cuda13}
  efa:
    "off": {name: ""}
    "on": {name: efa, platforms: [linux/amd64]}
stage_axis: target
defaults:
  platforms: [linux/amd64, linux/arm64]
  args: {USE_SCCACHE: "false"}
  secrets:
    aws-web-identity-token: {src: "\${AWS_WEB_IDENTITY_TOKEN_FILE}"}
    aws-role-arn: {env: AWS_ROLE_ARN}
    aws-key-id: {env: AWS_ACCESS_KEY_ID, when: {args: {USE_SCCACHE: "true"}}}
exclude:
  - when: {framework: dynamo, target: [runtime, dev]}
    reason: dynamo builds only the planner
  - when: {framework: [vllm, sglang, trtllm], target: planner}
    reason: the planner image is framework-free
  - when: {framework: dynamo, cuda: "13.0"}
    reason: one planner image
  - when: {framework: dynamo, efa: "on"}
    reason: one planner image
groups:
  define:
    pr:
      - {framework: [vllm, sglang, trtllm], target: [runtime, dev], efa: "off"}
      - dynamo-planner-cuda12
branch_kinds:
  main: [main]
  release: ["release/*"]
publish:
  registry: ${ECR}
  repository: ai-dynamo/dynamo
  tags:
    - "{sha}-{framework}-{target}[-{efa.name}]-{cuda.name}"
    - {tag: "main-{framework}-{cuda.name}", branches: [main], when: {target: runtime, efa: "off"}}
cache:
  repository: ai-dynamo/dynamo
  tag: "{branch_kind}-{framework}-{cuda.name}-{platforms}-cache"
  fallback: [main, release]
  write_on: [main, "release/*"]
  allow_shared_writes: true
`;

const TEMPLATE = `FROM scratch AS base
{% arg USE_SCCACHE %}
FROM base AS runtime
FROM runtime AS dev
FROM base AS planner
`;

describeWithDocker("buildx", "docker buildx bake --print over Dynamo's and docker-library's conventions", () => {
  it.each([
    { branch: "main", sccache: false },
    { branch: "release/1.0", sccache: true },
    { branch: "feat/x", sccache: false },
  ])(
    "Dynamo on $branch (sccache: $sccache): buildx reads back every target as planned",
    async ({ branch, sccache }) => {
      const dir = testdir({ "context.yaml": DYNAMO, "templates/Dockerfile.liquid": TEMPLATE, token: "t" });
      const flags = ["--branch", branch, "--sha", SHA, ...(sccache ? ["--set", "USE_SCCACHE=true"] : [])];
      const res = await runCli(["plan", ...flags], dir);
      expect(res.code, res.stderr).toBe(0);
      const bakeJson = readFileSync(join(dir, "docker-bake.json"), "utf8");
      // The env-sourced secret src reaches bake unescaped, declared as a variable; nothing else does.
      expect(bakeJson).toContain('"id=aws-web-identity-token,src=${AWS_WEB_IDENTITY_TOKEN_FILE}"');
      expect(bakeJson).toContain('"AWS_WEB_IDENTITY_TOKEN_FILE": {\n      "default": ""');
      const planned = JSON.parse(bakeJson) as Printed;
      const env = { AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, "token") };
      const printed = bakePrint(dir, ["-f", "docker-bake.json", "all"], env);
      expectPrintedAsPlanned(planned, printed, env);

      const t = printed.target["vllm-cuda12"]!;
      const kind = branch === "main" ? "main" : branch.startsWith("release/") ? "release" : undefined;
      expect(t["cache-from"]).toEqual(
        ["main", "release"].map((k) => ({
          type: "registry",
          ref: `${ECR}/ai-dynamo/dynamo:${k}-vllm-cuda12-amd64-arm64-cache`,
        })),
      );
      expect(t["cache-to"]).toEqual(
        kind && [
          {
            type: "registry",
            ref: `${ECR}/ai-dynamo/dynamo:${kind}-vllm-cuda12-amd64-arm64-cache`,
            mode: "max",
            "image-manifest": "true",
            "oci-mediatypes": "true",
            "ignore-error": "true",
          },
        ],
      );
      expect(t.tags).toEqual([
        `${ECR}/ai-dynamo/dynamo:${SHA}-vllm-runtime-cuda12`,
        ...(branch === "main" ? [`${ECR}/ai-dynamo/dynamo:main-vllm-cuda12`] : []),
      ]);
      expect(printed.target["trtllm-cuda13-efa"]!.tags).toEqual([
        `${ECR}/ai-dynamo/dynamo:${SHA}-trtllm-runtime-efa-cuda13`,
      ]);
      const secretIds = (x: Record<string, unknown>) => (x.secret as { id: string }[]).map((s) => s.id);
      expect(secretIds(t)).toEqual(
        ["aws-role-arn", "aws-web-identity-token", ...(sccache ? ["aws-key-id"] : [])].sort(),
      );
      expect((t.secret as { id: string; src?: string }[]).find((s) => s.id === "aws-web-identity-token")?.src).toBe(
        env.AWS_WEB_IDENTITY_TOKEN_FILE,
      );

      // The union group is what buildx builds for `pr`.
      const pr = bakePrint(dir, ["-f", "docker-bake.json", "pr"], env);
      expect(Object.keys(pr.target).sort()).toEqual(
        [
          ...["vllm", "sglang", "trtllm"].flatMap((fw) =>
            ["cuda12", "cuda13"].flatMap((c) => [`${fw}-${c}`, `${fw}-dev-${c}`]),
          ),
          "dynamo-planner-cuda12",
        ].sort(),
      );
    },
  );

  it("bake: the committed plan plus the run's override file is the plan of the run; an unset secret variable stops it first", async () => {
    const dir = testdir({ "context.yaml": DYNAMO, "templates/Dockerfile.liquid": TEMPLATE, token: "t" });
    expect((await runCli(["plan"], dir)).code).toBe(0);
    const flags = ["--branch", "release/1.0", "--sha", SHA];
    const env = { AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, "token") };
    const dry = await runCli(["bake", "all", "--dry-run", ...flags], dir);
    expect(dry.code, dry.stderr).toBe(0);
    const merged = printDryRun(dir, dry.stdout, env);
    expect((await runCli(["plan", "--out", "wanted.json", ...flags], dir)).code).toBe(0);
    expect(merged.target).toEqual(bakePrint(dir, ["-f", "wanted.json", "all"], env).target);

    const saved = process.env.AWS_WEB_IDENTITY_TOKEN_FILE;
    delete process.env.AWS_WEB_IDENTITY_TOKEN_FILE;
    try {
      const res = await runCli(["bake", "vllm-cuda12", ...flags], dir);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(
        "$AWS_WEB_IDENTITY_TOKEN_FILE is not set, and the secret aws-web-identity-token of vllm-cuda12 reads its file from it",
      );
    } finally {
      if (saved !== undefined) process.env.AWS_WEB_IDENTITY_TOKEN_FILE = saved;
    }
  });

  it("bake --set in CI (Dynamo's sccache on): the committed plan plus the override is what plan --out --set plans, and nothing in the tree changes", async () => {
    const dir = testdir({ "context.yaml": DYNAMO, "templates/Dockerfile.liquid": TEMPLATE, token: "t" });
    expect((await runCli(["plan"], dir)).code).toBe(0);
    const before = ["docker-bake.json", ...readdirSync(join(dir, "bake")).map((f) => `bake/${f}`)].map((f) =>
      readFileSync(join(dir, f), "utf8"),
    );
    const flags = ["--branch", "release/1.0", "--sha", SHA, "--set", "USE_SCCACHE=true"];
    const env = { AWS_WEB_IDENTITY_TOKEN_FILE: join(dir, "token") };
    const saved = process.env.CI;
    process.env.CI = "true";
    let dry;
    try {
      dry = await runCli(["bake", "all", "--dry-run", ...flags], dir);
    } finally {
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
    expect(dry.code, dry.stderr).toBe(0);
    const merged = printDryRun(dir, dry.stdout, env);
    const res = await runCli(["plan", "--out", "wanted.json", ...flags], dir);
    expect(res.code, res.stderr).toBe(0);
    const wanted = bakePrint(dir, ["-f", "wanted.json", "all"], env);
    // bake appends the override's secrets to the committed ones: the same set, in another order.
    const bySecretId = (p: Printed) => {
      for (const t of Object.values(p.target))
        (t.secret as { id: string }[] | undefined)?.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      return p.target;
    };
    expect(bySecretId(merged)).toEqual(bySecretId(wanted));
    // The sccache keys reach exactly the targets, and each builds its committed Dockerfile.
    const ids = (t: Record<string, unknown>) => (t.secret as { id: string }[]).map((x) => x.id).sort();
    expect(ids(wanted.target["vllm-cuda12"]!)).toEqual(["aws-key-id", "aws-role-arn", "aws-web-identity-token"]);
    expect((wanted.target["vllm-cuda12"]!.args as Record<string, string>).USE_SCCACHE).toBe("true");
    rmSync(join(dir, "wanted.json"));
    const after = ["docker-bake.json", ...readdirSync(join(dir, "bake")).map((f) => `bake/${f}`)].map((f) =>
      readFileSync(join(dir, f), "utf8"),
    );
    expect(after).toEqual(before);
  });

  it("docker-library's python: dotted versions give bake-safe names, aliases land on one variant each", async () => {
    const dir = testdir({
      "context.yaml": `project: {name: python}
axes:
  version:
    "3.14": {vars: {full: 3.14.0, major: "3"}}
    "3.13": {vars: {full: 3.13.9, major: "3"}}
  variant: [trixie, slim-trixie, alpine3.22]
  image:
    python: {name: ""}
stage_axis: image
publish:
  registry: docker.io
  repository: library/python
  tags:
    - "{vars.full}-{variant}"
    - "{matrix.version}-{variant}"
    - {tag: "{vars.major}-{variant}", when: {version: "3.14"}}
    - {tag: "{variant}", when: {version: "3.14"}}
    - {tag: "{vars.full}", when: {variant: trixie}}
    - {tag: "latest", when: {version: "3.14", variant: trixie}}
`,
      "templates/Dockerfile.liquid": "FROM scratch AS python\nLABEL python={{ version }} full={{ vars.full }}\n",
    });
    const res = await runCli(["plan"], dir);
    expect(res.code, res.stderr).toBe(0);
    const planned = JSON.parse(readFileSync(join(dir, "docker-bake.json"), "utf8")) as Printed;
    const printed = bakePrint(dir, ["-f", "docker-bake.json", "all"]);
    expectPrintedAsPlanned(planned, printed);
    expect(printed.target["3_14-alpine3_22"]!.tags).toEqual(
      ["3.14.0-alpine3.22", "3.14-alpine3.22", "3-alpine3.22", "alpine3.22"].map(
        (t) => `docker.io/library/python:${t}`,
      ),
    );
    const owners = new Map<string, string[]>();
    for (const [name, t] of Object.entries(printed.target))
      for (const tag of t.tags as string[]) owners.set(tag, [...(owners.get(tag) ?? []), name]);
    for (const [tag, names] of owners) expect(names, tag).toHaveLength(1);
    expect(owners.get("docker.io/library/python:latest")).toEqual(["3_14-trixie"]);
  });
});

describeWithDocker("engine", "bakeplan lint with a secret read from a variable", () => {
  it("lints whether the variable is unset (checks read no secret) or names a file outside the project", async () => {
    const dir = testdir({ "context.yaml": DYNAMO, "templates/Dockerfile.liquid": TEMPLATE });
    // Committed first: with CI set (as .ci/run sets it) lint checks only a committed plan.
    expect((await runCli(["plan"], dir)).code).toBe(0);
    const saved = process.env.AWS_WEB_IDENTITY_TOKEN_FILE;
    delete process.env.AWS_WEB_IDENTITY_TOKEN_FILE;
    try {
      const res = await runCli(["lint", "vllm-cuda12", "dynamo-planner-cuda12"], dir);
      expect(res.stderr).not.toContain("failed to stat");
      expect(res.code, res.stderr + res.stdout).toBe(0);
      // Set, to a file outside the project (as IRSA's token is): bakeplan grants buildx that file.
      const outside = testdir({ token: "t" });
      process.env.AWS_WEB_IDENTITY_TOKEN_FILE = join(outside, "token");
      const granted = await runCli(["lint", "vllm-cuda12"], dir);
      expect(granted.stderr).not.toContain("additional privileges requested");
      expect(granted.code, granted.stderr + granted.stdout).toBe(0);
    } finally {
      if (saved !== undefined) process.env.AWS_WEB_IDENTITY_TOKEN_FILE = saved;
      else delete process.env.AWS_WEB_IDENTITY_TOKEN_FILE;
    }
  });
});

describeWithDocker("engine", "a secret that only some builds get, turned on by bake --set, in a real build", () => {
  it("in CI, bake --set USE_TOK=true passes the secret to the RUN step that checks it; without it the step sees none", async () => {
    const dir = testdir({
      "context.yaml": `project: {name: s}
build: {network: none}
axes:
  target: [runtime]
stage_axis: target
defaults:
  args: {USE_TOK: "false"}
  secrets:
    tok: {src: "\${BAKEPLAN_TEST_TOKEN_FILE}", when: {args: {USE_TOK: "true"}}}
publish: {registry: "", repository: bakeplan-test/secret-when, tags: ["{name}"]}
`,
      "templates/Dockerfile.liquid": `FROM local/busybox:1 AS runtime
{% arg USE_TOK %}
RUN --mount=type=secret,id=tok if [ "$USE_TOK" = true ]; then test "$(cat /run/secrets/tok)" = s3cr3t; else test ! -e /run/secrets/tok; fi
`,
    });
    const outside = testdir({ token: "s3cr3t" });
    expect((await runCli(["plan"], dir)).code).toBe(0);
    const committed = readFileSync(join(dir, "bake/Dockerfile.Dockerfile"), "utf8");
    const saved = process.env.CI;
    process.env.CI = "true";
    process.env.BAKEPLAN_TEST_TOKEN_FILE = join(outside, "token");
    try {
      const on = await runCli(["bake", "runtime", "--set", "USE_TOK=true", "--", "--no-cache"], dir);
      expect(on.code, on.stderr).toBe(0);
      const off = await runCli(["bake", "runtime", "--", "--no-cache"], dir);
      expect(off.code, off.stderr).toBe(0);
      // The check inside the build is real: with the wrong content the RUN step fails.
      writeFileSync(join(outside, "token"), "wrong");
      expect((await runCli(["bake", "runtime", "--set", "USE_TOK=true", "--", "--no-cache"], dir)).code).not.toBe(0);
    } finally {
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
      delete process.env.BAKEPLAN_TEST_TOKEN_FILE;
    }
    expect(readFileSync(join(dir, "bake/Dockerfile.Dockerfile"), "utf8")).toBe(committed);
  });
});

describeWithDocker("engine", "a secret read from a file the environment names, in a real build", () => {
  it("reaches the RUN step that mounts it, from a file outside the project (IRSA's token file)", async () => {
    const { dir, token } = secretFileProject("bakeplan-test/secret");
    process.env.BAKEPLAN_TEST_TOKEN_FILE = token;
    try {
      // Committed first: with CI set (as .ci/run sets it) bake builds only a committed plan.
      expect((await runCli(["plan"], dir)).code).toBe(0);
      const res = await runCli(["bake", "runtime", "--", "--no-cache"], dir);
      expect(res.code, res.stderr).toBe(0);
      // The wrong content fails the RUN step: the check inside the build is real.
      writeFileSync(token, "wrong");
      expect((await runCli(["bake", "runtime", "--", "--no-cache"], dir)).code).not.toBe(0);
    } finally {
      delete process.env.BAKEPLAN_TEST_TOKEN_FILE;
    }
  });
});

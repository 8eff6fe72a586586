// The stage side of issue 9 built for real: a template that branches on the stage axis
// (`{% if target == "dev" %}`) and a stage picked per combination (`combinations[].stage`), built
// by `bakeplan bake` with the real engine; each target's exported file system shows which stage
// was built and which branch of the template rendered.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { describeWithDocker } from "./docker.js";
import { bakeplan, localEnv } from "./e2e.js";

const CONTEXT = `project: { name: stages }
build: { network: none }
axes:
  framework: [alpha, beta]
  target:
    runtime: { name: "" }
    dev: {}
stage_axis: target
defaults:
  platforms: [linux/amd64]
  images:
    BASE_IMAGE: local/busybox:1
combinations:
  - when: { framework: beta, target: dev }
    stage: debug
publish:
  registry: 127.0.0.1:5000
  repository: bakeplan-stages/app
  tags: ["{name}"]
`;

const TEMPLATE = `{% arg BASE_IMAGE %}
FROM \${BASE_IMAGE} AS runtime
RUN echo {{ framework }} > /framework
{% if target == "dev" %}
RUN echo dev-branch > /branch
{% else %}
RUN echo runtime-branch > /branch
{% endif %}

FROM runtime AS dev
RUN echo dev > /stage

FROM dev AS debug
RUN echo debug > /stage
`;

const TARGETS = ["alpha", "alpha-dev", "beta", "beta-dev"];

describeWithDocker("engine", "stages: a template branch on the stage axis and a per-combination stage, built", () => {
  const dir = mkdtempSync(join(tmpdir(), "bakeplan-stages-"));
  mkdirSync(join(dir, "templates"));
  writeFileSync(join(dir, "context.yaml"), CONTEXT);
  writeFileSync(join(dir, "templates/Dockerfile.liquid"), TEMPLATE);
  const out = join(dir, "out");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const read = (target: string, file: string): string | undefined => {
    const path = join(out, target, file);
    return existsSync(path) ? readFileSync(path, "utf8").trim() : undefined;
  };

  it("plans one Dockerfile per rendered text and the combination's stage as beta-dev's bake target", async () => {
    const run = await bakeplan(["plan"], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    // The branch on target splits runtime and dev renders: four texts, four files.
    expect(readdirSync(join(dir, "bake")).sort()).toEqual(TARGETS.map((t) => `${t}.Dockerfile`).sort());
    const bake = JSON.parse(readFileSync(join(dir, "docker-bake.json"), "utf8")) as {
      target: Record<string, { target: string; dockerfile: string }>;
    };
    expect(Object.fromEntries(TARGETS.map((t) => [t, bake.target[t]!.target]))).toEqual({
      alpha: "runtime",
      "alpha-dev": "dev",
      beta: "runtime",
      "beta-dev": "debug",
    });
    const explained = await bakeplan(["explain", "beta-dev"], { cwd: dir });
    expect(explained.code, explained.stderr).toBe(0);
    expect(explained.stdout).toMatch(/stage: debug .*combinations\[0\]\.stage/);
  });

  it("builds each target's stage with its own branch of the template", async () => {
    const outputs = TARGETS.flatMap((t) => ["--set", `${t}.output=type=local,dest=${join(out, t)}`]);
    const run = await bakeplan(["bake", "all", "--", ...outputs], { cwd: dir, env: localEnv() });
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    const built = Object.fromEntries(
      TARGETS.map((t) => [t, { framework: read(t, "framework"), branch: read(t, "branch"), stage: read(t, "stage") }]),
    );
    expect(built).toEqual({
      alpha: { framework: "alpha", branch: "runtime-branch", stage: undefined },
      "alpha-dev": { framework: "alpha", branch: "dev-branch", stage: "dev" },
      beta: { framework: "beta", branch: "runtime-branch", stage: undefined },
      "beta-dev": { framework: "beta", branch: "dev-branch", stage: "debug" },
    });
  }, 300_000);
});

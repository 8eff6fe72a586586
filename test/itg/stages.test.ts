// The stage side of issue 9 built for real: a template that branches on the stage axis
// (`{% if target == "dev" %}`) and a stage picked per combination (`combinations[].stage`), built
// by `bakeplan bake` with the real engine; each target's exported file system shows which stage
// was built and which branch of the template rendered. Then the other stage-side features of a
// port, built the same way: a project without a stage axis (single-stage Dockerfiles, FROM lines
// without a stage name, bake builds the last stage), template values by precedence (one from a
// combination that asks for cuda absent, `cuda: ~`) and one that only some targets set, an axis
// that does not apply everywhere, and `{% install_packages inline %}`
// for apt and apk inside a RUN the template writes (fake managers record what they were given).
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { describeWithDocker } from "./docker.js";
import { bakeplan, localEnv, suiteProject } from "./e2e.js";

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

/** A file of a target's exported file system (`out/TARGET/FILE`), trimmed, or undefined when absent. */
function exportedFile(out: string) {
  return (target: string, file: string): string | undefined => {
    const path = join(out, target, file);
    return existsSync(path) ? readFileSync(path, "utf8").trim() : undefined;
  };
}

describeWithDocker("engine", "stages: a template branch on the stage axis and a per-combination stage, built", () => {
  const { dir, out } = suiteProject("bakeplan-stages-", CONTEXT, TEMPLATE);
  const read = exportedFile(out);

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

const SINGLE_CONTEXT = `project: { name: single }
build: { network: none }
axes:
  device:
    cuda: { name: "" }
    cpu: {}
  cuda:
    when: { device: cuda }
    values:
      "12.9": { name: cuda12 }
  variant:
    debian: { package_manager: apt, name: "" }
    alpine: { package_manager: apk, vars: { extra: "yes" } }
defaults:
  platforms: [linux/amd64]
  images:
    BASE_IMAGE: local/busybox:1
  vars: { full: 1.0.0 }
combinations:
  - when: { device: cpu, variant: alpine }
    vars: { full: 1.0.1 }
  - when: { cuda: ~, variant: debian }
    vars: { full: 0.9.0 }
publish:
  registry: 127.0.0.1:5000
  repository: bakeplan-single/app
  tags: ["{vars.full}-{variant}[-{cuda.name}]"]
`;

// Single stage, no stage name. The fake apt-get and apk write their arguments to /installed.
const SINGLE_TEMPLATE = `{% arg BASE_IMAGE %}
FROM \${BASE_IMAGE}
RUN printf '#!/bin/sh\\necho "$(basename $0) $*" >> /installed\\n' > /bin/apt-get && chmod +x /bin/apt-get && cp /bin/apt-get /bin/apk
ENV APP_VERSION={{ vars.full }}
{% if vars.extra %}RUN echo {{ vars.extra }} > /extra
{% endif %}{% if cuda %}RUN echo {{ cuda }} > /cuda
{% else %}RUN echo none > /cuda
{% endif %}RUN set -eux; \\
\t{% install_packages inline virtual=.build-deps gcc make apt:libssl-dev apk:openssl-dev %}; \\
\techo "$APP_VERSION" > /version
`;

const SINGLE_TARGETS = ["cpu", "cpu-alpine", "cuda12", "cuda12-alpine"];

describeWithDocker("engine", "a single-stage project without a stage axis, built", () => {
  const { dir, out } = suiteProject("bakeplan-single-", SINGLE_CONTEXT, SINGLE_TEMPLATE);
  const read = exportedFile(out);

  it("plans targets with no bake target attribute and Dockerfiles whose FROM names no stage", async () => {
    const run = await bakeplan(["plan"], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toBe("");
    const bake = JSON.parse(readFileSync(join(dir, "docker-bake.json"), "utf8")) as {
      target: Record<string, { target?: string; dockerfile: string; tags: string[] }>;
    };
    expect(Object.keys(bake.target).sort()).toEqual(SINGLE_TARGETS);
    for (const t of SINGLE_TARGETS) expect(bake.target[t], t).not.toHaveProperty("target");
    expect(Object.fromEntries(SINGLE_TARGETS.map((t) => [t, bake.target[t]!.tags]))).toEqual({
      cpu: ["127.0.0.1:5000/bakeplan-single/app:0.9.0-debian"],
      "cpu-alpine": ["127.0.0.1:5000/bakeplan-single/app:1.0.1-alpine"],
      cuda12: ["127.0.0.1:5000/bakeplan-single/app:1.0.0-debian-cuda12"],
      "cuda12-alpine": ["127.0.0.1:5000/bakeplan-single/app:1.0.0-alpine-cuda12"],
    });
    for (const t of SINGLE_TARGETS) {
      const text = readFileSync(join(dir, bake.target[t]!.dockerfile), "utf8");
      expect(text.match(/^FROM .*$/gm), t).toEqual(["FROM ${BASE_IMAGE}"]);
    }
  });

  it("builds the one stage with each target's values, absent axis and package manager", async () => {
    const outputs = SINGLE_TARGETS.flatMap((t) => ["--set", `${t}.output=type=local,dest=${join(out, t)}`]);
    const run = await bakeplan(["bake", "all", "--", ...outputs], { cwd: dir, env: localEnv() });
    expect(run.code, run.stderr.slice(-3000)).toBe(0);
    const built = Object.fromEntries(
      SINGLE_TARGETS.map((t) => [
        t,
        {
          version: read(t, "version"),
          extra: read(t, "extra"),
          cuda: read(t, "cuda"),
          installed: read(t, "installed"),
        },
      ]),
    );
    const apt = "apt-get install -y --no-install-recommends gcc make libssl-dev";
    const apk = "apk add --no-cache --virtual .build-deps gcc make openssl-dev";
    expect(built).toEqual({
      cpu: { version: "0.9.0", extra: undefined, cuda: "none", installed: apt },
      "cpu-alpine": { version: "1.0.1", extra: "yes", cuda: "none", installed: apk },
      cuda12: { version: "1.0.0", extra: undefined, cuda: "12.9", installed: apt },
      "cuda12-alpine": { version: "1.0.0", extra: "yes", cuda: "12.9", installed: apk },
    });
  }, 300_000);
});

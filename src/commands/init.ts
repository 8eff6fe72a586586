import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Output } from "../command-support/types.js";
import { UsageError, UserError } from "../errors.js";
import { displayPath } from "../io/project-files.js";
import { checkRegistry, checkRepository } from "../values.js";

export interface InitOptions {
  /** Directory to scaffold (default: the current one). */
  dir: string;
  name?: string;
  registry?: string;
  repository?: string;
}

/** What `init` fills in; the defaults are placeholders a user replaces (an ECR registry, a role). */
export interface ScaffoldInputs {
  name: string;
  registry: string;
  repository: string;
}

export const PLACEHOLDER_REGISTRY = "123456789012.dkr.ecr.us-west-2.amazonaws.com";

/** The project name from a directory name: lowercase letters, digits and `-`, as image names allow. */
export function projectName(dir: string): string {
  const name = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return name === "" ? "app" : name;
}

/**
 * The files `init` writes, by path: a context.yaml whose `$schema` resolves from the installed
 * package, a template, a Makefile snippet and a GitHub Actions workflow. Pure; the result plans as
 * it is and `docker buildx bake --print` reads the bake file it plans.
 */
export function scaffoldFiles(s: ScaffoldInputs): Map<string, string> {
  return new Map([
    ["context.yaml", contextYaml(s)],
    ["templates/Dockerfile.liquid", TEMPLATE],
    ["bakeplan.mk", MAKEFILE],
    [".github/workflows/images.yml", workflow(s)],
  ]);
}

export function init(opts: InitOptions, output: Output): void {
  const dir = resolve(opts.dir);
  const name = opts.name ?? projectName(dir);
  const inputs: ScaffoldInputs = {
    name,
    registry: opts.registry ?? PLACEHOLDER_REGISTRY,
    repository: opts.repository ?? name,
  };
  const problems = [
    ...checkRepository(inputs.repository).map((m) => `--repository: ${m}`),
    ...checkRegistry(inputs.registry).map((m) => `--registry: ${m}`),
  ];
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) problems.push(`--name ${name}: use lowercase letters, digits and -`);
  if (problems.length > 0) throw new UsageError(problems.join("; "));

  const files = scaffoldFiles(inputs);
  const existing = [...files.keys()].filter((f) => existsSync(join(dir, f)));
  if (existing.length > 0)
    throw new UserError(
      `init writes nothing: ${existing.map((f) => displayPath(join(dir, f))).join(", ")} already exist${existing.length === 1 ? "s" : ""}; move ${existing.length === 1 ? "it" : "them"} away or run init in another directory`,
    );
  for (const [path, content] of files) {
    const abs = join(dir, path);
    mkdirSync(dirname(abs), { recursive: true });
    // "wx": never replace a file that appeared since the check.
    writeFileSync(abs, content, { flag: "wx" });
    output.out(`  wrote ${displayPath(abs)}\n`);
  }
  output.out(
    [
      "",
      "Next:",
      "  npx bakeplan plan                  # renders bake/*.Dockerfile and docker-bake.json: commit them",
      "  docker buildx bake --print         # what bake will build",
      "  npx bakeplan bake ubuntu24 --load  # build one target",
      "Add `include bakeplan.mk` to your Makefile for make images-plan / images-check / images.",
      `Set publish.registry in context.yaml and the AWS role in .github/workflows/images.yml${inputs.registry === PLACEHOLDER_REGISTRY ? " (placeholders now)" : ""}.`,
      "",
    ].join("\n"),
  );
}

function contextYaml(s: ScaffoldInputs): string {
  return `# yaml-language-server: $schema=./node_modules/bakeplan/context.schema.json
#
# The support matrix of this repository's images: every Dockerfile ARG value, base image, tag and
# cache setting, and which combinations exist. \`npx bakeplan plan\` turns this file plus
# templates/ into bake/*.Dockerfile and docker-bake.json; commit all of them, and CI checks that
# they match (\`npx bakeplan check\`). Reference: node_modules/bakeplan/README.md and docs/.
project:
  name: ${s.name}
  title: ${s.name}

build:
  templates: templates
  template: Dockerfile.liquid
  out_dir: bake
  context: .

# Axis order is naming order: os-target, e.g. ubuntu24-dev. Add values (ubi9, a CUDA axis, a
# framework axis) and each combination becomes a bake target with its own Dockerfile and cache.
axes:
  os:
    ubuntu24.04:
      name: ubuntu24
      description: Ubuntu 24.04
      package_manager: apt
      images:
        BASE_IMAGE: docker.io/library/ubuntu:24.04
  target:
    runtime:
      name: ""
      description: runtime image
    dev:
      description: development image

# The axis whose values are Dockerfile stages: one Dockerfile serves runtime and dev.
stage_axis: target

defaults:
  platforms: [linux/amd64]
  args:
    APP_VERSION: "0.1.0"
  labels:
    org.opencontainers.image.vendor: ${s.name}

groups:
  per_axis: [target]

# Images: <registry>/<repository>:<tag>; {sha} and {branch} come from --sha and --branch in CI.
publish:
  registry: ${s.registry}
  repository: ${s.repository}
  tags:
    - "{sha}-{name}"
    - "{branch}-{name}"
    - "latest-{name}"

# Registry cache in its own repository, one ref per target and branch; main writes it, other
# branches read their own ref and then main's.
cache:
  repository: ${s.repository}-cache
  tag: "{name}-{branch}"
  fallback: [main]
  write_on: [main]
  mode: max
`;
}

const TEMPLATE = `{% comment %}
  The Dockerfile of every target: one stage per value of the stage axis (target). Each
  {% arg NAME %} declares an ARG with its value from context.yaml, in the stage that uses it, so
  a change rebuilds only that stage. Reference: node_modules/bakeplan/docs/templates.md.
{% endcomment %}
{% arg BASE_IMAGE %}
FROM \${BASE_IMAGE} AS runtime
{% arg APP_VERSION %}
WORKDIR /app
RUN echo "{{ project.name }} \${APP_VERSION} on {{ os }}" > /app/VERSION

FROM runtime AS dev
RUN echo "development image" > /app/MODE
`;

const MAKEFILE = `# bakeplan targets: add \`include bakeplan.mk\` to your Makefile.
BAKEPLAN ?= npx --no-install bakeplan
TARGETS ?=

.PHONY: images-plan images-check images-lint images

images-plan: ## render bake/*.Dockerfile and docker-bake.json from context.yaml + templates/
\t$(BAKEPLAN) plan

images-check: ## exit 1 with a diff when bake/ or docker-bake.json is out of date
\t$(BAKEPLAN) check

images-lint: ## BuildKit's Dockerfile checks, reported at template lines
\t$(BAKEPLAN) lint $(TARGETS)

images: ## build: make images TARGETS="ubuntu24 ubuntu24-dev"
\t$(BAKEPLAN) bake $(TARGETS)
`;

/** The GitHub Actions workflow: check and lint always; PRs read cache; main pushes and writes cache; nightly warms it. */
export function workflow(s: Pick<ScaffoldInputs, "registry"> & { role?: string }): string {
  const role = s.role ?? "arn:aws:iam::123456789012:role/image-builds";
  return `name: images
on:
  pull_request:
  push:
    branches: [main]
  schedule:
    - cron: "0 3 * * *"

permissions:
  contents: read
  id-token: write # OIDC for configure-aws-credentials

concurrency:
  group: images-\${{ github.ref }}
  cancel-in-progress: \${{ github.event_name == 'pull_request' }}

jobs:
  images:
    runs-on: ubuntu-24.04
    timeout-minutes: 360
    env:
      # The branch and commit of this build: tags <branch>-<target>, <sha>-<target>; cache <target>-<branch>.
      BRANCH: \${{ github.head_ref || github.ref_name }}
      SHA: \${{ github.event.pull_request.head.sha || github.sha }}
    steps:
      - uses: actions/checkout@v6

      - uses: actions/setup-node@v6
        with:
          node-version: 22
          cache: npm
      - run: npm ci

      # The committed plan (bake/ and docker-bake.json) must match context.yaml and templates/.
      - name: bakeplan check
        run: npx bakeplan check

      - uses: docker/setup-qemu-action@v4 # for platforms other than the runner's
      - uses: docker/setup-buildx-action@v4 # a docker-container builder: exports registry cache

      - uses: aws-actions/configure-aws-credentials@v6
        with:
          role-to-assume: ${role}
          aws-region: us-west-2
      - uses: docker/login-action@v4
        with:
          registry: ${s.registry}

      - name: bakeplan lint
        run: npx bakeplan lint

      # bake builds the committed plan; --branch/--sha reach buildx in an override file, never the tree.
      - name: Build (pull request; reads branch, then main cache; pushes nothing)
        if: github.event_name == 'pull_request'
        run: npx bakeplan bake default --branch "$BRANCH" --sha "$SHA" --metadata-file "$RUNNER_TEMP/bake-metadata.json"

      - name: Build, push, write cache (main)
        if: github.event_name == 'push'
        run: npx bakeplan bake all --push --branch main --sha "$SHA" --metadata-file "$RUNNER_TEMP/bake-metadata.json"

      - name: Warm the cache (nightly)
        if: github.event_name == 'schedule'
        run: npx bakeplan bake all --cache-warm --branch main

      - name: The job left the tree as committed
        run: git diff --exit-code && test -z "$(git status --porcelain)"

      - uses: actions/upload-artifact@v7
        if: always()
        with:
          name: bake-metadata
          path: \${{ runner.temp }}/bake-metadata.json
          if-no-files-found: ignore
`;
}

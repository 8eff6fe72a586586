import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { onTestFinished } from "vitest";
import { main } from "../src/bin.js";
import { loadContext } from "../src/config/load.js";
import type { Project } from "../src/config/normalize.js";
import { readProject } from "../src/io/project-files.js";
import { buildPlan, type Plan } from "../src/plan/plan.js";
import type { TemplateFiles } from "../src/render/templates.js";

export const REPO = resolve(import.meta.dirname, "..");

/** A throwaway directory with the given files, removed when the test ends. */
export function testdir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "bakeplan-test-"));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return dir;
}

/**
 * A copy of the bundled example (context.yaml + templates/) in a throwaway directory, or of the
 * project under examples/NAME.
 */
export function exampleCopy(name?: string): string {
  const dir = testdir();
  const from = name === undefined ? REPO : join(REPO, "examples", name);
  cpSync(join(from, "context.yaml"), join(dir, "context.yaml"));
  cpSync(join(from, "templates"), join(dir, "templates"), { recursive: true });
  return dir;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process (same code path as bin/bakeplan.js) with cwd set to `cwd`. */
export async function runCli(args: string[], cwd?: string): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const previous = process.cwd();
  if (cwd) process.chdir(cwd);
  try {
    const code = await main(["node", "bakeplan", ...args], {
      out: (s) => void (stdout += s),
      err: (s) => void (stderr += s),
    });
    return { code, stdout, stderr };
  } finally {
    if (cwd) process.chdir(previous);
  }
}

/**
 * A small valid context.yaml for unit tests: framework x os x target (the stage axis), 8 targets,
 * 4 Dockerfiles. Tests append top-level keys to it and pin line numbers against it.
 */
export const MINI_CONTEXT = `project:
  name: demo
  source: https://example.com/demo
axes:
  framework:
    vllm:
      args:
        FW_REF: v1
    sglang:
      args:
        FW_REF: s1
  os:
    ubuntu:
      name: ""
      package_manager: apt
    ubi:
      package_manager: dnf
  target:
    runtime:
      name: ""
    dev: {}
stage_axis: target
defaults:
  platforms: [linux/amd64]
  images:
    BASE_IMAGE: docker.io/library/ubuntu:24.04
publish:
  registry: registry.example.com
  repository: demo/app
  tags: ["{name}"]
`;

/**
 * Dynamo's device axis: cuda | xpu | cpu, and a CUDA version only for cuda (`axes.cuda.when`, line
 * 9). framework [vllm, sglang] x device x cuda x target; sglang is CUDA only. 10 targets: 8 CUDA
 * ones, vllm-xpu(-dev) and vllm-cpu(-dev), each once.
 */
export const DEVICE_CONTEXT = `project: {name: demo}
axes:
  framework: [vllm, sglang]
  device:
    cuda: {name: ""}
    xpu: {images: {BASE_IMAGE: "docker.io/intel/deep-learning-essentials:2025.3.2-0-devel-ubuntu24.04"}}
    cpu: {}
  cuda:
    when: {device: cuda}
    description: the CUDA toolkit, for device cuda
    values:
      "12.9": {name: cuda12, args: {CUDA_VERSION: "12.9"}}
      "13.0": {name: cuda13, args: {CUDA_VERSION: "13.0"}}
  target:
    runtime: {name: ""}
    dev: {}
stage_axis: target
defaults:
  platforms: [linux/amd64]
  images: {BASE_IMAGE: "docker.io/library/ubuntu:24.04"}
exclude:
  - when: {framework: sglang, device: [xpu, cpu]}
    reason: SGLang is CUDA only
publish:
  registry: registry.example.com
  repository: demo/app
  tags: ["{framework}-{target}[-{cuda.name}][-{device.name}]"]
`;

/** The template that goes with DEVICE_CONTEXT: it tests for CUDA with `{% if cuda %}`. */
export const DEVICE_TEMPLATE = `{% arg BASE_IMAGE %}
FROM \${BASE_IMAGE} AS runtime
{% if cuda %}{% arg CUDA_VERSION %}
RUN echo cuda {{ cuda }}
{% else %}RUN echo {{ device }} without cuda{{ cuda }}
{% endif %}FROM runtime AS dev
`;

/** The top-level template that goes with MINI_CONTEXT: stages runtime and dev. */
export const MINI_TEMPLATE = `{% arg BASE_IMAGE %}
FROM \${BASE_IMAGE} AS runtime
{% arg FW_REF %}
{% install_packages curl %}
RUN echo {{ framework }} > /fw
FROM runtime AS dev
`;

/** Parses and validates context.yaml text; throws ConfigError like the CLI would. */
export function loadProject(yaml: string, file = "context.yaml"): Project {
  return loadContext(file, yaml).project;
}

/** In-memory template files, as readTemplates returns them. */
export function templateFiles(files: Record<string, string> = { "Dockerfile.liquid": MINI_TEMPLATE }): TemplateFiles {
  return new Map(Object.entries(files));
}

/** A throwaway project directory with MINI_CONTEXT and MINI_TEMPLATE; `files` adds or replaces files. */
export function miniProject(files: Record<string, string> = {}): string {
  return testdir({ "context.yaml": MINI_CONTEXT, "templates/Dockerfile.liquid": MINI_TEMPLATE, ...files });
}

/** One buildx run captured from the real engine by scripts/capture-buildx-fixtures.mjs. */
export interface CapturedRun {
  /** After `docker`; `<metadata>` stands for the --metadata-file path. */
  argv: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  /** What buildx wrote to --metadata-file (bake runs only; null when it wrote nothing). */
  metadata?: Record<string, unknown> | null;
}

const BUILDX_FIXTURES = join(REPO, "test/fixtures/buildx");

/** The buildx versions with captured output, e.g. ["0.29.1"]. */
export function capturedBuildxVersions(): string[] {
  return readdirSync(BUILDX_FIXTURES).sort();
}

export function capturedRun(version: string, name: string): CapturedRun {
  return JSON.parse(readFileSync(join(BUILDX_FIXTURES, version, `${name}.json`), "utf8")) as CapturedRun;
}

/**
 * The plan of test/fixtures/e2e as the capture made it (`--registry 127.0.0.1:5000`), with the
 * same template edit, read without touching the fixture.
 */
export function capturedProjectPlan(edit?: { file: string; from: string; to: string }): {
  project: Project;
  templates: TemplateFiles;
  plan: Plan;
} {
  const files = readProject(join(REPO, "test/fixtures/e2e/context.yaml"));
  const templates = new Map(files.templates);
  if (edit) {
    const text = templates.get(edit.file);
    if (text === undefined || !text.includes(edit.from)) throw new Error(`${edit.file} does not contain ${edit.from}`);
    templates.set(edit.file, text.replace(edit.from, edit.to));
  }
  const plan = buildPlan(files.project, templates, {
    configLabel: "context.yaml",
    inputs: { registry: "127.0.0.1:5000" },
  });
  return { project: files.project, templates, plan };
}

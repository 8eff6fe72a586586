import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { onTestFinished } from "vitest";
import { main } from "../src/bin.js";
import { loadContext } from "../src/config/load.js";
import type { Project } from "../src/config/normalize.js";
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

/** A copy of the bundled example (context.yaml + templates/) in a throwaway directory. */
export function exampleCopy(): string {
  const dir = testdir();
  cpSync(join(REPO, "context.yaml"), join(dir, "context.yaml"));
  cpSync(join(REPO, "templates"), join(dir, "templates"), { recursive: true });
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

import { basename } from "node:path";
import { formatIssue, type Issue } from "../errors.js";
import type { Lock } from "../images/lock.js";
import { requireLock } from "../io/lock-file.js";
import { readProject, type ProjectFiles } from "../io/project-files.js";
import { buildPlan, type Plan } from "../plan/plan.js";
import type { SharedRenders } from "../plan/render-variants.js";
import type { Output, PlanCommandOptions } from "./types.js";

/** The builder's platform as Node sees the machine: what BUILDPLATFORM is for a local builder. */
export function hostPlatform(): string {
  const arch = { x64: "amd64", arm64: "arm64", arm: "arm/v7", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" }[
    process.arch as string
  ];
  return `linux/${arch ?? process.arch}`;
}

export function printWarnings(warnings: readonly Issue[], output: Output): void {
  for (const w of warnings) output.err(`bakeplan: warning: ${formatIssue(w)}\n`);
}

/** Reads the project and plans it in memory; prints warnings. `lock` is what a locked plan was pinned with. */
export function planProject(
  opts: PlanCommandOptions,
  output: Output,
  how: { ignoreBuildLocked?: boolean; renders?: SharedRenders } = {},
): { files: ProjectFiles; plan: Plan; lock?: Lock } {
  const t0 = performance.now();
  const files = readProject(opts.config);
  const locked = opts.locked === true || (files.project.build.locked && !how.ignoreBuildLocked);
  const lock = locked
    ? requireLock(files.dir, opts.locked === true ? "--locked" : "context.yaml sets build.locked")
    : undefined;
  const tRead = performance.now() - t0;
  const plan = planAgain(files, opts, lock, how.renders);
  plan.timings = { "load+validate": tRead, ...plan.timings };
  printWarnings([...files.warnings, ...plan.warnings], output);
  if (opts.verbose) {
    // performance.now() counts from the process start: Node itself, loading modules, and the command's own checks.
    output.err(`bakeplan: start ${t0.toFixed(1)} ms (process start to planning)\n`);
    output.err(`bakeplan: timings (ms): ${formatTimings(plan.timings)}\n`);
  }
  return { files, plan, lock };
}

/** A plan's step timings as `--verbose` prints them: `expand 10.1, resolve 26.6, ...`. */
export function formatTimings(timings: Readonly<Record<string, number>>): string {
  return Object.entries(timings)
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(", ");
}

/** The project `planProject` read, planned with these options (e.g. another run's), printing nothing. */
export function planAgain(
  files: ProjectFiles,
  opts: PlanCommandOptions,
  lock: Lock | undefined,
  renders?: SharedRenders,
): Plan {
  return buildPlan(files.project, files.templates, {
    // Generated files name the config relative to the project directory, so they do not depend on the cwd.
    configLabel: basename(files.configLabel),
    projectDir: files.dir,
    overrides: opts.set,
    only: opts.only,
    inputs: opts.inputs,
    inputVariables: opts.inputVariables,
    strict: opts.strict,
    maxVariants: opts.maxVariants,
    builders: opts.builders,
    lock,
    buildPlatform: lock ? hostPlatform() : undefined,
    renders,
  });
}

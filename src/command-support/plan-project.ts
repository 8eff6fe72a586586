import { basename } from "node:path";
import { formatIssue, type Issue } from "../errors.js";
import { readProject, type ProjectFiles } from "../io/project-files.js";
import { buildPlan, type Plan } from "../plan/plan.js";
import type { Output, PlanCommandOptions } from "./types.js";

export function printWarnings(warnings: readonly Issue[], output: Output): void {
  for (const w of warnings) output.err(`bakeplan: warning: ${formatIssue(w)}\n`);
}

/** Reads the project and plans it in memory; prints warnings. */
export function planProject(opts: PlanCommandOptions, output: Output): { files: ProjectFiles; plan: Plan } {
  const t0 = performance.now();
  const files = readProject(opts.config);
  const tRead = performance.now() - t0;
  const plan = buildPlan(files.project, files.templates, {
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
  });
  plan.timings = { "load+validate": tRead, ...plan.timings };
  printWarnings([...files.warnings, ...plan.warnings], output);
  if (opts.verbose) {
    // performance.now() counts from the process start: Node itself, loading modules, and the command's own checks.
    output.err(`bakeplan: start ${t0.toFixed(1)} ms (process start to planning)\n`);
    output.err(
      `bakeplan: timings (ms): ${Object.entries(plan.timings)
        .map(([k, v]) => `${k} ${v.toFixed(1)}`)
        .join(", ")}\n`,
    );
  }
  return { files, plan };
}

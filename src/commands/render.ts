import { planProject } from "../command-support/plan-project.js";
import { findTarget, namesakeNote } from "../command-support/targets.js";
import type { Output, PlanCommandOptions } from "../command-support/types.js";

export function render(opts: PlanCommandOptions & { target: string }, output: Output): void {
  const { plan, files } = planProject(opts, output);
  const target = findTarget(plan, opts.target, files.project.source);
  const note = namesakeNote(plan, target.variant.name, files.project.source);
  if (note) output.err(`bakeplan: ${note}\n`);
  output.out(plan.files.find((f) => f.path === target.dockerfile)!.content);
}

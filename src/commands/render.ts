import { planProject } from "../command-support/plan-project.js";
import { findTarget } from "../command-support/targets.js";
import type { Output, PlanCommandOptions } from "../command-support/types.js";

export function render(opts: PlanCommandOptions & { target: string }, output: Output): void {
  const { plan, files } = planProject(opts, output);
  const target = findTarget(plan, opts.target, files.project.source);
  output.out(plan.files.find((f) => f.path === target.dockerfile)!.content);
}

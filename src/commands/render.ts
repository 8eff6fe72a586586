import type { Output, PlanCommandOptions } from "../cli.js";
import { planProject } from "./shared.js";
import { findTarget } from "./explain.js";

export function render(opts: PlanCommandOptions & { target: string }, output: Output): void {
  const { plan, files } = planProject(opts, output);
  const target = findTarget(plan, opts.target, files.project.source);
  output.out(plan.files.find((f) => f.path === target.dockerfile)!.content);
}

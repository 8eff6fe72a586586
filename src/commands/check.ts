import type { Output, PlanCommandOptions } from "../cli.js";
import { DriftError } from "../errors.js";
import { diffPlan } from "../io/write-plan.js";
import { bakeFilePath, planProject } from "./shared.js";

export async function check(opts: PlanCommandOptions & { out?: string }, output: Output): Promise<void> {
  const { files, plan } = planProject(opts, output);
  const diff = diffPlan(plan, files.dir, bakeFilePath(files, opts.out));
  if (diff !== "") {
    output.out(diff);
    throw new DriftError("generated files are out of date (diff above); run `bakeplan plan` with the same options");
  }
  output.out(`up to date: ${plan.files.length} Dockerfiles and the bake file\n`);
}

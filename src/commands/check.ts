import type { Output, PlanCommandOptions } from "../cli.js";
import { DriftError } from "../errors.js";
import { displayPath } from "../io/project-files.js";
import { diffPlan, interruptedPlan } from "../io/write-plan.js";
import { bakeFilePath, planProject } from "./shared.js";

export function check(opts: PlanCommandOptions & { out?: string }, output: Output): void {
  const { files, plan } = planProject(opts, output);
  // Never writes, so it does not roll an interrupted plan forward: it says so, and `plan` finishes it.
  const journal = interruptedPlan(plan, files.dir);
  if (journal)
    throw new DriftError(
      `${displayPath(journal)}: a plan was interrupted (or is being written right now); run \`bakeplan plan\` to finish it`,
    );
  const diff = diffPlan(plan, files.dir, bakeFilePath(files, opts.out));
  if (diff !== "") {
    output.out(diff);
    throw new DriftError("generated files are out of date (diff above); run `bakeplan plan` with the same options");
  }
  output.out(`up to date: ${plan.files.length} Dockerfiles and the bake file\n`);
}

import { bakeFilePath } from "../command-support/bake-file.js";
import { planProject } from "../command-support/plan-project.js";
import type { Output, PlanCommandOptions } from "../command-support/types.js";
import { UserError } from "../errors.js";
import { displayPath } from "../io/project-files.js";
import { diffPlan, interruptedPlan } from "../io/write-plan.js";

export function check(opts: PlanCommandOptions & { out?: string }, output: Output): void {
  const { files, plan } = planProject(opts, output);
  // Never writes, so it does not roll an interrupted plan forward: it says so, and `plan` finishes it.
  const journal = interruptedPlan(plan, files.dir);
  if (journal)
    throw new UserError(
      `${displayPath(journal)}: a plan was interrupted (or is being written right now); run \`bakeplan plan\` to finish it`,
    );
  const diff = diffPlan(plan, files.dir, bakeFilePath(opts.config, opts.out));
  if (diff !== "") {
    output.out(diff);
    throw new UserError("generated files are out of date (diff above); run `bakeplan plan` with the same options");
  }
  output.out(`up to date: ${plan.files.length} Dockerfiles and the bake file\n`);
}

import { bakeFilePath } from "../command-support/bake-file.js";
import { planProject } from "../command-support/plan-project.js";
import type { Output, PlanCommandOptions } from "../command-support/types.js";
import { UserError } from "../errors.js";
import { displayPath } from "../io/project-files.js";
import { diffPlan, interruptedPlan } from "../io/write-plan.js";
import { imagesOf } from "../command-support/images.js";
import { lockProblems } from "../images/lock.js";
import { lockPath, readLock } from "../io/lock-file.js";

export function check(opts: PlanCommandOptions & { out?: string }, output: Output): void {
  const { files, plan } = planProject(opts, output);
  // Never writes, so it does not roll an interrupted plan forward: it says so, and `plan` finishes it.
  const journal = interruptedPlan(plan, files.dir);
  if (journal)
    throw new UserError(
      `${displayPath(journal)}: a plan was interrupted (or is being written right now); run \`bakeplan plan\` to finish it`,
    );
  const diff = diffPlan(plan, files.dir, bakeFilePath(opts.config, opts.out));
  // The lock, offline: an entry for every image the plan pulls, and none for an image it no longer does.
  const lock = readLock(files.dir);
  let stale: string[] = [];
  if (lock) {
    const list = imagesOf(
      files,
      plan,
      plan.targets.map((t) => t.variant.name),
      lock,
    );
    const problems = lockProblems(
      lock,
      list.images.map((n) => n.ref),
      displayPath(lockPath(files.dir)),
    );
    stale = problems.map((p) => `\n  ${p}`);
  }
  if (diff !== "") output.out(diff);
  if (diff !== "" || stale.length > 0)
    throw new UserError(
      [
        ...(diff !== ""
          ? ["generated files are out of date (diff above); run `bakeplan plan` with the same options"]
          : []),
        ...(stale.length > 0 ? [`the lock is stale:${stale.join("")}`] : []),
      ].join("; "),
    );
  output.out(
    `up to date: ${plan.files.length} Dockerfiles and the bake file${lock ? `, and ${displayPath(lockPath(files.dir))}` : ""}\n`,
  );
}

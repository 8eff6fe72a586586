import { basename } from "node:path";
import { UserError } from "../errors.js";
import type { Lock } from "../images/lock.js";
import { displayPath, type ProjectFiles } from "../io/project-files.js";
import { diffPlan, interruptedPlan, writePlan } from "../io/write-plan.js";
import { buildPlan, type Plan } from "../plan/plan.js";
import { hostPlatform, planProject } from "./plan-project.js";
import type { Output, PlanCommandOptions } from "./types.js";

/** `CI` as GitHub Actions, GitLab, Buildkite and most runners set it (`true`, `1`); `false`/`0` is off. */
export function runningInCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.CI ?? "").trim().toLowerCase();
  return v !== "" && v !== "false" && v !== "0";
}

/**
 * The plan as committed (what `bakeplan plan` writes: no --branch/--sha/--image-version/--registry)
 * and the plan this run builds (with them). Read once; the second plan only when inputs are given.
 */
export function committedAndWanted(
  opts: PlanCommandOptions,
  output: Output,
): { files: ProjectFiles; committed: Plan; wanted: Plan; lock?: Lock } {
  // --builders belongs to this run (bake spreads its targets), not to the committed plan.
  const { files, plan: committed, lock } = planProject({ ...opts, only: [], inputs: {}, builders: undefined }, output);
  if (Object.keys(opts.inputs).length === 0) return { files, committed, wanted: committed, lock };
  const wanted = buildPlan(files.project, files.templates, {
    configLabel: basename(files.configLabel),
    projectDir: files.dir,
    overrides: opts.set,
    inputs: opts.inputs,
    inputVariables: opts.inputVariables,
    strict: opts.strict,
    maxVariants: opts.maxVariants,
    // Pinned as the committed plan is: the run's bake file differs from it only in tags, labels and cache refs.
    lock,
    buildPlatform: lock ? hostPlatform() : undefined,
  });
  return { files, committed, wanted, lock };
}

/**
 * Makes sure buildx reads the committed plan. In CI (`CI` set) an out-of-date plan fails, as
 * `check` does, with the diff: CI never builds what nobody committed, nor rewrites the tree.
 * Elsewhere the plan is written (what `bakeplan plan` would write) and that is said on stderr.
 */
export function useCommittedPlan(
  plan: Plan,
  projectDir: string,
  bakeFile: string,
  output: Output,
  opts: { ci: boolean; dryRun?: boolean },
): void {
  if (opts.ci) {
    const journal = interruptedPlan(plan, projectDir);
    if (journal)
      throw new UserError(
        `${displayPath(journal)}: a plan was interrupted; run \`bakeplan plan\`, commit the result, and run again`,
      );
    const diff = diffPlan(plan, projectDir, bakeFile);
    if (diff === "") return;
    output.out(diff);
    throw new UserError(
      "the committed plan is out of date (diff above): run `bakeplan plan` and commit bake/ and the bake file; in CI (CI is set) bakeplan builds only what is committed and never rewrites it",
    );
  }
  if (opts.dryRun) {
    if (diffPlan(plan, projectDir, bakeFile) !== "")
      output.err("bakeplan: the plan is out of date; without --dry-run it would be written first (`bakeplan plan`)\n");
    return;
  }
  const written = writePlan(plan, projectDir, bakeFile);
  const changed = written.written.length + written.removed.length;
  if (changed > 0)
    output.err(
      `bakeplan: the plan was out of date; wrote it first (${written.written.length} written, ${written.removed.length} removed), as \`bakeplan plan\` does\n`,
    );
}

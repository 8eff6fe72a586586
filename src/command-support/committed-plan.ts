import { UserError } from "../errors.js";
import type { Lock } from "../images/lock.js";
import { displayPath, type ProjectFiles } from "../io/project-files.js";
import { diffPlan, interruptedPlan, writePlan } from "../io/write-plan.js";
import { serializeBakeFile } from "../plan/bake-file.js";
import { dockerfileChangesBeyondArgs, onDockerfilesOf } from "../plan/override.js";
import type { Plan } from "../plan/plan.js";
import type { SharedRenders } from "../plan/render-variants.js";
import { overriddenVar, type Override } from "../resolve/resolve.js";
import { planAgain, planProject } from "./plan-project.js";
import type { Output, PlanCommandOptions } from "./types.js";

/** `CI` as GitHub Actions, GitLab, Buildkite and most runners set it (`true`, `1`); `false`/`0` is off. */
export function runningInCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.CI ?? "").trim().toLowerCase();
  return v !== "" && v !== "false" && v !== "0";
}

/**
 * The plan as committed (what `bakeplan plan` writes: no --set/--branch/--sha/--image-version/--registry)
 * and the plan this run builds (with them). Read once; the second plan only when some are given.
 * The run's `--set` values reach the build as bake args (and the secrets they select) in the
 * override file, never as the committed Dockerfiles' ARG defaults.
 */
export function committedAndWanted(
  opts: PlanCommandOptions,
  output: Output,
  /** Renders a later plan of this run can reuse (`bake --affected` plans BASE with them). */
  renders?: SharedRenders,
): { files: ProjectFiles; committed: Plan; wanted: Plan; lock?: Lock } {
  // --builders belongs to this run (bake spreads its targets), not to the committed plan.
  const {
    files,
    plan: committed,
    lock,
  } = planProject({ ...opts, set: [], only: [], inputs: {}, builders: undefined }, output, { renders });
  if (Object.keys(opts.inputs).length === 0 && opts.set.length === 0)
    return { files, committed, wanted: committed, lock };
  // Pinned as the committed plan is: the run's bake file differs from it only in tags, labels,
  // cache refs and the --set values.
  const wanted = setOnlyInArgs(
    committed,
    planAgain(files, { ...opts, only: [], builders: undefined }, lock, renders),
    opts.set,
    "bake builds the committed Dockerfiles and passes this run's values as bake args. Set the value in context.yaml (or write the plan with `bakeplan plan --set ...` and build it with `docker buildx bake`)",
  );
  return { files, committed, wanted, lock };
}

/**
 * A plan whose `--set` values go only into a bake file (bake's override file, `plan --out`
 * elsewhere) next to the Dockerfiles planned without them (`base`): fine while they change nothing
 * in those Dockerfiles but the defaults of the ARGs they set, which bake args replace. Anything
 * more (a template value, an ARG a template reads) is refused, saying what to do instead.
 * Returns `wanted` on base's Dockerfiles: each target builds the one it builds in `base`.
 */
export function setOnlyInArgs(base: Plan, wanted: Plan, set: readonly Override[], instead: string): Plan {
  if (set.length === 0) return wanted;
  const args = new Set(set.filter((o) => overriddenVar(o) === undefined).map((o) => o.name));
  const changes = dockerfileChangesBeyondArgs(base, wanted, args);
  if (changes.length > 0) {
    const names = [...new Set(set.map((o) => o.name))].join(", ");
    const shown = changes.slice(0, 3).join(", ") + (changes.length > 3 ? ` and ${changes.length - 3} more` : "");
    throw new UserError(
      `--set ${names} changes what the Dockerfiles hold, not only an ARG default (${shown}): ${instead}`,
    );
  }
  const bakeFile = onDockerfilesOf(base.bakeFile, wanted.bakeFile);
  const baseTarget = new Map(base.targets.map((t) => [t.variant.name, t]));
  return {
    ...wanted,
    files: base.files,
    bakeFile,
    bakeJson: serializeBakeFile(bakeFile),
    targets: wanted.targets.map((t) => ({
      ...t,
      dockerfile: baseTarget.get(t.variant.name)?.dockerfile ?? t.dockerfile,
      bake: bakeFile.target[t.variant.name] ?? t.bake,
    })),
  };
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

import { basename, dirname, posix, resolve } from "node:path";
import { compareRevisions, type AffectedResult, type Side, type Unavailable } from "../affected/compare.js";
import type { Project } from "../config/normalize.js";
import { UserError } from "../errors.js";
import { changedFiles, mergeBase, openRepository, resolveCommits, type Repository } from "../io/git.js";
import {
  bakeplanVersionAt,
  bakeplanVersionOnDisk,
  FilesAt,
  ignoreFilesAt,
  ignoreFilesOnDisk,
  ignorePaths,
  lockCandidates,
  lockPath,
  readLockAt,
  readRevision,
  repoPath,
  templatesPath,
  type NotPlannable,
  type RevisionProject,
} from "../io/git-project.js";
import type { Lock } from "../images/lock.js";
import type { ProjectFiles } from "../io/project-files.js";
import { InstructionPool } from "../render/instructions.js";
import { selectVariants } from "../matrix/select.js";
import { buildPlan, type Plan } from "../plan/plan.js";
import { SharedRenders } from "../plan/render-variants.js";
import type { TemplateFiles } from "../render/templates.js";
import { formatTimings, hostPlatform, planProject, printWarnings } from "./plan-project.js";
import type { Output, PlanCommandOptions } from "./types.js";

export interface AffectedQuery extends PlanCommandOptions {
  /** The revision to compare with (its merge base with HEAD). */
  base: string;
  /** A revision to compare; the working tree when undefined. */
  head?: string;
}

export interface AffectedRun {
  result: AffectedResult;
  /** `origin/main (merge base 1a2b3c4)` */
  baseLabel: string;
  headLabel: string;
  /** The HEAD plan (the working tree's when no --head was given). */
  plan: Plan;
  project: Project;
  /** Set when the working tree was planned. */
  files?: ProjectFiles;
}

/** Plans HEAD and BASE (from git objects, in memory) and compares them target by target. */
export async function findAffected(
  q: AffectedQuery,
  output: Output,
  /** HEAD as the caller planned it from the working tree, with the renders it did (`bake --affected`). */
  planned?: { files: ProjectFiles; plan: Plan; lock?: Lock; renders?: SharedRenders },
): Promise<AffectedRun> {
  checkRevision("--base", q.base);
  if (q.head !== undefined) checkRevision("--head", q.head);
  const configAbs = resolve(q.config);
  const repo = await openRepository(dirname(configAbs));
  const [tip, baseCommit] = await resolveCommits(repo, [q.head ?? "HEAD", q.base]);
  if (q.head !== undefined && tip === undefined)
    throw new UserError(`--head ${q.head}: no such revision in ${repo.top}`);
  const headCommit = q.head !== undefined ? tip : undefined;
  const headFiles = headCommit === undefined ? undefined : new FilesAt(repo, headCommit);
  const configPath = repoPath(repo, configAbs);
  const projectDir = repoPath(repo, dirname(configAbs));
  // BASE reuses HEAD's renders where templates and template scope are the same (most of them).
  const renders = planned?.renders ?? new SharedRenders();

  // HEAD: the working tree (read like `plan` reads it), or a revision.
  let head: {
    project: Project;
    templates: TemplateFiles;
    plan: Plan;
    label: string;
    prefix: string;
    files?: ProjectFiles;
    /** The lock HEAD was planned with (a locked project). */
    lock?: Lock;
  };
  if (headCommit === undefined) {
    const { files, plan, lock } = planned ?? planProject({ ...q, only: [] }, output, { renders });
    head = { project: files.project, templates: files.templates, plan, label: "working tree", prefix: "", files, lock };
  } else {
    const read = await readRevision(headFiles!, q.head!, configAbs);
    if ("problem" in read) throw new UserError(read.problem);
    const lock = await lockOf(headFiles!, q.head!, configAbs, read, q);
    if (lock && "problem" in lock) throw new UserError(lock.problem);
    printWarnings(read.warnings, output);
    head = {
      project: read.project,
      templates: read.templates,
      plan: planAt(read.project, read.templates, q, renders, lock?.lock),
      lock: lock?.lock,
      label: q.head!,
      prefix: `${q.head!}:`,
    };
  }

  const headSide = async (): Promise<Side> => ({
    label: head.label,
    prefix: head.prefix,
    project: head.project,
    templates: head.templates,
    plan: head.plan,
    lock: head.lock,
    ignoreFiles:
      headCommit === undefined
        ? ignoreFilesOnDisk(resolve(dirname(configAbs), head.project.build.context), ignoreNames(head.plan))
        : await ignoreFilesAt(headFiles!, contextDir(repo, configAbs, head.project), ignoreNames(head.plan)),
    bakeplanVersion:
      headCommit === undefined
        ? bakeplanVersionOnDisk(repo, projectDir)
        : await bakeplanVersionAt(headFiles!, projectDir),
  });
  const run = (base: Side | Unavailable, baseLabel: string, changed: string[], side: Side): AffectedRun => {
    const instructions = new InstructionPool();
    const result = compareRevisions(base, side, {
      changed,
      only: q.only.length > 0 ? new Set(selected(head.plan, head.project, q.only)) : undefined,
      buildPlatform: hostPlatform(),
      instructions,
    });
    if (q.verbose)
      output.err(
        `bakeplan: changed Dockerfiles: ${instructions.counts.parsed} instructions read, ${instructions.counts.shared} taken from another Dockerfile's parse (same lines at the same place)\n`,
      );
    return { result, baseLabel, headLabel: head.label, plan: head.plan, project: head.project, files: head.files };
  };

  if (baseCommit === undefined) {
    if (!repo.shallow) throw new UserError(`--base ${q.base}: no such revision in ${repo.top}`);
    const why = `${q.base} is not in this shallow clone`;
    output.err(`bakeplan: warning: ${why}: every target is affected. ${FETCH_DEPTH}\n`);
    return run({ unavailable: `base unavailable (${why})` }, q.base, [], await headSide());
  }
  let from = tip === undefined ? undefined : await mergeBase(repo, baseCommit, tip);
  if (from === undefined) {
    if (repo.shallow) {
      const why = `no merge base of ${q.base} and ${q.head ?? "HEAD"} in this shallow clone`;
      output.err(`bakeplan: warning: ${why}: every target is affected. ${FETCH_DEPTH}\n`);
      return run({ unavailable: `base unavailable (${why})` }, q.base, [], await headSide());
    }
    output.err(
      `bakeplan: warning: ${q.base} and ${q.head ?? "HEAD"} share no history; comparing with ${q.base} itself\n`,
    );
    from = baseCommit;
  }
  const baseLabel =
    from === baseCommit ? `${q.base} (${from.slice(0, 7)})` : `${q.base} (merge base ${from.slice(0, 7)})`;

  const side = await headSide();
  // Everything BASE's plan and comparison read, listed and read at once (where BASE has what HEAD has).
  const baseFiles = new FilesAt(repo, from);
  await baseFiles.load([
    configPath,
    templatesPath(configPath, head.project.build.templates),
    ...ignorePaths(contextDir(repo, configAbs, head.project), ignoreNames(head.plan)),
    ...lockCandidates(projectDir),
    ...(q.locked === true || head.project.build.locked ? [lockPath(repo, configAbs)] : []),
  ]);
  const revision = await readRevision(baseFiles, q.base, configAbs);
  if ("problem" in revision) {
    output.err(`bakeplan: note: ${revision.problem}: every target is affected\n`);
    return run({ unavailable: `base has no plan (${revision.problem})` }, baseLabel, [], side);
  }
  // A locked BASE is planned with its own lock, as it was committed: equal pins compare equal.
  const baseLock = await lockOf(baseFiles, q.base, configAbs, revision, q);
  if (baseLock && "problem" in baseLock) {
    output.err(`bakeplan: note: ${baseLock.problem}: every target is affected\n`);
    return run({ unavailable: `base has no plan (${baseLock.problem})` }, baseLabel, [], side);
  }
  let basePlan: Plan;
  try {
    const before = { ...renders.counts };
    basePlan = planAt(revision.project, revision.templates, q, renders, baseLock?.lock, { compared: true });
    if (q.verbose)
      output.err(
        `bakeplan: base renders: ${renders.counts.rendered - before.rendered} rendered, ${renders.counts.reused - before.reused} reused from the head's (same template scope and texts of the templates rendered), ${renders.counts.reusedUpToArgDefaults - before.reusedUpToArgDefaults} from the head's up to ARG defaults bake overrides\n` +
          `bakeplan: base timings (ms): ${formatTimings(basePlan.timings)}\n`,
      );
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    const problem = `${revision.configLabel} does not plan: ${e.message.split("\n")[0]}`;
    output.err(`bakeplan: note: ${problem}: every target is affected\n`);
    return run({ unavailable: `base has no plan (${problem})` }, baseLabel, [], side);
  }
  const ctx = contextDir(repo, configAbs, head.project);
  const changed = (await changedFiles(repo, from, headCommit, ctx)).map((p) =>
    ctx === "" ? p : p.slice(ctx.length + 1),
  );
  const base: Side = {
    label: q.base,
    prefix: `${q.base}:`,
    project: revision.project,
    templates: revision.templates,
    plan: basePlan,
    lock: baseLock?.lock,
    ignoreFiles: await ignoreFilesAt(baseFiles, contextDir(repo, configAbs, revision.project), [
      ...new Set([...ignoreNames(basePlan), ...ignoreNames(head.plan)]),
    ]),
    bakeplanVersion: await bakeplanVersionAt(baseFiles, projectDir),
  };
  return run(base, baseLabel, changed, side);
}

/**
 * A revision from the command line (often a pull request's branch name) is never a git option and
 * never drives the terminal: refused before git sees it when it starts with "-" (`--upload-pack=...`),
 * is empty, or holds a control character or a blank, none of which a ref name may
 * (git-check-ref-format); `a..b` and other forms that name no single commit fail git's own lookup.
 */
function checkRevision(option: string, ref: string): void {
  const why = ref.startsWith("-")
    ? 'a revision never starts with "-"'
    : ref === ""
      ? "it is empty"
      : // eslint-disable-next-line no-control-regex -- the point
        /[\x00-\x20\x7f]/.test(ref)
        ? "a revision holds no blanks or control characters"
        : undefined;
  if (why)
    throw new UserError(
      `${option} ${JSON.stringify(ref)}: not a revision (${why}); give a branch, tag or commit, e.g. ${option} origin/main`,
    );
}

const FETCH_DEPTH =
  "Fetch the base's history to compare (actions/checkout with `fetch-depth: 0`, or `git fetch --deepen=N origin <base>`)";

/** The lock a revision is planned with: none unless locked (`--locked`, or its context.yaml sets build.locked). */
async function lockOf(
  files: FilesAt,
  label: string,
  configAbs: string,
  revision: RevisionProject,
  q: AffectedQuery,
): Promise<{ lock: Lock } | NotPlannable | undefined> {
  if (q.locked !== true && !revision.project.build.locked) return undefined;
  return readLockAt(
    files,
    label,
    configAbs,
    q.locked === true ? "--locked" : `${revision.configLabel} sets build.locked`,
  );
}

function planAt(
  project: Project,
  templates: TemplateFiles,
  q: AffectedQuery,
  renders: SharedRenders,
  lock: Lock | undefined,
  /** BASE: only compared with HEAD (PlanOptions.compared). */
  { compared = false } = {},
): Plan {
  return buildPlan(project, templates, {
    renders,
    compared,
    lock,
    buildPlatform: lock ? hostPlatform() : undefined,
    // As the working tree's plan names it (not `main:context.yaml`): the same Dockerfile gets the same header at both revisions.
    configLabel: basename(q.config),
    overrides: q.set,
    inputs: q.inputs,
    strict: q.strict,
    maxVariants: q.maxVariants,
  });
}

/** The build context as a repository path ("" = the top). */
function contextDir(repo: Repository, configAbs: string, project: Project): string {
  const dir = posix.normalize(posix.join(repoPath(repo, dirname(configAbs)) || ".", project.build.context));
  return dir === "." ? "" : dir;
}

/** `.dockerignore` and each Dockerfile's own `<Dockerfile>.dockerignore`, relative to the context. */
function ignoreNames(plan: Plan): string[] {
  return [".dockerignore", ...new Set(plan.targets.map((t) => `${t.bake.dockerfile}.dockerignore`))];
}

/** The HEAD targets `--only` picks. */
function selected(plan: Plan, project: Project, only: string[]): string[] {
  return selectVariants(
    { variants: plan.targets.map((t) => t.variant), groups: plan.groups, axes: project.axes },
    only,
  ).map((v) => v.name);
}

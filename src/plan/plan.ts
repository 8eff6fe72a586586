import type { Project } from "../config/normalize.js";
import { ConfigError, type Issue, type SourceLocation } from "../errors.js";
import { expandMatrix, type Matrix } from "../matrix/expand.js";
import { selectVariants } from "../matrix/select.js";
import type { TemplateFiles } from "../render/templates.js";
import { templateReads } from "../render/variable-refs.js";
import { COMMAND_LINE, type Override } from "../resolve/resolve.js";
import { compareStrings } from "../text.js";
import { analyzeRenderings } from "./analyze.js";
import { assembleBakeFile, type BakeFile } from "./bake-file.js";
import { argExpansionWarnings, inputIssues, inputOrigin, overrideIssues, unusedValueWarnings } from "./checks.js";
import { OutputCheckpoint, type InputText } from "./checkpoint.js";
import { claimIssues } from "./claims.js";
import { plannedFiles, type PlannedFile } from "./dockerfiles.js";
import { computeGroups, plannedGroups } from "./groups.js";
import { layOutFiles } from "./layout.js";
import { planBuilders, type BuilderPlan } from "./pool.js";
import type { BuildInputs } from "./naming.js";
import { renderVariants } from "./render-variants.js";
import { resolveVariants } from "./resolve-variants.js";
import { planTargets, type PlannedTarget } from "./targets.js";
import { pinned, type Lock } from "../images/lock.js";
import type { Variant } from "../matrix/expand.js";
import { baseAnnotations, pinRenderings, pinValues } from "./pin.js";
import type { Rendering, SharedRenders } from "./render-variants.js";

export interface PlanOptions {
  /** How the config file is named in generated headers and messages, e.g. `context.yaml`. */
  configLabel: string;
  /**
   * Absolute directory of context.yaml. Paths in the plan are relative to it, never to the cwd;
   * it is read only when build.context leads outside it (`..`), where a Dockerfile's path
   * relative to the context names the project directory.
   */
  projectDir?: string;
  overrides?: Override[];
  only?: string[];
  inputs?: BuildInputs;
  /** The environment variable each input came from, when not from its option. */
  inputVariables?: Partial<Record<keyof BuildInputs, string>>;
  strict?: boolean;
  maxVariants?: number;
  /** `--builders`: the pool to spread the targets over, instead of context.yaml's `builders.pool`. */
  builders?: string[];
  /** bakeplan.lock.json: pin every image to its digest (`plan --locked`, `build.locked`). */
  lock?: Lock;
  /** The builder's platform (BUILDPLATFORM), for the base-image annotations of a locked plan. */
  buildPlatform?: string;
  /** Renders shared with other plans of this run (`affected`: HEAD's, for BASE). */
  renders?: SharedRenders;
  /**
   * The plan is only compared with the one that shared its renders first (`affected`'s BASE),
   * never written or built: a render may then be one whose Dockerfile differs from this plan's
   * only in ARG defaults that bake overrides (renderVariants' `compared`). Not for a locked plan,
   * whose pins are read from its Dockerfiles. It has no warnings: nothing prints them.
   */
  compared?: boolean;
}

export interface Plan {
  /** Output directory of the Dockerfiles, relative to the project directory. */
  outDir: string;
  /** Where `build.out_dir` is written (or context.yaml's top, for the default), for errors about it. */
  outDirSource: SourceLocation;
  /** What the plan was read from, relative to the project directory: never an output. */
  sources: { config: string; templates: string };
  /** Only some targets were planned (--only): files of the others are not known, so none is stale. */
  partial: boolean;
  matrix: Matrix;
  targets: PlannedTarget[];
  groups: Map<string, string[]>;
  files: PlannedFile[];
  bakeFile: BakeFile;
  readonly bakeJson: string;
  /** The builder pool and each target's builder, when context.yaml or `--builders` names a pool. */
  builders?: BuilderPlan;
  warnings: Issue[];
  /** Stage timings in ms, for benchmarks and --verbose. */
  timings: Record<string, number>;
}

/**
 * context.yaml + templates -> Dockerfiles and bake file, in memory. Pure: no I/O. Each stage is
 * its own module; this conducts them and times them.
 */
export function buildPlan(project: Project, templates: TemplateFiles, opts: PlanOptions): Plan {
  const lap = stopwatch();
  const inputs = opts.inputs ?? {};
  const overrides = opts.overrides ?? [];
  failOn(inputIssues(inputs, opts.inputVariables));
  const checkpoint = new OutputCheckpoint(project.source, inputTexts(opts, templates, project.build.templates));
  checkHeaderText(checkpoint, project, templates, opts.configLabel);
  failOn(checkpoint.issues);

  const matrix = expandMatrix(project, { maxVariants: opts.maxVariants, strict: opts.strict });
  const allGroups = computeGroups(project, matrix.variants, matrix.excluded);
  const selected = selectVariants(
    { variants: matrix.variants, groups: allGroups, axes: project.axes },
    opts.only ?? [],
  );
  lap("expand");

  const resolved = resolveVariants(project, selected, overrides);
  const pinnedValues = opts.lock && pinValues(resolved, opts.lock);
  if (pinnedValues) failOn(pinnedValues.issues);
  const valuesOf = pinnedValues?.valuesOf ?? resolved;
  lap("resolve");

  const reads = templateReads(templates);
  const rendered = renderVariants(
    project,
    templates,
    selected,
    valuesOf,
    reads,
    checkpoint,
    opts.renders,
    opts.compared === true && !opts.lock,
  );
  const renderingOf = opts.lock ? pinRenderings(rendered, opts.lock) : rendered;
  lap("render");

  const pathOf = layOutFiles(project.build.outDir, selected, renderingOf);
  const analysis = analyzeRenderings(renderingOf.values(), opts.renders?.shapes);
  const { targets, issues } = planTargets(project, selected, {
    valuesOf,
    renderingOf,
    pathOf,
    analysis,
    inputs,
    projectDir: opts.projectDir,
  });
  failOn([
    ...issues.map((i) => fromEnvironment(i, opts.inputVariables)),
    ...overrideIssues(overrides, analysis.declared, project.varNames),
  ]);
  failOn(claimIssues(project, targets));
  const partial = selected.length < matrix.variants.length;
  // A compared plan's warnings are printed by nobody, and its renders may be another plan's.
  const warnings = opts.compared
    ? []
    : [
        ...matrix.warnings,
        ...(partial ? [] : unusedValueWarnings(project, targets, reads)),
        ...argExpansionWarnings(project, targets, renderingOf),
      ];
  lap("plan");

  if (opts.lock) annotate(targets, renderingOf, opts.lock, opts.buildPlatform ?? "linux/amd64");
  const builders = planBuilders(project, targets, (t) => renderingOf.get(t.variant)!.content.body, {
    names: opts.builders,
    groups: allGroups,
  });
  if (builders) lap("builders");

  const build = opts.lock ? { ...project.build, syntax: pinSyntax(project.build.syntax, opts.lock) } : project.build;
  const files = plannedFiles(pathOf, targets, build, opts.configLabel);
  const groups = plannedGroups(allGroups, new Set(targets.map((t) => t.variant.name)));
  for (const [name, members] of builders?.groups ?? []) groups.set(name, members);
  const assembled = assembleBakeFile(new Map(targets.map((t) => [t.variant.name, t.bake])), groups);
  const bakeFile = assembled.bakeFile;
  checkpoint.bakeFile(bakeFile);
  failOn(checkpoint.issues);
  lap("bake");

  targets.sort((a, b) => compareStrings(a.variant.name, b.variant.name));
  return {
    outDir: project.build.outDir,
    outDirSource: project.source.locate(["build", "out_dir"]),
    sources: { config: opts.configLabel, templates: project.build.templates },
    partial,
    matrix,
    targets,
    groups,
    files,
    bakeFile,
    // Serialized when first read (assembleBakeFile): a plan that writes no bake file never pays for it.
    get bakeJson() {
      return assembled.bakeJson;
    },
    builders,
    warnings,
    timings: lap.timings,
  };
}

/** Strings from outside context.yaml that reach outputs, for the checkpoint to name where a bad one came from. */
function inputTexts(opts: PlanOptions, templates: TemplateFiles, templatesLabel: string): InputText[] {
  const texts: InputText[] = [];
  for (const o of opts.overrides ?? [])
    texts.push({ text: o.value, location: { file: COMMAND_LINE, path: `--set ${o.name}` }, what: "ARG", name: o.name });
  for (const key of ["version", "sha", "branch", "registry"] as const) {
    const text = opts.inputs?.[key];
    if (text !== undefined) texts.push({ text, ...inputOrigin(key, opts.inputVariables) });
  }
  texts.push({
    text: opts.configLabel,
    location: { file: COMMAND_LINE, path: "--config" },
    what: "config file name",
    name: JSON.stringify(opts.configLabel),
  });
  for (const name of templates.keys())
    texts.push({
      text: name,
      location: { file: `${templatesLabel}/${name}` },
      what: "template file name",
      name: JSON.stringify(name),
    });
  return texts;
}

/** What every Dockerfile's header and source markers print: the config file's name, the template directory and file names, the syntax line. */
function checkHeaderText(
  checkpoint: OutputCheckpoint,
  project: Project,
  templates: TemplateFiles,
  configLabel: string,
) {
  checkpoint.text(configLabel, "dockerfile", () => "the header of every generated Dockerfile");
  checkpoint.text(project.build.templates, "dockerfile", () => "the header of every generated Dockerfile");
  if (project.build.syntax !== undefined)
    checkpoint.text(project.build.syntax, "dockerfile", () => "the first line of every generated Dockerfile");
  for (const name of templates.keys())
    checkpoint.text(name, "dockerfile", () => "the source marker comments of the generated Dockerfiles");
}

/** A problem with --registry names BAKEPLAN_REGISTRY when the value came from there. */
function fromEnvironment(issue: Issue, variables: PlanOptions["inputVariables"]): Issue {
  const at = issue.location;
  if (at?.file !== COMMAND_LINE || at.path !== "--registry") return issue;
  return { ...issue, location: inputOrigin("registry", variables).location };
}

/** Each target's OCI base-image annotations, from the lock. */
function annotate(
  targets: PlannedTarget[],
  renderingOf: ReadonlyMap<Variant, Rendering>,
  lock: Lock,
  buildPlatform: string,
): void {
  for (const t of targets) {
    const annotations = baseAnnotations(t, renderingOf.get(t.variant)!.content.body, lock, buildPlatform);
    if (annotations) t.bake = { ...t.bake, annotations };
  }
}

function pinSyntax(syntax: string | undefined, lock: Lock): string | undefined {
  const entry = syntax !== undefined ? lock.images[syntax] : undefined;
  return entry && syntax !== undefined && !syntax.includes("@") ? pinned(syntax, entry) : syntax;
}

function failOn(issues: Issue[]): void {
  if (issues.length > 0) throw new ConfigError(issues);
}

/** `lap(stage)` adds the time since the previous lap to `timings[stage]`. */
function stopwatch(): ((stage: string) => void) & { timings: Record<string, number> } {
  const timings: Record<string, number> = {};
  let t0 = performance.now();
  const lap = (stage: string) => {
    const now = performance.now();
    timings[stage] = (timings[stage] ?? 0) + (now - t0);
    t0 = now;
  };
  return Object.assign(lap, { timings });
}

import type { Project } from "../config/normalize.js";
import { ConfigError, UserError } from "../errors.js";
import { valuesLabel, type Variant } from "../matrix/expand.js";
import { argLinesStandAlone, tidy } from "../render/dockerfile.js";
import { argTagLine, type ArgDeclaration } from "../render/custom-tags.js";
import { jinjaConstructs } from "../render/jinja.js";
import { positionAt } from "../render/template-refs.js";
import { findIncludeCycle, TemplateEngine, type TemplateFiles } from "../render/templates.js";
import { mayReadMember, mayReadRoot, templateReads, type TemplateReads } from "../render/variable-refs.js";
import type { ResolvedValues } from "../resolve/resolve.js";
import { compareStrings, didYouMean, record } from "../text.js";
import { OutputCheckpoint } from "./checkpoint.js";
import type { DockerfileShape } from "../render/dockerfile.js";
import { ContentStore, type Content } from "./contents.js";

/** One render: its Dockerfile body and the `{% arg %}` lines it went through. Shared by every variant with the same template scope. */
export interface Rendering {
  content: Content;
  declared: ArgDeclaration[];
}

/**
 * Renders shared by the plans of one run: `affected` plans HEAD, then BASE, and most of their
 * renders are the same. A render is reused when the render settings (entry template, template
 * directory, tidy, limits), the variant's template scope and package manager, and the text of
 * every template file the render went through are equal (a change to a template only some
 * variants include renders only those again); the Contents come from one store, so equal bodies
 * are one Content in both plans.
 */
export class SharedRenders {
  readonly contents = new ContentStore();
  /** Each shared Content's stages and ARGs (analyze.ts). */
  readonly shapes = new Map<Content, DockerfileShape>();
  /**
   * Renders done, renders an earlier plan had done, and renders of an earlier plan taken by a plan
   * that is only compared, whose scope differed in ARG defaults alone (`renderVariants`' `compared`).
   */
  readonly counts = { rendered: 0, reused: 0, reusedUpToArgDefaults: 0 };
  private readonly bySettings = new Map<string, Pick<EarlierRenders, "byScope" | "byShape">>();
  private readonly checks: { templates: TemplateFiles; checked: TemplateChecks }[] = [];

  /** The renders of earlier plans with these settings, and what these very templates were checked for. */
  renders(project: Project, templates: TemplateFiles): EarlierRenders {
    const { template, templates: dir, tidy } = project.build;
    const settings = JSON.stringify([template, dir, tidy, project.renderLimits]);
    let renders = this.bySettings.get(settings);
    if (!renders) this.bySettings.set(settings, (renders = { byScope: new Map(), byShape: new Map() }));
    const same = (a: TemplateFiles) =>
      a.size === templates.size && [...templates].every(([name, text]) => a.get(name) === text);
    let entry = this.checks.find((e) => same(e.templates));
    if (!entry) this.checks.push((entry = { templates, checked: { jinja: new Map() } }));
    return { ...renders, checked: entry.checked };
  }
}

/** A render, and the text of each template file it went through. */
interface SharedRendering {
  rendering: Rendering;
  files: readonly (readonly [string, string])[];
}

interface EarlierRenders {
  /** By template scope and package manager. */
  byScope: Map<string, SharedRendering[]>;
  /**
   * By the same key with the values of the ARGs templates read only through `{% arg %}` left out,
   * the first render of each for the template texts it read, with the ARG values it was rendered with.
   */
  byShape: Map<string, { shared: SharedRendering; args: ReadonlyMap<string, string> }[]>;
  /** What these templates were checked for before they render: an include cycle, and Jinja constructs by the names the scope gives. */
  checked: TemplateChecks;
}

interface TemplateChecks {
  cycle?: { found: ReturnType<typeof findIncludeCycle> };
  jinja: Map<string, ReturnType<typeof jinjaConstructs>>;
}

/**
 * Renders the top-level template once per distinct template scope, with one Content per distinct
 * body. The stage axis is in the scope only when a template mentions it: otherwise variants that
 * differ only in the stage axis have one scope and share one render (the bundled example renders 6
 * times for 18 targets), and when it is read, renders of equal text still share one Content.
 */
export function renderVariants(
  project: Project,
  templates: TemplateFiles,
  variants: readonly Variant[],
  valuesOf: ReadonlyMap<Variant, ResolvedValues>,
  reads: TemplateReads = templateReads(templates),
  checkpoint = new OutputCheckpoint(project.source),
  shared?: SharedRenders,
  /**
   * The plan is only compared with the one that rendered first (`affected`'s BASE with HEAD's),
   * never written or built. A variant whose template scope differs from an earlier render's only in
   * the values of ARGs that no template reads but through `{% arg %}`, each written there as a
   * one-line ARG instruction, takes that render: its Dockerfile differs only in those ARGs'
   * defaults, which bake overrides with the variant's own values as build args, and which the
   * comparison (affected/compare.ts) reads by name for that reason.
   */
  compared = false,
): Map<Variant, Rendering> {
  const { build, stageAxis } = project;
  const earlier = shared?.renders(project, templates);
  const checked: TemplateChecks = earlier?.checked ?? { jinja: new Map() };
  const cycle = (checked.cycle ??= { found: findIncludeCycle(templates) }).found;
  if (cycle)
    throw new UserError(`Include cycle: ${cycle.cycle.join(" -> ")}`, {
      location: { file: `${build.templates}/${cycle.cycle[cycle.cycle.length - 2]}`, line: cycle.line, col: cycle.col },
    });
  // What these templates were checked for already, by an earlier plan of this run (the names its axes give).
  const names = [...project.axes.map((a) => a.name), "vars", "args", "project"];
  const namesKey = JSON.stringify(names);
  let jinja = checked.jinja.get(namesKey);
  if (!jinja) checked.jinja.set(namesKey, (jinja = jinjaConstructs(templates, new Set(names))));
  if (jinja.length > 0)
    throw new ConfigError(
      jinja.map((j) => ({
        message: j.message,
        location: { file: `${build.templates}/${j.template}`, ...positionAt(templates.get(j.template)!, j.offset) },
      })),
    );
  const engine = new TemplateEngine(templates, build.templates, { limits: project.renderLimits });
  const omit = stageAxis !== undefined && !mayReadRoot(reads, stageAxis) ? stageAxis : undefined;
  const contents = shared?.contents ?? new ContentStore();
  const byScope = new Map<string, Rendering>();
  const renderingOf = new Map<Variant, Rendering>();
  for (const variant of variants) {
    const values = valuesOf.get(variant)!;
    const scope = templateScope(project, variant, values, { omit });
    // A derived ARG is written differently from a literal of the same text: part of the key.
    const derived = new Set([...values.args].filter(([, v]) => v.derived).map(([k]) => k));
    const key = derived.size > 0 ? JSON.stringify([scope, [...derived].sort(compareStrings)]) : JSON.stringify(scope);
    let rendering = byScope.get(key);
    if (!rendering) {
      // Every value a template can print passes the output checkpoint before it is rendered.
      checkpoint.scope(scope, variant.name);
      for (const name of derived)
        checkpoint.derivedDefault(name, values.args.get(name)!.value, values.args.get(name)!.source);
      if (checkpoint.issues.length > 0) throw new ConfigError(checkpoint.issues);
      const packageManager = packageManagerOf(project, variant);
      const pm = JSON.stringify(packageManager ?? null);
      const sharedKey = `${key}\u0000${pm}`;
      const argValues = new Map([...values.args].map(([k, v]) => [k, v.value]));
      // Worked out only when asked: a render reused as it is never needs it.
      let shape: string | undefined;
      const shapeKey = () =>
        (shape ??= `${JSON.stringify([shapeScope(scope, reads, derived), [...derived].sort(compareStrings)])}\u0000${pm}`);
      // An earlier render that went through template files of the same texts as these.
      const fits = (r: SharedRendering) => r.files.every(([name, text]) => templates.get(name) === text);
      rendering = earlier?.byScope.get(sharedKey)?.find(fits)?.rendering;
      if (rendering) shared!.counts.reused++;
      else if (
        compared &&
        (rendering = upToArgDefaults(
          earlier?.byShape.get(shapeKey())?.find((e) => fits(e.shared)),
          argValues,
        ))
      )
        shared!.counts.reusedUpToArgDefaults++;
      else {
        const r = engine.render(build.template, {
          scope,
          args: argValues,
          derived,
          packageManager,
          hint: (name) => closestVariable(name, scope),
          variantLabel: `${variant.name} (${valuesLabel(variant.values)})`,
        });
        rendering = { content: contents.intern(build.tidy ? tidy(r.text) : r.text), declared: r.declared };
        if (shared) shared.counts.rendered++;
        if (earlier) {
          const done: SharedRendering = { rendering, files: [...r.templates].map((n) => [n, templates.get(n)!]) };
          push(earlier.byScope, sharedKey, done);
          if (!earlier.byShape.get(shapeKey())?.some((e) => fits(e.shared)))
            push(earlier.byShape, shapeKey(), { shared: done, args: argValues });
        }
      }
      byScope.set(key, rendering);
    }
    renderingOf.set(variant, rendering);
  }
  return renderingOf;
}

/** A template scope with the values of the ARGs no template reads as `args.NAME` left out (null), derived ones kept. */
function shapeScope(scope: Record<string, unknown>, reads: TemplateReads, derived: ReadonlySet<string>) {
  const args = record<string | null>();
  for (const [name, value] of Object.entries(scope.args as Record<string, string>))
    args[name] = derived.has(name) || mayReadMember(reads, "args", name) ? value : null;
  return { ...scope, args };
}

/**
 * An earlier render of the same shape, when each ARG whose value differs is written by it only as
 * one-line ARG instructions: then this variant's render differs from it only in those defaults.
 */
function upToArgDefaults(
  earlier: { shared: SharedRendering; args: ReadonlyMap<string, string> } | undefined,
  args: ReadonlyMap<string, string>,
): Rendering | undefined {
  if (!earlier) return undefined;
  const { rendering } = earlier.shared;
  for (const [name, value] of args) {
    const was = earlier.args.get(name)!;
    if (was === value) continue;
    // The other value on one line as well (the checkpoint has refused line breaks already).
    if (/[\n\r]/.test(value) || !argLinesStandAlone(rendering.content.body, argTagLine(name, was))) return undefined;
  }
  return rendering;
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/**
 * Template variables of one variant: everything a template can branch on. Every axis (the stage
 * axis too) is a variable; `omit` leaves one out that no template mentions, so that it cannot
 * split renders that would be equal.
 */
export function templateScope(
  project: Project,
  variant: Variant,
  values: ResolvedValues,
  opts: { omit?: string } = {},
): Record<string, unknown> {
  const scope = record<unknown>();
  for (const axis of project.axes) {
    if (axis.name === opts.omit) continue;
    // An axis that does not apply to this variant (its `when` does not match) is nil, like an unset template value.
    scope[axis.name] = variant.values[axis.name] ?? null;
  }
  // Every template value some layer sets is known to every template: nil (null) where this variant
  // has none, so `{% if vars.setuptools %}` tests it while a misspelt name stays an undefined variable.
  const vars = record<string | null>();
  for (const n of project.varNames) vars[n] = values.vars.get(n)?.value ?? null;
  scope.vars = vars;
  const args = record<string>();
  for (const [k, v] of [...values.args].sort(([a], [b]) => compareStrings(a, b))) args[k] = v.value;
  scope.args = args;
  scope.project = Object.assign(record<string>(), { name: project.meta.name });
  return scope;
}

function packageManagerOf(project: Project, variant: Variant) {
  return project.axes.flatMap((a) => a.values).find((v) => v.packageManager && variant.values[v.axis] === v.value)
    ?.packageManager;
}

/** "Did you mean" for an undefined variable: the closest top-level name, or key of `vars`/`args`. */
function closestVariable(name: string, scope: Record<string, unknown>): string | undefined {
  const dot = name.indexOf(".");
  const root = dot < 0 ? name : name.slice(0, dot);
  const inner = scope[root];
  const [known, prefix, rest] =
    dot >= 0 && inner !== null && typeof inner === "object"
      ? [Object.keys(inner), `${root}.`, name.slice(dot + 1).split(".")[0]!]
      : [Object.keys(scope), "", root];
  const hint = didYouMean(rest, known);
  return hint === undefined ? undefined : `Did you mean ${prefix}${hint}?`;
}

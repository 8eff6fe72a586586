import type { Project } from "../config/normalize.js";
import { UserError } from "../errors.js";
import type { Variant } from "../matrix/expand.js";
import { tidy } from "../render/dockerfile.js";
import type { ArgDeclaration } from "../render/custom-tags.js";
import { findIncludeCycle, TemplateEngine, type TemplateFiles } from "../render/templates.js";
import type { ResolvedValues } from "../resolve/resolve.js";
import { compareStrings, sortRecord } from "../text.js";
import { ContentStore, type Content } from "./contents.js";

/** One render: its Dockerfile body and the `{% arg %}` lines it went through. Shared by every variant with the same template scope. */
export interface Rendering {
  content: Content;
  declared: ArgDeclaration[];
}

/**
 * Renders the top-level template once per distinct template scope (variants that differ only in
 * the stage axis share one), with one Content per distinct body.
 */
export function renderVariants(
  project: Project,
  templates: TemplateFiles,
  variants: readonly Variant[],
  valuesOf: ReadonlyMap<Variant, ResolvedValues>,
): Map<Variant, Rendering> {
  const { build, stageAxis } = project;
  const cycle = findIncludeCycle(templates);
  if (cycle)
    throw new UserError(`Include cycle: ${cycle.cycle.join(" -> ")}`, {
      location: { file: `${build.templates}/${cycle.cycle[cycle.cycle.length - 2]}`, line: cycle.line, col: cycle.col },
    });
  const engine = new TemplateEngine(templates, build.templates, { limits: project.renderLimits });
  const hints = new Map([
    [
      stageAxis,
      `"${stageAxis}" is the stage axis: templates render every stage and bake picks one (the bake \`target\`), so it is not a template variable`,
    ],
  ]);
  const contents = new ContentStore();
  const byScope = new Map<string, Rendering>();
  const renderingOf = new Map<Variant, Rendering>();
  for (const variant of variants) {
    const values = valuesOf.get(variant)!;
    const scope = templateScope(project, variant, values);
    const key = JSON.stringify(scope);
    let rendering = byScope.get(key);
    if (!rendering) {
      const r = engine.render(build.template, {
        scope,
        args: new Map([...values.args].map(([k, v]) => [k, v.value])),
        packageManager: packageManagerOf(project, variant),
        hints,
        variantLabel: `${variant.name} (${Object.entries(variant.values)
          .map(([k, v]) => `${k}=${v}`)
          .join(", ")})`,
      });
      rendering = { content: contents.intern(tidy(r.text)), declared: r.declared };
      byScope.set(key, rendering);
    }
    renderingOf.set(variant, rendering);
  }
  return renderingOf;
}

/** Template variables of one variant; everything a template can branch on (the stage axis excluded). */
export function templateScope(project: Project, variant: Variant, values: ResolvedValues): Record<string, unknown> {
  const scope: Record<string, unknown> = {};
  const vars: Record<string, string> = {};
  for (const axis of project.axes) {
    if (axis.name === project.stageAxis) continue;
    const value = variant.values[axis.name]!;
    scope[axis.name] = value;
    Object.assign(vars, axis.values.find((v) => v.value === value)?.vars);
  }
  scope.vars = sortRecord(vars);
  scope.args = Object.fromEntries(
    [...values.args].map(([k, v]) => [k, v.value]).sort(([a], [b]) => compareStrings(a!, b!)),
  );
  scope.project = { name: project.meta.name };
  return scope;
}

function packageManagerOf(project: Project, variant: Variant) {
  return project.axes.flatMap((a) => a.values).find((v) => v.packageManager && variant.values[v.axis] === v.value)
    ?.packageManager;
}

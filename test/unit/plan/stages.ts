// Runs the planner's stages up to the one a test looks at, on MINI_CONTEXT-style projects.
import type { Project } from "../../../src/config/normalize.js";
import { expandMatrix, type Variant } from "../../../src/matrix/expand.js";
import { analyzeRenderings } from "../../../src/plan/analyze.js";
import { layOutFiles } from "../../../src/plan/layout.js";
import type { BuildInputs } from "../../../src/plan/naming.js";
import { renderVariants } from "../../../src/plan/render-variants.js";
import { resolveVariants } from "../../../src/plan/resolve-variants.js";
import type { TargetInputs } from "../../../src/plan/targets.js";
import type { TemplateFiles } from "../../../src/render/templates.js";
import type { Override } from "../../../src/resolve/resolve.js";
import { loadProject, MINI_CONTEXT, templateFiles } from "../../helpers.js";

export interface Staged extends TargetInputs {
  project: Project;
  variants: Variant[];
  templates: TemplateFiles;
}

export function runStages(
  yaml = MINI_CONTEXT,
  templates: TemplateFiles = templateFiles(),
  opts: { overrides?: Override[]; inputs?: BuildInputs } = {},
): Staged {
  const project = loadProject(yaml);
  const { variants } = expandMatrix(project);
  const valuesOf = resolveVariants(project, variants, opts.overrides ?? []);
  const renderingOf = renderVariants(project, templates, variants, valuesOf);
  const pathOf = layOutFiles(project.build.outDir, variants, renderingOf);
  const analysis = analyzeRenderings(renderingOf.values());
  return { project, variants, templates, valuesOf, renderingOf, pathOf, analysis, inputs: opts.inputs ?? {} };
}

export function variant(staged: { variants: readonly Variant[] }, name: string): Variant {
  const v = staged.variants.find((x) => x.name === name);
  if (!v) throw new Error(`no variant ${name}`);
  return v;
}

import type { Project } from "../config/normalize.js";
import { placeholderKeys } from "../config/patterns.js";
import { ENVIRONMENT, type Issue, type SourceLocation } from "../errors.js";
import { AUTOMATIC_ARGS } from "../render/platform-args.js";
import { mayReadMember, type TemplateReads } from "../render/variable-refs.js";
import { COMMAND_LINE, overriddenVar, type Override } from "../resolve/resolve.js";
import { compareStrings, didYouMean } from "../text.js";
import { checkValue } from "../values.js";
import type { BuildInputs } from "./naming.js";
import type { PlannedTarget } from "./targets.js";

/** How a tag input is named: its option, or the environment variable it came from. */
export function inputOrigin(
  key: keyof BuildInputs,
  variables: Partial<Record<keyof BuildInputs, string>> = {},
): { location: SourceLocation; what: string; name: string } {
  const variable = variables[key];
  if (variable !== undefined)
    return { location: { file: ENVIRONMENT, path: variable }, what: "environment variable", name: variable };
  const option = key === "version" ? "--image-version" : `--${key}`;
  return { location: { file: COMMAND_LINE, path: option }, what: "option", name: option };
}

/** --image-version and --sha reach labels as they are (tags get a sanitised copy); --branch is only ever sanitised. */
export function inputIssues(inputs: BuildInputs, variables?: Partial<Record<keyof BuildInputs, string>>): Issue[] {
  const issues: Issue[] = [];
  for (const key of ["version", "sha", "registry"] as const) {
    const value = inputs[key];
    const { location, what, name } = inputOrigin(key, variables);
    if (value !== undefined) for (const message of checkValue(name, value, what)) issues.push({ message, location });
  }
  return issues;
}

/**
 * A --set must name an ARG some Dockerfile declares, and not one BuildKit sets per platform; a
 * --set vars.NAME a template value some layer of context.yaml sets (so templates know the name).
 */
export function overrideIssues(
  overrides: readonly Override[],
  declared: ReadonlySet<string>,
  varNames: readonly string[],
): Issue[] {
  const issues: Issue[] = [];
  for (const o of overrides) {
    const v = overriddenVar(o);
    if (v !== undefined) {
      if (!varNames.includes(v)) {
        const hint = didYouMean(v, varNames);
        issues.push({
          message: `No layer of context.yaml sets the template value ${v}, so no template knows it.${hint ? ` Did you mean vars.${hint}?` : ""} ${varNames.length > 0 ? `Template values: ${varNames.join(", ")}` : "Set it under vars: (in defaults, say) first"}`,
          location: { file: COMMAND_LINE, path: `--set ${o.name}` },
        });
      }
    } else if (AUTOMATIC_ARGS.has(o.name))
      issues.push({
        message: `${o.name} is set by BuildKit for each platform; a build arg would override it for every platform. Choose platforms in context.yaml instead`,
        location: { file: COMMAND_LINE, path: `--set ${o.name}` },
      });
    else if (!declared.has(o.name))
      issues.push({
        message: `No rendered Dockerfile declares ARG ${o.name}. Declared: ${[...declared].sort(compareStrings).join(", ")}`,
        location: { file: COMMAND_LINE, path: `--set ${o.name}` },
      });
  }
  return issues;
}

/**
 * A value set in context.yaml that nothing uses is dead weight (Dynamo's build.sh had several): an
 * ARG no rendered Dockerfile declares and no template reads as `args.NAME`, a template value no
 * template reads as `vars.NAME` and no tag or cache pattern names.
 */
export function unusedValueWarnings(
  project: Project,
  targets: readonly PlannedTarget[],
  reads: TemplateReads,
): Issue[] {
  const used = new Set<string>();
  for (const t of targets) for (const name of t.declarations.keys()) used.add(name);
  const varsInPatterns = new Set(patternVars(project));
  const warnings: Issue[] = [];
  for (const layer of project.layers) {
    for (const name of Object.keys(layer.values.vars ?? {}))
      if (!mayReadMember(reads, "vars", name) && !varsInPatterns.has(name))
        warnings.push({
          message: `Template value ${name} is set here but no template reads vars.${name} and no tag or cache pattern names {vars.${name}}`,
          location: project.source.locate([...layer.path, "vars", name], { key: true }),
        });
    for (const kind of ["args", "images"] as const) {
      for (const name of Object.keys(layer.values[kind] ?? {})) {
        if (!used.has(name) && !mayReadMember(reads, "args", name))
          warnings.push({
            message: `ARG ${name} is set here but no rendered Dockerfile declares it`,
            location: project.source.locate([...layer.path, kind, name], { key: true }),
          });
      }
    }
  }
  return warnings;
}

/** Template values that tag and cache patterns name as {vars.NAME}. */
function patternVars(project: Project): string[] {
  const patterns = [...project.publish.tags.map((t) => t.pattern), ...(project.cache ? [project.cache.tag] : [])];
  return patterns.flatMap(placeholderKeys).flatMap((k) => (k.startsWith("vars.") ? [k.slice("vars.".length)] : []));
}

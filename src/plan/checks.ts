import type { Project } from "../config/normalize.js";
import type { Issue } from "../errors.js";
import { AUTOMATIC_ARGS } from "../render/platform-args.js";
import { COMMAND_LINE, type Override } from "../resolve/resolve.js";
import { compareStrings } from "../text.js";
import { checkValue } from "../values.js";
import type { BuildInputs } from "./naming.js";
import type { PlannedTarget } from "./targets.js";

/** --image-version and --sha reach labels as they are (tags get a sanitised copy); --branch is only ever sanitised. */
export function inputIssues(inputs: BuildInputs): Issue[] {
  const issues: Issue[] = [];
  for (const key of ["version", "sha", "registry"] as const) {
    const value = inputs[key];
    const option = key === "version" ? "--image-version" : `--${key}`;
    if (value !== undefined)
      for (const message of checkValue(option, value, "option"))
        issues.push({ message, location: { file: COMMAND_LINE, path: option } });
  }
  return issues;
}

/** A --set must name an ARG some Dockerfile declares, and not one BuildKit sets per platform. */
export function overrideIssues(overrides: readonly Override[], declared: ReadonlySet<string>): Issue[] {
  const issues: Issue[] = [];
  for (const o of overrides) {
    if (AUTOMATIC_ARGS.has(o.name))
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

/** A value set in context.yaml that no rendered Dockerfile declares is dead weight (Dynamo's build.sh had several). */
export function unusedValueWarnings(project: Project, targets: readonly PlannedTarget[]): Issue[] {
  const used = new Set<string>();
  for (const t of targets) for (const name of t.declarations.keys()) used.add(name);
  const warnings: Issue[] = [];
  for (const layer of project.layers) {
    for (const kind of ["args", "images"] as const) {
      for (const name of Object.keys(layer.values[kind] ?? {})) {
        if (!used.has(name))
          warnings.push({
            message: `ARG ${name} is set here but no rendered Dockerfile declares it`,
            location: project.source.locate([...layer.path, kind, name], { key: true }),
          });
      }
    }
  }
  return warnings;
}

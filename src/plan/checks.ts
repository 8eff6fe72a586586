import type { Project } from "../config/normalize.js";
import { placeholderKeys } from "../config/patterns.js";
import { ENVIRONMENT, type Issue, type SourceLocation } from "../errors.js";
import { AUTOMATIC_ARGS } from "../render/platform-args.js";
import { mayReadMember, type TemplateReads } from "../render/variable-refs.js";
import { COMMAND_LINE, overriddenVar, type Override } from "../resolve/resolve.js";
import { compareStrings, didYouMean } from "../text.js";
import { parseInstructions, splitWords, argDeclarations } from "../render/instructions.js";
import { checkValue, derivedArgValue, derivedNames } from "../values.js";
import type { Variant } from "../matrix/expand.js";
import type { BuildInputs } from "./naming.js";
import type { Rendering } from "./render-variants.js";
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

// BuildKit's predefined ARGs, usable without an ARG instruction
// (https://docs.docker.com/build/building/variables/#pre-defined-build-arguments).
const PREDEFINED_ARGS = ["HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY"].flatMap((n) => [
  n,
  n.toLowerCase(),
]);

/**
 * ARG defaults and BuildKit's expansion. A `{% arg %}` of a plain value holding `${` writes it
 * escaped, so BuildKit gets the characters, not an expansion: a warning naming the value and the
 * template line (a port of `ARG X=${Y#*==}` means `{derived: ...}`). A derived default that reads
 * an ARG not declared before it in its stage (nor set by an ENV there or in a stage it is built
 * FROM) gets "" from BuildKit, unless the base image sets it as ENV, which bakeplan cannot see:
 * a warning, as BuildKit's own UndefinedVar check gives, not an error.
 */
export function argExpansionWarnings(
  project: Project,
  targets: readonly PlannedTarget[],
  renderingOf: ReadonlyMap<Variant, Rendering>,
): Issue[] {
  const warnings: Issue[] = [];
  const seen = new Set<string>();
  const warn = (message: string, location: SourceLocation) => {
    const key = `${JSON.stringify(location)} ${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    warnings.push({ message, location });
  };
  const dir = project.build.templates;
  const checked = new Set<string>();
  for (const t of targets) {
    const rendering = renderingOf.get(t.variant)!;
    const args = t.values.args;
    for (const d of rendering.declared) {
      const v = args.get(d.name);
      if (v && !v.derived && v.value.includes("${"))
        warn(
          `ARG ${d.name} holds "\${" but is a plain value: {% arg ${d.name} %} at ${dir}/${d.template}:${d.line} writes it escaped, so BuildKit reads those characters and expands nothing. For a default BuildKit expands from other ARGs, write ${d.name}: {derived: ${JSON.stringify(v.value)}}`,
          v.source,
        );
    }
    const derived = rendering.declared.filter((d) => args.get(d.name)?.derived);
    if (derived.length === 0) continue;
    const key = `${t.dockerfile}\0${derived.map((d) => `${d.name}=${args.get(d.name)!.value}`).join("\0")}`;
    if (checked.has(key)) continue;
    checked.add(key);
    for (const u of undeclaredReads(rendering.content.body, derived, args))
      warn(
        `ARG ${u.name}'s derived default reads \${${u.reads}}, which is not declared before it in ${u.stage === undefined ? "the global scope" : `stage ${u.stage}`} (${dir}/${u.at.template}:${u.at.line}); BuildKit expands it to an empty string unless the base image sets ${u.reads} as ENV. Declare ${u.reads} above it (${AUTOMATIC_ARGS.has(u.reads) ? `a plain ARG ${u.reads}` : `{% arg ${u.reads} %}, or ARG ${u.reads} to inherit a global one`})`,
        args.get(u.name)!.source,
      );
  }
  return warnings;
}

/** The names each derived `{% arg %}` line reads that nothing before it in its scope declares. */
function undeclaredReads(
  dockerfile: string,
  derived: readonly { name: string; template: string; line: number }[],
  args: PlannedTarget["values"]["args"],
): { name: string; reads: string; stage?: string; at: { template: string; line: number } }[] {
  const df = parseInstructions(dockerfile);
  const pending = [...derived];
  const out: { name: string; reads: string; stage?: string; at: { template: string; line: number } }[] = [];
  const envOf = new Map<string, Set<string>>();
  const visit = (
    instructions: readonly { keyword: string; args: string; text: string }[],
    known: Set<string>,
    stage?: string,
  ) => {
    for (const ins of instructions) {
      if (ins.keyword === "ENV") for (const n of envNames(ins.args)) known.add(n);
      if (ins.keyword !== "ARG") continue;
      for (const decl of argDeclarations(ins.args)) {
        const i = pending.findIndex(
          (d) =>
            d.name === decl.name && ins.text.trim() === `ARG ${d.name}=${derivedArgValue(args.get(d.name)!.value)}`,
        );
        if (i >= 0) {
          const d = pending.splice(i, 1)[0]!;
          for (const r of derivedNames(args.get(d.name)!.value))
            if (!r.guarded && !known.has(r.name) && !out.some((o) => o.name === d.name && o.reads === r.name))
              out.push({ name: d.name, reads: r.name, stage, at: d });
        }
        known.add(decl.name);
      }
    }
  };
  visit(df.global, new Set([...AUTOMATIC_ARGS, ...PREDEFINED_ARGS]));
  for (const stage of df.stages) {
    // A stage built FROM another inherits its ENV (not its ARGs).
    const parent = envOf.get(stage.image.toLowerCase());
    const known = new Set([...PREDEFINED_ARGS, ...(parent ?? [])]);
    const env = new Set(parent ?? []);
    visit(stage.instructions.slice(1), known, stage.name ?? `#${stage.index}`);
    for (const ins of stage.instructions) if (ins.keyword === "ENV") for (const n of envNames(ins.args)) env.add(n);
    if (stage.name !== undefined) envOf.set(stage.name, env);
  }
  return out;
}

/** The names an `ENV a=b c=d` (or legacy `ENV a b`) instruction sets. */
function envNames(args: string): string[] {
  const words = splitWords(args);
  if (words.length > 0 && !words[0]!.includes("=")) return [words[0]!];
  return words.filter((w) => w.includes("=")).map((w) => w.slice(0, w.indexOf("=")));
}

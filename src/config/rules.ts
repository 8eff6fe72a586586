import { posix } from "node:path";
import { formatLocation, type Issue } from "../errors.js";
import { didYouMean } from "../text.js";
import {
  checkImageReference,
  checkRegistry,
  checkRepository,
  checkValue,
  derivedProblem,
  platformsPart,
  sanitizeTagPart,
  secretArgMessage,
  secretLikeReason,
} from "../values.js";
import { branchPatternProblem, isBranchGlob } from "./branches.js";
import { matchLabel, type Match, type Project } from "./normalize.js";
import {
  BUILT_IN_PLACEHOLDERS,
  INPUT_PLACEHOLDERS,
  literalText,
  meaningsOf,
  placeholderKeys,
  qualified,
  RESERVED_AXIS_NAMES,
  type Meaning,
  type ParsedPattern,
} from "./patterns.js";
import { overlap, patternAutomaton, type Domain } from "./tag-languages.js";
import { formatPath, type KeyPath } from "./yaml-source.js";

interface RuleContext {
  project: Project;
  errors: Issue[];
  warnings: Issue[];
  error: (path: KeyPath, message: string, opts?: { key?: boolean }) => void;
}

type Rule = (ctx: RuleContext) => void;

const atLeastOneAxis: Rule = ({ project, error }) => {
  if (project.axes.length === 0) error(["axes"], "Empty matrix: declare at least one axis, e.g. framework: [vllm]");
};

const axesHaveValues: Rule = ({ project, error }) => {
  for (const axis of project.axes) {
    if (axis.values.length === 0) error(axis.path, `Empty axis "${axis.name}": give it at least one value`);
    const seen = new Set<string>();
    for (const v of axis.values) {
      if (v.value === "") error(v.path, `Empty value in axis "${axis.name}"`);
      if (seen.has(v.value)) error(v.path, `Duplicate value "${v.value}" in axis "${axis.name}"`);
      seen.add(v.value);
    }
  }
};

const stageAxisExists: Rule = ({ project, error }) => {
  const names = project.axes.map((a) => a.name);
  const { stageAxis } = project;
  if (stageAxis !== undefined && !names.includes(stageAxis)) {
    const hint = didYouMean(stageAxis, names);
    error(
      ["stage_axis"],
      `Unknown axis "${stageAxis}".${hint ? ` Did you mean "${hint}"?` : ` Axes: ${names.join(", ")}.`}`,
    );
  }
  for (const axis of project.axes) {
    if (axis.name === stageAxis) continue;
    for (const v of axis.values)
      if (v.stage !== v.value)
        error(
          [...v.path, "stage"],
          stageAxis === undefined
            ? `"stage" is only meaningful on the stage axis, and this file has no stage_axis. Set stage_axis: ${axis.name}, or set the stage in a combination (combinations: [{when: {${axis.name}: ${JSON.stringify(v.value)}}, stage: ${v.stage}}])`
            : `"stage" is only meaningful on the stage axis "${stageAxis}"; to build another stage for some combinations, give the combination a stage (combinations: [{when: {${axis.name}: ${JSON.stringify(v.value)}, ...}, stage: ${v.stage}}])`,
          { key: true },
        );
  }
};

const onePackageManagerAxis: Rule = ({ project, error }) => {
  const axes = project.axes.filter((a) => a.values.some((v) => v.packageManager));
  if (axes.length > 1)
    error(
      axes[1]!.path,
      `package_manager is set on axes ${axes.map((a) => a.name).join(" and ")}; set it on one axis (usually os)`,
    );
  for (const axis of axes)
    for (const v of axis.values)
      if (!v.packageManager)
        error(
          v.path,
          `Missing package_manager for ${axis.name}=${v.value}: every value of axis "${axis.name}" needs one`,
        );
};

function checkMatch(ctx: RuleContext, match: Match, path: KeyPath): void {
  const { project } = ctx;
  for (const [axisName, values] of Object.entries(match)) {
    const axis = project.axes.find((a) => a.name === axisName);
    if (!axis) {
      const hint = didYouMean(
        axisName,
        project.axes.map((a) => a.name),
      );
      ctx.error(
        [...path, axisName],
        `Unknown axis "${axisName}".${hint ? ` Did you mean "${hint}"?` : ` Axes: ${project.axes.map((a) => a.name).join(", ")}.`}`,
        { key: true },
      );
      continue;
    }
    values.forEach((value, i) => {
      const known = axis.values.map((v) => v.value);
      const where: KeyPath = values.length === 1 ? [...path, axisName] : [...path, axisName, i];
      if (value === null) {
        if (!axis.when)
          ctx.error(
            where,
            `~ (null) matches where an axis is absent, but "${axisName}" has a value in every combination (it has no when): name its values${known.length > 0 ? ` (${known.join(", ")})` : ""}`,
          );
        return;
      }
      if (known.includes(value)) return;
      const hint = didYouMean(value, known);
      ctx.error(
        where,
        `Unknown value "${value}" for axis "${axisName}".${hint ? ` Did you mean "${hint}"?` : ""} Values: ${known.join(", ")}.`,
      );
    });
  }
}

const selectorsNameKnownAxes: Rule = (ctx) => {
  const { project } = ctx;
  for (const layer of project.layers)
    if (layer.kind === "combination") checkMatch(ctx, layer.match, [...layer.path, "when"]);
  for (const rule of [...project.exclude, ...project.include]) {
    checkMatch(ctx, rule.match, [...rule.path, "when"]);
    if (Object.keys(rule.match).length === 0)
      ctx.error([...rule.path, "when"], "Empty selector: name at least one axis");
  }
  for (const group of project.groups.define)
    for (const member of group.members) if (member.kind === "match") checkMatch(ctx, member.match, member.path);
  for (const { axis, path } of project.groups.perAxis)
    if (!project.axes.some((a) => a.name === axis)) ctx.error(path, `Unknown axis "${axis}"`);
};

/**
 * An axis restricted by `when` has a value only where the selector matches. The selector names
 * axes listed before it (each combination is built in axis order, so a restriction can neither
 * depend on itself nor on an axis not yet chosen); the stage axis applies everywhere.
 */
const axisRestrictionsAreValid: Rule = (ctx) => {
  const { project } = ctx;
  project.axes.forEach((axis, i) => {
    const when = axis.when;
    if (!when) return;
    if (axis.name === project.stageAxis)
      ctx.error(
        when.path,
        `The stage axis "${axis.name}" applies to every combination: it picks the stage each target builds. Exclude the combinations that do not exist instead (exclude: [{when: {...}, reason: ...}])`,
        { key: true },
      );
    if (Object.keys(when.match).length === 0) {
      ctx.error(when.path, `Empty selector: name the axes where ${axis.name} applies, e.g. when: {device: cuda}`);
      return;
    }
    const before = project.axes.slice(0, i).map((a) => a.name);
    for (const name of Object.keys(when.match)) {
      if (name === axis.name)
        ctx.error(
          [...when.path, name],
          `axes.${axis.name}.when names ${axis.name} itself: a restriction says where an axis applies from the values of other axes, listed before it`,
          { key: true },
        );
      else if (!before.includes(name) && project.axes.some((a) => a.name === name))
        ctx.error(
          [...when.path, name],
          `axes.${axis.name}.when names ${name}, which comes after ${axis.name} in axes: a restriction may only name axes listed before it (axis order is naming order). Move ${axis.name} after ${name}`,
          { key: true },
        );
    }
    checkMatch(ctx, Object.fromEntries(Object.entries(when.match).filter(([name]) => name !== axis.name)), when.path);
  });
};

/**
 * A selector that names an axis where that axis has no value can never match: `{device: xpu,
 * cuda: "12.9"}` when cuda applies only to device=cuda. Found from the selectors alone: what the
 * selector asks, plus the `when` of every restricted axis it names (and theirs, transitively),
 * must leave every axis a value.
 */
const selectorsCanMatch: Rule = (ctx) => {
  const { project } = ctx;
  if (!project.axes.some((a) => a.when)) return;
  const check = (match: Match, path: KeyPath, what: string) => {
    const c = contradiction(project, match);
    if (!c) return;
    const when = project.axes.find((a) => a.name === c.restricted)!.when!;
    if (c.present) {
      ctx.error(
        Object.hasOwn(match, c.restricted) ? [...path, c.restricted] : path,
        `${what} can never match: ${c.by === undefined ? "it asks" : `axes.${c.by}.when asks`} for ${c.restricted} absent (~), but ${c.restricted} has a value wherever ${matchLabel(when.match)} (axes.${c.restricted}.when, ${formatLocation({ ...project.source.locate(when.path, { key: true }), path: undefined })}), and this selector asks for ${matchLabel(c.present)}. Remove ${c.restricted} from it, or ask for values where it is absent`,
        { key: Object.hasOwn(match, c.restricted) },
      );
      return;
    }
    ctx.error(
      Object.hasOwn(match, c.restricted) ? [...path, c.restricted] : path,
      `${what} can never match: ${c.restricted} has a value only where ${matchLabel({ [c.on]: when.match[c.on]! })} (axes.${c.restricted}.when, ${formatLocation({ ...project.source.locate(when.path, { key: true }), path: undefined })}), and ${c.by === undefined ? "this selector asks for" : `axes.${c.by}.when asks for`} ${matchLabel({ [c.on]: c.asked })}. Remove ${c.restricted} from it, or name a value of ${c.on} where ${c.restricted} applies`,
      { key: Object.hasOwn(match, c.restricted) },
    );
  };
  for (const axis of project.axes)
    if (axis.when)
      check(axis.when.match, axis.when.path, `axes.${axis.name}.when (so ${axis.name} would never have a value)`);
  for (const layer of project.layers)
    if (layer.kind === "combination") check(layer.match, [...layer.path, "when"], "This combination");
  for (const rule of project.exclude) check(rule.match, [...rule.path, "when"], "This exclude");
  for (const rule of project.include) check(rule.match, [...rule.path, "when"], "This include");
  for (const rule of project.publish.tags) if (rule.match) check(rule.match, [...rule.path, "when"], "This tag's when");
  for (const group of project.groups.define)
    for (const member of group.members)
      if (member.kind === "match") check(member.match, member.path, `This member of group ${group.name}`);
};

/**
 * The first restricted axis that `match` (with the restrictions of the axes it needs) leaves
 * without a value: `restricted` applies only where `on` has some values, and `asked` (from the
 * selector, or from `by`'s restriction) has none of them. Or, with `present`, a restricted axis the
 * selector asks to be absent (`cuda: ~`) while asking, on every axis its `when` names, for values
 * where it applies. An axis whose asked values include null may be absent, so its own `when` is
 * required only once that null is ruled out. Unknown axes are rules' business elsewhere.
 */
function contradiction(
  project: Project,
  match: Match,
):
  | { restricted: string; on: string; asked: (string | null)[]; by?: string; present?: undefined }
  | { restricted: string; present: Match; by?: string }
  | undefined {
  const required = new Map<string, { values: (string | null)[]; by?: string }>();
  for (const [axis, values] of Object.entries(match)) required.set(axis, { values });
  const queue = Object.keys(match);
  const seen = new Set<string>();
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (seen.has(name) || required.get(name)!.values.includes(null)) continue;
    seen.add(name);
    const when = project.axes.find((a) => a.name === name)?.when;
    if (!when) continue;
    for (const [on, values] of Object.entries(when.match)) {
      if (on === name) continue;
      const asked = required.get(on);
      if (!asked) {
        required.set(on, { values, by: name });
        queue.push(on);
        continue;
      }
      const both = asked.values.filter((v) => values.includes(v));
      if (both.length === 0) return { restricted: name, on, asked: asked.values, by: asked.by };
      required.set(on, { values: both, by: asked.by });
      if (asked.values.includes(null) && !both.includes(null)) queue.push(on);
    }
  }
  for (const [name, { values, by }] of required) {
    if (values.length !== 1 || values[0] !== null) continue;
    const when = project.axes.find((a) => a.name === name)?.when;
    if (!when) continue;
    const present: Match = Object.create(null) as Match;
    for (const [on, allowed] of Object.entries(when.match)) {
      const asked = on === name ? undefined : required.get(on)?.values;
      if (!asked || !asked.every((v) => allowed.includes(v))) break;
      present[on] = asked;
    }
    if (Object.keys(present).length === Object.keys(when.match).length) return { restricted: name, present, by };
  }
  return undefined;
}

/**
 * Every string of context.yaml, keys included, is one line of plain text: no line break, no
 * control character, no lone surrogate, in Unicode NFC. Checked on the file itself, not field by
 * field, so a new key cannot be missed; where a string is printed into a Dockerfile, the plan's
 * output checkpoint (plan/checkpoint.ts) adds the rules of Dockerfile lines.
 */
const everyStringIsPlainText: Rule = (ctx) => {
  for (const s of ctx.project.source.strings()) {
    const { what, name } = describeString(s.path, s.key, s.text);
    // ARGs, template values and axis values always reach a template scope: the rules of a
    // Dockerfile line apply (the output checkpoint would refuse them later, one run too late).
    const place = what === "ARG" || what === "template value" || what === "axis value" ? "dockerfile" : "bake";
    for (const m of checkValue(name, s.text, what, place)) ctx.error(s.path, m, { key: s.key });
  }
};

/** How a string of context.yaml is named in a message: `ARG X`, `label name "a.b"`, `axis value cuda="12.9"`. */
export function describeString(path: KeyPath, key: boolean, text: string): { what: string; name: string } {
  const last = String(path[path.length - 1]);
  const parent = path[path.length - 2];
  if (!key && (parent === "args" || parent === "images")) return { what: "ARG", name: last };
  if (!key && last === "derived" && path[path.length - 3] === "args") return { what: "ARG", name: String(parent) };
  if (parent === "vars" && !key) return { what: "template value", name: `vars.${last}` };
  if (parent === "labels") return key ? { what: "label name", name: last } : { what: "label", name: last };
  // An axis value is a key of the axis (or of its `values` when the axis has a `when`), or an item of its list.
  const valueAt = path[0] === "axes" && path[2] === "values" && path.length >= 4 ? 3 : 2;
  if (path[0] === "axes" && path.length === valueAt + 1 && (key || typeof path[valueAt] === "number"))
    return { what: "axis value", name: `${String(path[1])}=${JSON.stringify(text)}` };
  if (path[0] === "axes" && path.length === valueAt + 2 && path[valueAt + 1] === "name" && !key)
    return { what: "target-name token", name: `name of ${String(path[1])}=${String(path[valueAt])}` };
  if (path[0] === "build" && path.length === 2 && !key) return { what: "setting", name: `build.${last}` };
  if (path[0] === "project" && path.length === 2 && !key) return { what: "label value", name: `project.${last}` };
  return key ? { what: "key", name: JSON.stringify(last) } : { what: "value of", name: formatPath(path) };
}

const layerValuesAreSafe: Rule = (ctx) => {
  const allowed = ctx.project.build.allowSecretLike;
  for (const layer of ctx.project.layers) {
    const v = layer.values;
    for (const [name, value] of Object.entries(v.args ?? {})) {
      const text = typeof value === "string" ? value : value.derived;
      // Also checked per target after --set (resolve.ts); here it is reported with every other problem of the file.
      const why = allowed.has(name) ? undefined : secretLikeReason(name, text);
      if (why) ctx.error([...layer.path, "args", name], secretArgMessage(name, why));
    }
    for (const [name, value] of Object.entries(v.images ?? {})) {
      for (const m of checkImageReference(value)) ctx.error([...layer.path, "images", name], m);
      if (v.args && Object.hasOwn(v.args, name))
        ctx.error([...layer.path, "images", name], `${name} is set under both args and images; keep one`, {
          key: true,
        });
    }
  }
};

/**
 * A derived ARG default (`args: {X: {derived: "...${Y#*==}"}}`) is written unescaped for BuildKit
 * to expand: only its `${NAME...}` forms may stay unescaped, and their words hold nothing the
 * Dockerfile lexer reads as structure (values.ts derivedProblem).
 */
const derivedDefaultsAreExpansions: Rule = (ctx) => {
  for (const layer of ctx.project.layers)
    for (const [name, value] of Object.entries(layer.values.args ?? {})) {
      const problem = typeof value === "string" ? undefined : derivedProblem(value.derived);
      if (problem) ctx.error([...layer.path, "args", name, "derived"], `ARG ${name}: ${problem}`);
    }
};

/**
 * A secret `src` may name environment variables as `${NAME}`, which bake replaces when it runs;
 * any other `${...}` (shell forms like `${A:-b}`, which HCL does not have) or a `$${` escape is refused.
 */
const secretSourcesAreValid: Rule = (ctx) => {
  for (const layer of ctx.project.layers)
    for (const [id, secret] of Object.entries(layer.values.secrets ?? {})) {
      const src = secret.src;
      if (src === undefined) continue;
      const rest = src.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*\}/g, "");
      if (rest.includes("${") || src.includes("$${"))
        ctx.error(
          [...layer.path, "secrets", id, "src"],
          `Secret ${id}: src "${src}" may name environment variables only as \${NAME} (replaced when bake runs); write the path, or \${NAME} alone`,
        );
    }
};

/**
 * A secret's `when.args` compares resolved ARG values as bakeplan knows them at plan time. A derived
 * default is known only as the text BuildKit expands at build time (and follows a source ARG a
 * build overrides), so a condition on one would compare its `${...}` text: refused, located at
 * both keys.
 */
const secretConditionsReadPlainArgs: Rule = (ctx) => {
  const derivedAt = new Map<string, KeyPath>();
  for (const layer of ctx.project.layers)
    for (const [name, value] of Object.entries(layer.values.args ?? {}))
      if (typeof value !== "string" && !derivedAt.has(name)) derivedAt.set(name, [...layer.path, "args", name]);
  for (const layer of ctx.project.layers)
    for (const [id, secret] of Object.entries(layer.values.secrets ?? {}))
      for (const name of Object.keys(secret.when?.args ?? {})) {
        const at = derivedAt.get(name);
        if (at === undefined) continue;
        ctx.error(
          [...layer.path, "secrets", id, "when", "args", name],
          `Secret ${id}: when.args.${name} compares ARG ${name}, which ${formatLocation(ctx.project.source.locate(at, { key: true }))} sets as a derived default: BuildKit computes it when it builds, so bakeplan cannot compare it. Condition the secret on an ARG with a plain value (one it is derived from)`,
          { key: true },
        );
      }
};

/**
 * Dockerfiles are written (and stale ones removed) in build.out_dir: a directory of its own inside
 * the project, written relative to context.yaml (the bake file names it, so the plan stays the
 * same wherever the checkout is). Links are followed when writing (write-plan.ts).
 */
const outDirIsInsideTheProject: Rule = ({ project, error }) => {
  const { outDir, templates } = project.build;
  const problem = posix.isAbsolute(outDir)
    ? `"${outDir}" is an absolute path; write it relative to context.yaml`
    : outDir === ".." || outDir.startsWith("../")
      ? `"${outDir}" leads outside the project (the directory of context.yaml)`
      : outDir === "."
        ? "it is the project directory itself, where bakeplan would replace and remove files among context.yaml and the rest"
        : outDir === templates
          ? `"${outDir}" is the template directory`
          : outDir.split("/").some((name) => name !== name.trim())
            ? `"${outDir}" has a directory name that begins or ends with a blank (a stray space in the YAML?)`
            : outDir.split("/").some((name) => Buffer.byteLength(name) > 255)
              ? "it has a directory name longer than the 255 bytes file systems allow"
              : undefined;
  if (problem)
    error(
      ["build", "out_dir"],
      `build.out_dir must be a directory of its own inside the project: ${problem}. Use e.g. out_dir: bake`,
    );
};

/** `build`, `matrix` and `vars` namespace tag placeholders ({build.version}, {matrix.cuda}, {vars.X}). */
const axesDoNotTakePlaceholderNamespaces: Rule = ({ project, error }) => {
  for (const axis of project.axes)
    if (RESERVED_AXIS_NAMES.includes(axis.name))
      error(
        axis.path,
        `An axis cannot be named "${axis.name}": {${axis.name}.…} is a placeholder namespace in tag patterns ({build.version}, {matrix.cuda}, {vars.NAME}). Rename the axis`,
        { key: true },
      );
};

/** Template values (`vars`) anywhere in the file, by name: what {vars.NAME} can stand for. */
function varValues(project: Project): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (name: string, value: string) => {
    let set = out.get(name);
    if (!set) out.set(name, (set = new Set()));
    set.add(value);
  };
  for (const layer of project.layers) for (const [k, x] of Object.entries(layer.values.vars ?? {})) add(k, x);
  return out;
}

/** Placeholders of one pattern that are unknown or ambiguous, each as a message. */
function placeholderProblems(project: Project, pattern: ParsedPattern): string[] {
  const axes = project.axes.map((a) => a.name);
  const vars = varValues(project);
  const known = [
    ...BUILT_IN_PLACEHOLDERS,
    ...axes.flatMap((a) => [a, `${a}.name`]),
    ...[...vars.keys()].map((v) => `vars.${v}`),
  ];
  const problems: string[] = [];
  for (const key of new Set(placeholderKeys(pattern))) {
    const meanings = meaningsOf(key, axes);
    if (meanings.length > 1)
      problems.push(
        `{${key}} is ambiguous in "${pattern.source}": it could be ${meanings.map(describeMeaning).join(" or ")}. Write ${meanings.map(qualified).join(" or ")}`,
      );
    else if (meanings[0]?.kind === "var" && !vars.has(meanings[0].name)) {
      const hint = didYouMean(meanings[0].name, [...vars.keys()]);
      problems.push(
        `{${key}}: no value in this file sets the template value ${meanings[0].name}.${hint ? ` Did you mean {vars.${hint}}?` : vars.size ? ` Template values: ${[...vars.keys()].join(", ")}.` : ""}`,
      );
    } else if (meanings.length === 0) {
      const hint = didYouMean(key, known);
      problems.push(
        `Unknown placeholder {${key}}.${hint ? ` Did you mean {${hint}}?` : ""} Known: ${known.map((k) => `{${k}}`).join(" ")}`,
      );
    }
  }
  return problems;
}

function describeMeaning(m: Meaning): string {
  switch (m.kind) {
    case "built-in":
      return `the built-in {${m.name}}${m.name === "version" ? " (--image-version)" : INPUT_PLACEHOLDERS.has(m.name) ? ` (--${m.name === "sha_short" ? "sha" : m.name === "branch_kind" ? "branch" : m.name})` : ""}`;
    case "axis":
      return `the value of axis "${m.axis}"`;
    case "token":
      return `the name token of axis "${m.axis}"`;
    case "var":
      return `the template value ${m.name}`;
  }
}

/** A pattern's shape, placeholders and literal text; the text around placeholders must be valid tag text. */
function checkPattern(ctx: RuleContext, pattern: ParsedPattern, path: KeyPath): void {
  for (const m of [...pattern.problems, ...placeholderProblems(ctx.project, pattern)])
    ctx.error(path, pattern.problems.includes(m) ? `Invalid tag pattern "${pattern.source}": ${m}` : m);
  // Placeholder values are sanitised like docker/metadata-action does; the text around them is not.
  const literal = literalText(pattern);
  const bad = [...new Set(literal.replace(/[A-Za-z0-9_.-]/g, ""))];
  const first = pattern.parts[0];
  if (bad.length > 0)
    ctx.error(
      path,
      `Invalid tag pattern "${pattern.source}": ${bad.map((c) => JSON.stringify(c)).join(" ")} cannot appear in a tag; use letters, digits, _ . - around the placeholders`,
    );
  else if (first?.kind === "text" && /^[.-]/.test(first.text))
    ctx.error(path, `Invalid tag pattern "${pattern.source}": a tag cannot start with "." or "-"`);
  else if (literal.length > 128)
    ctx.error(
      path,
      `Invalid tag pattern "${pattern.source}": ${literal.length} characters without the placeholders, a tag has at most 128`,
    );
}

function usesBuiltIn(project: Project, pattern: ParsedPattern, name: string): boolean {
  const axes = project.axes.map((a) => a.name);
  return placeholderKeys(pattern).some((k) =>
    meaningsOf(k, axes).some((m) => m.kind === "built-in" && m.name === name),
  );
}

function checkBranchPatterns(ctx: RuleContext, patterns: readonly string[], path: KeyPath): void {
  patterns.forEach((p, i) => {
    const problem = branchPatternProblem(p);
    if (problem) ctx.error([...path, i], problem);
  });
}

const tagPatternsAreValid: Rule = (ctx) => {
  const { publish, cache, axes, branchKinds } = ctx.project;
  for (const rule of publish.tags) {
    checkPattern(ctx, rule.pattern, rule.patternPath);
    if (rule.branches) checkBranchPatterns(ctx, rule.branches, [...rule.path, "branches"]);
    if (rule.match) checkMatch(ctx, rule.match, [...rule.path, "when"]);
  }
  if (cache) checkPattern(ctx, cache.tag, ["cache", "tag"]);
  const patterns = [
    ...publish.tags.map((t) => ({ pattern: t.pattern, path: t.patternPath })),
    ...(cache ? [{ pattern: cache.tag, path: ["cache", "tag"] }] : []),
  ];
  if (branchKinds.length === 0)
    for (const { pattern, path } of patterns)
      if (usesBuiltIn(ctx.project, pattern, "branch_kind"))
        ctx.error(
          path,
          `"${pattern.source}" uses {branch_kind}, but no branch_kinds are defined. Add e.g. branch_kinds: {main: [main], release: ["release/*"]}`,
        );
  // A tag differs between targets through a per-target placeholder, or by being limited to some targets.
  const perTarget = (t: (typeof publish.tags)[number]) =>
    t.match !== undefined ||
    placeholderKeys(t.pattern).some((k) =>
      meaningsOf(
        k,
        axes.map((a) => a.name),
      ).some((m) => m.kind !== "built-in" || m.name === "name" || m.name === "platforms"),
    );
  if (!publish.tags.some(perTarget)) {
    ctx.warnings.push({
      message: "No tag pattern contains {name}: every target would push the same tags",
      location: ctx.project.source.locate(["publish", "tags"]),
    });
  }
};

const branchPatternsAreValid: Rule = (ctx) => {
  const { cache, branchKinds } = ctx.project;
  for (const kind of branchKinds) checkBranchPatterns(ctx, kind.patterns, kind.path);
  if (!cache) return;
  checkBranchPatterns(ctx, cache.writeOn, ["cache", "write_on"]);
  const byKind = usesBuiltIn(ctx.project, cache.tag, "branch_kind");
  const byBranch = usesBuiltIn(ctx.project, cache.tag, "branch");
  const fallbackPath = cache.fallbackGiven ? ["cache", "fallback"] : ["cache"];
  if (byKind && byBranch)
    ctx.error(
      ["cache", "tag"],
      `The cache tag "${cache.tag.source}" uses both {branch} and {branch_kind}; use one: {branch} for a cache per branch, {branch_kind} for one per kind (main, release)`,
    );
  else if (byKind) {
    const kinds = branchKinds.map((k) => k.name);
    cache.fallback.forEach((f, i) => {
      if (kinds.includes(f) || kinds.length === 0) return;
      const hint = didYouMean(f, kinds);
      ctx.error(
        cache.fallbackGiven ? [...fallbackPath, i] : fallbackPath,
        `cache.fallback${cache.fallbackGiven ? "" : " (default [main])"} names "${f}", but the cache tag uses {branch_kind}, so fallbacks are branch kinds.${hint ? ` Did you mean "${hint}"?` : ""} Kinds: ${kinds.join(", ")}`,
      );
    });
  } else if (byBranch) {
    cache.fallback.forEach((f, i) => {
      if (isBranchGlob(f))
        ctx.error(
          [...fallbackPath, i],
          `cache.fallback names branches whose cache is read; "${f}" is a pattern, and a pattern names no one cache ref to read. Name a branch, or give the release branches one shared ref with branch_kinds and {branch_kind}`,
        );
      else {
        const problem = branchPatternProblem(f);
        if (problem) ctx.error([...fallbackPath, i], problem);
      }
    });
  } else if (cache.fallbackGiven)
    ctx.error(
      fallbackPath,
      `The cache tag "${cache.tag.source}" has no {branch} or {branch_kind}: every branch reads and writes the same ref, so a fallback has nothing to add. Remove cache.fallback, or put {branch} into the tag`,
    );
};

const registriesAndRepositoriesAreValid: Rule = (ctx) => {
  const { publish, cache } = ctx.project;
  if (publish.registry) for (const m of checkRegistry(publish.registry)) ctx.error(["publish", "registry"], m);
  for (const m of checkRepository(publish.repository)) ctx.error(["publish", "repository"], m);
  if (cache?.registry) for (const m of checkRegistry(cache.registry)) ctx.error(["cache", "registry"], m);
  if (cache) for (const m of checkRepository(cache.repository)) ctx.error(["cache", "repository"], m);
};

/** What each placeholder can stand for anywhere in the matrix, for comparing patterns as languages. */
function placeholderDomains(project: Project): (m: Meaning) => Domain {
  const vars = varValues(project);
  const platforms = new Set<string>();
  for (const layer of project.layers) if (layer.values.platforms) platforms.add(platformsPart(layer.values.platforms));
  // An axis restricted by `when` is absent from some targets: it can also stand for nothing.
  const absent = (a: Project["axes"][number]) => (a.when ? [""] : []);
  const axisOf = (name: string) => project.axes.find((a) => a.name === name)!;
  return (m) => {
    switch (m.kind) {
      case "built-in":
        if (m.name === "name")
          return { kind: "names", tokens: project.axes.map((a) => [...a.values.map((v) => v.token), ...absent(a)]) };
        if (m.name === "branch_kind") return { kind: "finite", values: project.branchKinds.map((k) => k.name) };
        if (m.name === "platforms") return { kind: "finite", values: [...platforms] };
        return { kind: "any" };
      case "axis":
        return {
          kind: "finite",
          values: [...axisOf(m.axis).values.map((v) => sanitizeTagPart(v.value)), ...absent(axisOf(m.axis))],
        };
      case "token":
        return { kind: "finite", values: [...axisOf(m.axis).values.map((v) => v.token), ...absent(axisOf(m.axis))] };
      case "var":
        return { kind: "finite", values: [...(vars.get(m.name) ?? [])].map(sanitizeTagPart) };
    }
  };
}

/**
 * A cache in the image repository is allowed when no cache tag can ever equal an image tag (for
 * any branch, sha or version): a cache push over an image tag would replace the image, and ECR
 * rejects cache manifests over immutable tags. Proven on the patterns, or refused with an example.
 */
const cacheNeverOverwritesImages: Rule = (ctx) => {
  const { publish, cache } = ctx.project;
  if (!cache) return;
  // --registry moves both to one registry, so the repository decides.
  if (cache.repository !== publish.repository) return;
  if (ctx.errors.some((e) => /publish\.tags|cache\.tag/.test(e.location?.path ?? ""))) return;
  const axes = ctx.project.axes.map((a) => a.name);
  const domainOf = placeholderDomains(ctx.project);
  const cacheTags = patternAutomaton(cache.tag, axes, domainOf);
  for (const rule of publish.tags) {
    const result = overlap(cacheTags, patternAutomaton(rule.pattern, axes, domainOf));
    if (result.kind === "disjoint") continue;
    ctx.error(
      ["cache", "repository"],
      result.kind === "shared"
        ? `The cache shares the image repository ${publish.repository}, but the cache tag "${cache.tag.source}" and the image tag "${rule.pattern.source}" (publish.tags[${String(rule.path[2])}]) can both be "${result.example}": a cache push would overwrite that image. Give the cache tag a fixed part no image tag can end or start with (e.g. a "-cache" suffix), or use a separate cache repository`
        : `The cache shares the image repository ${publish.repository}, and bakeplan could not prove within its work limit that the cache tag "${cache.tag.source}" never equals the image tag "${rule.pattern.source}". Use a separate cache repository`,
    );
  }
};

/** The bake group of a builder: `builder-<name>`, with `.` (allowed in builder names, not in bake names) as `_`. */
export function builderGroupName(builder: string): string {
  return `builder-${builder.replaceAll(".", "_")}`;
}

const builderNamesAreUnique: Rule = (ctx) => {
  const pool = ctx.project.builders;
  if (!pool) return;
  const byGroup = new Map<string, string>();
  for (const b of pool.builders) {
    const group = builderGroupName(b.name);
    const other = byGroup.get(group);
    if (other === b.name) ctx.error([...b.path, "name"], `Builder "${b.name}" is listed twice in builders.pool`);
    else if (other !== undefined)
      ctx.error(
        [...b.path, "name"],
        `Builders "${other}" and "${b.name}" would both get the bake group "${group}"; rename one of them`,
      );
    else byGroup.set(group, b.name);
  }
};

/** `affinity` patterns may use axis placeholders only, and stay on one line. */
const affinityPatternsUseAxes: Rule = (ctx) => {
  const axes = ctx.project.axes.map((a) => a.name);
  for (const layer of ctx.project.layers) {
    const pattern = layer.values.affinity;
    if (pattern === undefined) continue;
    const path: KeyPath = [...layer.path, "affinity"];
    for (const m of checkValue("affinity", pattern, "setting")) ctx.error(path, m);
    for (const [, name] of pattern.matchAll(/\{([^{}]*)\}/g)) {
      if (axes.includes(name!)) continue;
      const hint = didYouMean(name!, axes);
      ctx.error(
        path,
        `Unknown placeholder {${name}} in affinity "${pattern}".${hint ? ` Did you mean {${hint}}?` : ""} Axes: ${axes.map((a) => `{${a}}`).join(" ")}`,
      );
    }
  }
};

const RULES: Rule[] = [
  atLeastOneAxis,
  axesHaveValues,
  stageAxisExists,
  onePackageManagerAxis,
  selectorsNameKnownAxes,
  axisRestrictionsAreValid,
  selectorsCanMatch,
  everyStringIsPlainText,
  layerValuesAreSafe,
  derivedDefaultsAreExpansions,
  secretSourcesAreValid,
  secretConditionsReadPlainArgs,
  outDirIsInsideTheProject,
  axesDoNotTakePlaceholderNamespaces,
  tagPatternsAreValid,
  branchPatternsAreValid,
  registriesAndRepositoriesAreValid,
  cacheNeverOverwritesImages,
  builderNamesAreUnique,
  affinityPatternsUseAxes,
];

export function checkRules(project: Project): { errors: Issue[]; warnings: Issue[] } {
  const errors: Issue[] = [];
  const warnings: Issue[] = [];
  const ctx: RuleContext = {
    project,
    errors,
    warnings,
    error: (path, message, opts) => errors.push({ message, location: project.source.locate(path, opts) }),
  };
  for (const rule of RULES) rule(ctx);
  return { errors, warnings };
}

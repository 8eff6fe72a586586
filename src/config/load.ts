import type { z } from "zod";
import { ConfigError, type Issue } from "../errors.js";
import { didYouMean } from "../text.js";
import { normalize, type Project } from "./normalize.js";
import { checkRules } from "./rules.js";
import { AxisValueSpecSchema, ContextSchema, RestrictedAxisSchema } from "./schema.js";
import { YamlSource, type KeyPath } from "./yaml-source.js";

export interface LoadResult {
  project: Project;
  warnings: Issue[];
}

/** Parses and validates context.yaml text. Pure: the caller reads the file. Throws ConfigError with every problem found. */
export function loadContext(file: string, text: string): LoadResult {
  const { source, value, issues } = YamlSource.parse(file, text);
  // YAML problems the document survives do not hide the schema's and the rules': all are reported at once.
  if (value === undefined && issues.length > 0) throw new ConfigError(issues);
  if (value === null || value === undefined)
    throw new ConfigError([
      {
        message: "Empty file: expected a mapping with project, axes and publish",
        location: { file, line: 1, col: 1 },
      },
    ]);

  const reserved = findKey(value, PROTO_STAND_IN);
  if (reserved)
    throw new ConfigError([
      ...issues,
      {
        message: `The key "${PROTO_STAND_IN}" is reserved: bakeplan reads __proto__ keys under that name. Rename it`,
        location: source.locate(reserved, { key: true }),
      },
    ]);
  const hidden = hideProtoKeys(value);
  const parsed = ContextSchema.safeParse(hidden);
  if (!parsed.success)
    throw new ConfigError([
      ...issues,
      ...valueMapIssues(hidden, restrictedAxisIssues(hidden, parsed.error.issues)).flatMap((i) =>
        describeZodIssue(
          {
            ...i,
            path: i.path.map(restoreKey),
            ...(i.code === "unrecognized_keys" ? { keys: i.keys.map(restoreKey) } : {}),
          },
          source,
          value,
        ),
      ),
    ]);

  const project = normalize(withoutPrototypes(parsed.data) as typeof parsed.data, source);
  const { errors, warnings } = checkRules(project);
  if (issues.length > 0 || errors.length > 0) throw new ConfigError([...issues, ...errors]);
  return { project, warnings };
}

// Names from context.yaml are keys of the objects zod returns, so a name like `constructor`
// must never meet Object.prototype: every object after zod has a null prototype. zod drops a
// `__proto__` key (assigning it to {} would set the prototype), so it goes through zod under a
// stand-in name and comes back as an own property.
const PROTO_KEY = "__proto__";
const PROTO_STAND_IN = "__bakeplan_proto__";

function restoreKey<T>(seg: T): T | string {
  return seg === PROTO_STAND_IN ? PROTO_KEY : seg;
}

/** The key path of the first mapping key `key`, if any. */
function findKey(value: unknown, key: string, path: (string | number)[] = []): (string | number)[] | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findKey(value[i], key, [...path, i]);
      if (found) return found;
    }
  } else if (value !== null && typeof value === "object")
    for (const [k, v] of Object.entries(value)) {
      if (k === key) return [...path, k];
      const found = findKey(v, key, [...path, k]);
      if (found) return found;
    }
  return undefined;
}

function hideProtoKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(hideProtoKeys);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k === PROTO_KEY ? PROTO_STAND_IN : k] = hideProtoKeys(v);
  return out;
}

/** A deep copy in which every object has a null prototype, and the stand-in is `__proto__` again. */
function withoutPrototypes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutPrototypes);
  if (value === null || typeof value !== "object" || value instanceof Set || value instanceof Map) return value;
  const out = Object.create(null) as Record<string, unknown>;
  for (const [k, v] of Object.entries(value)) out[restoreKey(k)] = withoutPrototypes(v);
  return out;
}

function valueAt(root: unknown, path: KeyPath): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== "object" || !Object.hasOwn(v, seg)) return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/** `{derived: ...}` (as under args), e.g. where a single string belongs. */
function isDerived(v: unknown): boolean {
  return v !== null && typeof v === "object" && !Array.isArray(v) && Object.hasOwn(v, "derived");
}

function describeZodIssue(issue: z.core.$ZodIssue, source: YamlSource, root: unknown): Issue[] {
  const path = issue.path as KeyPath;
  switch (issue.code) {
    case "unrecognized_keys": {
      const known = knownKeys(path);
      return issue.keys.map((key) => {
        const hint = didYouMean(key, known);
        return {
          message: `Unknown key "${key}".${hint ? ` Did you mean "${hint}"?` : known.length ? ` Known keys: ${known.join(", ")}.` : ""}`,
          location: source.locate([...path, key], { key: true }),
        };
      });
    }
    case "invalid_type": {
      const actual = valueAt(root, path);
      const location = source.locate(path);
      if (issue.expected === "string" && (typeof actual === "number" || typeof actual === "boolean")) {
        const text = source.sourceText(path) ?? String(actual);
        return [
          {
            message: `Invalid type: expected a string, but YAML reads ${text} as the ${typeof actual} ${String(actual)}. Quote it: "${text}"`,
            location,
          },
        ];
      }
      if (actual === undefined)
        return [
          {
            message: `Missing required key "${String(path[path.length - 1])}"`,
            location: source.locate(path.slice(0, -1)),
          },
        ];
      if (actual === null)
        return [
          {
            message: `Empty value: expected ${issue.expected}${issue.expected === "string" ? ' (write "" for an empty string)' : ""}`,
            location,
          },
        ];
      const got = Array.isArray(actual) ? "a list" : typeof actual === "object" ? "a mapping" : typeof actual;
      if (issue.expected === "string" && path[path.length - 2] === "images" && isDerived(actual)) {
        const name = String(path[path.length - 1]);
        return [
          {
            message: `${name}: images holds image references, which bakeplan checks as they are; a {derived: ...} default is for args. Move it there (args: {${name}: {derived: ...}}): images, preflight and lock resolve a FROM \${${name}} through it`,
            location,
          },
        ];
      }
      if (issue.expected === "string" && typeof actual === "object")
        return [
          {
            message: `Invalid type: this is ${got} (${Array.isArray(actual) ? "[...] or - lines" : "{...} or key: value lines"}), where a single string belongs. Write one value, quoted if it contains ":", "{" or "["`,
            location,
          },
        ];
      return [{ message: `Invalid type: expected ${issue.expected}, got ${got}`, location }];
    }
    case "invalid_key": {
      // A record key that fails its pattern (e.g. an axis named `Framework`): point at the key.
      const key = String(path[path.length - 1]);
      const why = issue.issues.map((i) => i.message).join("; ");
      return [{ message: `Invalid key "${key}": ${why}`, location: source.locate(path, { key: true }) }];
    }
    case "invalid_union": {
      // Report the branch that got furthest: its issues are the most specific.
      if (valueAt(root, path) === undefined)
        return [
          {
            message: `Missing required key "${String(path[path.length - 1])}"`,
            location: source.locate(path.slice(0, -1)),
          },
        ];
      const branches = issue.errors;
      const best = branches.reduce((a, b) => (depth(b) > depth(a) ? b : a), branches[0] ?? []);
      if (best.length > 0 && depth(best) > 0)
        return best.flatMap((sub) => describeZodIssue({ ...sub, path: [...path, ...sub.path] }, source, root));
      // A number or nothing where a string or a mapping belongs (an ARG value): as for a plain string;
      // a mapping with a misspelt key: that key, with "did you mean".
      const actual = valueAt(root, path);
      const scalar = typeof actual === "number" || typeof actual === "boolean" || actual === null;
      const mapping = actual !== null && typeof actual === "object" && !Array.isArray(actual);
      const branch = branches.find((b) =>
        b.some(
          (i) =>
            (scalar && i.code === "invalid_type" && i.expected === "string") ||
            (mapping && i.code === "unrecognized_keys"),
        ),
      );
      if (branch)
        return branch.flatMap((sub) => describeZodIssue({ ...sub, path: [...path, ...sub.path] }, source, root));
      return [{ message: `Invalid value: ${unionHint(path)}`, location: source.locate(path) }];
    }
    case "custom":
      // bakeplan's own messages (valueMapIssues) say what was expected; zod refinements' do not.
      if ((issue.params as { plain?: boolean } | undefined)?.plain)
        return [{ message: issue.message, location: source.locate(path) }];
      return [{ message: `Invalid value: ${issue.message}`, location: source.locate(path) }];
    default:
      return [{ message: `Invalid value: ${issue.message}`, location: source.locate(path) }];
  }
}

/**
 * An axis written as `{when: {device: cuda}, values: ...}` with a mistake in it is reported as that
 * form (`Unknown key "valuse". Did you mean "values"?`), not as a map whose values `when` and
 * `values` have unknown settings, which is what zod's union reports. A `when` that holds value
 * settings (`name`, `args`...) without a `values` key is a value named "when".
 */
function restrictedAxisIssues(root: unknown, issues: z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const axes = valueAt(root, ["axes"]);
  if (axes === null || typeof axes !== "object" || Array.isArray(axes)) return issues;
  const settings = Object.keys(AxisValueSpecSchema.shape);
  let out = issues;
  for (const [name, def] of Object.entries(axes as Record<string, unknown>)) {
    if (def === null || typeof def !== "object" || Array.isArray(def) || !Object.hasOwn(def, "when")) continue;
    const when = (def as Record<string, unknown>).when;
    const settingsLike =
      when === null || (typeof when === "object" && Object.keys(when).some((k) => settings.includes(k)));
    if (settingsLike && !Object.hasOwn(def, "values")) continue;
    const under = (i: z.core.$ZodIssue) => i.path[0] === "axes" && i.path[1] === name;
    if (!out.some(under)) continue;
    const own = RestrictedAxisSchema.safeParse(def).error?.issues ?? [];
    out = [...out.filter((i) => !under(i)), ...own.map((i) => ({ ...i, path: ["axes", name, ...i.path] }))];
  }
  return out;
}

/**
 * An axis written as a map of value -> settings with a mistake in it is reported as that form, not
 * as the `{when, values}` form zod's union picks (`Missing required key "when"`): a key whose
 * value is text, such as `description: the base OS`, is a value of the axis with settings that
 * are not a mapping; a map of only `values` and `description` is the `{when, values}` form
 * without its `when`.
 */
function valueMapIssues(root: unknown, issues: z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const axes = valueAt(root, ["axes"]);
  if (axes === null || typeof axes !== "object" || Array.isArray(axes)) return issues;
  let out = issues;
  for (const [name, def] of Object.entries(axes as Record<string, unknown>)) {
    if (def === null || typeof def !== "object" || Array.isArray(def) || Object.hasOwn(def, "when")) continue;
    // The union's own failure only: an invalid axis name is an issue at the same path, and stays.
    const under = (i: z.core.$ZodIssue) =>
      i.code === "invalid_union" && i.path.length === 2 && i.path[0] === "axes" && i.path[1] === name;
    if (!out.some(under)) continue;
    const entries = Object.entries(def as Record<string, unknown>);
    const own: z.core.$ZodIssue[] =
      Object.hasOwn(def, "values") && entries.every(([k]) => k === "values" || k === "description")
        ? [
            {
              code: "custom",
              path: ["axes", name],
              input: def,
              params: { plain: true },
              message: `Missing key "when": an axis written as {values: ...} is one that applies only where its when selector matches (when: {device: cuda}); an axis that applies everywhere is written as its values, a list (${name}: [a, b]) or a mapping of value -> settings (${name}: {a: {description: ...}}), with no values key`,
            },
          ]
        : entries.flatMap(([value, spec]): z.core.$ZodIssue[] => {
            if (spec === null || (typeof spec === "object" && !Array.isArray(spec))) {
              const sub = AxisValueSpecSchema.safeParse(spec ?? {}).error?.issues ?? [];
              return sub.map((i) => ({ ...i, path: ["axes", name, value, ...i.path] }));
            }
            const got = Array.isArray(spec)
              ? "a list"
              : `${typeof spec === "string" ? "text" : `the ${typeof spec}`} ${JSON.stringify(spec)}`;
            const hint =
              value === "description"
                ? `. A description of the whole axis is a key of the {when, values, description} form only; here, describe each value: ${name}: {${entries.find(([k]) => k !== "description")?.[0] ?? "a"}: {description: ...}}`
                : `: write ${value}: {} for a value without settings, or list the values (${name}: [${value}, ...])`;
            return [
              {
                code: "custom",
                path: ["axes", name, value],
                input: spec,
                params: { plain: true },
                message: `In a mapping of value -> settings every key is a value of axis ${name}, and the settings of "${value}" must be a mapping (name, stage, package_manager, description, args, images, labels, platforms, secrets, vars, affinity), not ${got}${hint}`,
              },
            ];
          });
    if (own.length === 0) continue;
    // In place of the first issue they replace, so problems stay in file order.
    const at = out.findIndex(under);
    out = [...out.slice(0, at).filter((i) => !under(i)), ...own, ...out.slice(at).filter((i) => !under(i))];
  }
  return out;
}

function depth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length));
}

function unionHint(path: KeyPath): string {
  if (path[path.length - 2] === "args")
    return 'an ARG value is a string, or {derived: "..."} for a default BuildKit expands from other ARGs';
  if (path[0] === "axes")
    return "an axis is a list of strings, a mapping of value -> settings, or {when: {axis: value}, values: ...}";
  if (path[0] === "publish" && path[1] === "tags")
    return "a tag is a pattern string, or a mapping with tag, and optionally branches and when";
  if (path[0] === "groups")
    return "a group is a selector (axis -> values), or a list of selectors, target and group names";
  return "expected a string or a list of strings";
}

/** Known keys of the strict object at `path`, for "did you mean". */
function knownKeys(path: KeyPath): string[] {
  let schema: z.core.$ZodType = ContextSchema;
  for (const seg of path) {
    schema = unwrap(schema);
    const def = schema._zod.def as {
      type: string;
      shape?: Record<string, z.core.$ZodType>;
      element?: z.core.$ZodType;
      valueType?: z.core.$ZodType;
      options?: z.core.$ZodType[];
    };
    if (def.type === "object" && def.shape && typeof seg === "string" && Object.hasOwn(def.shape, seg))
      schema = def.shape[seg]!;
    else if (def.type === "array" && def.element) schema = def.element;
    else if (def.type === "record" && def.valueType) schema = def.valueType;
    else if (def.type === "union" && def.options) {
      const options = def.options.map(unwrap);
      const rec = options.find((o) => (o._zod.def as { type: string }).type === "record");
      const obj = options.find((o) => (o._zod.def as { type: string }).type === "object");
      const shape = obj && (obj._zod.def as unknown as { shape: Record<string, z.core.$ZodType> }).shape;
      // An axis: `values` and `when` of the {when, values} form before the values of a map.
      if (shape && rec && typeof seg === "string" && Object.hasOwn(shape, seg)) schema = shape[seg]!;
      else if (rec) schema = (rec._zod.def as unknown as { valueType: z.core.$ZodType }).valueType;
      else if (shape && typeof seg === "string") schema = Object.hasOwn(shape, seg) ? shape[seg]! : obj;
      else return [];
    } else return [];
  }
  return objectKeys(unwrap(schema));
}

/** The keys of an object schema, or of the object option of a union (a tag entry: string or mapping). */
function objectKeys(schema: z.core.$ZodType): string[] {
  const def = schema._zod.def as { type: string; shape?: Record<string, unknown>; options?: z.core.$ZodType[] };
  if (def.type === "object" && def.shape) return Object.keys(def.shape);
  if (def.type === "union" && def.options)
    for (const o of def.options.map(unwrap)) {
      const keys = objectKeys(o);
      if (keys.length > 0) return keys;
    }
  return [];
}

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let s = schema;
  for (;;) {
    const def = s._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType };
    if (
      (def.type === "optional" || def.type === "default" || def.type === "nullable" || def.type === "prefault") &&
      def.innerType
    )
      s = def.innerType;
    else if (def.type === "pipe" && def.in) s = def.in;
    else return s;
  }
}

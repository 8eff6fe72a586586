import type { z } from "zod";
import { ConfigError, type Issue } from "../errors.js";
import { didYouMean } from "../text.js";
import { normalize, type Project } from "./normalize.js";
import { checkRules } from "./rules.js";
import { ContextSchema } from "./schema.js";
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

  const parsed = ContextSchema.safeParse(value);
  if (!parsed.success)
    throw new ConfigError([...issues, ...parsed.error.issues.flatMap((i) => describeZodIssue(i, source, value))]);

  const project = normalize(parsed.data, source);
  const { errors, warnings } = checkRules(project);
  if (issues.length > 0 || errors.length > 0) throw new ConfigError([...issues, ...errors]);
  return { project, warnings };
}

function valueAt(root: unknown, path: KeyPath): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
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
      return [
        {
          message: `Invalid type: expected ${issue.expected}, got ${Array.isArray(actual) ? "a list" : typeof actual === "object" ? "a mapping" : typeof actual}`,
          location,
        },
      ];
    }
    case "invalid_key": {
      // A record key that fails its pattern (e.g. an axis named `Framework`): point at the key.
      const key = String(path[path.length - 1]);
      const why = issue.issues.map((i) => i.message).join("; ");
      return [{ message: `Invalid key "${key}": ${why}`, location: source.locate(path, { key: true }) }];
    }
    case "invalid_union": {
      // Report the branch that got furthest: its issues are the most specific.
      const branches = issue.errors;
      const best = branches.reduce((a, b) => (depth(b) > depth(a) ? b : a), branches[0] ?? []);
      if (best.length > 0 && depth(best) > 0)
        return best.flatMap((sub) => describeZodIssue({ ...sub, path: [...path, ...sub.path] }, source, root));
      return [{ message: `Invalid value: ${unionHint(path)}`, location: source.locate(path) }];
    }
    default:
      return [{ message: `Invalid value: ${issue.message}`, location: source.locate(path) }];
  }
}

function depth(issues: readonly z.core.$ZodIssue[]): number {
  return Math.max(0, ...issues.map((i) => i.path.length));
}

function unionHint(path: KeyPath): string {
  if (path[0] === "axes") return "an axis is a list of strings, or a mapping of value -> settings";
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
    if (def.type === "object" && def.shape && typeof seg === "string" && def.shape[seg]) schema = def.shape[seg];
    else if (def.type === "array" && def.element) schema = def.element;
    else if (def.type === "record" && def.valueType) schema = def.valueType;
    else if (def.type === "union" && def.options) {
      const options = def.options.map(unwrap);
      const rec = options.find((o) => (o._zod.def as { type: string }).type === "record");
      const obj = options.find((o) => (o._zod.def as { type: string }).type === "object");
      if (rec) schema = (rec._zod.def as unknown as { valueType: z.core.$ZodType }).valueType;
      else if (obj && typeof seg === "string")
        schema = (obj._zod.def as unknown as { shape: Record<string, z.core.$ZodType> }).shape[seg] ?? obj;
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

// Templates compiled into plain functions that append to the rendered text: what liquidjs's renderer
// does for the forms template-tree.ts compiles, without its generators, over the plain data
// bakeplan puts in scope. The semantics follow liquidjs 10.30.1 (Context._get and readProperty,
// defaultOperators, isTruthy, the Output, If, Unless, Case and Include tags), restricted to
// strings, numbers, booleans, null, arrays and plain objects: no Drops, no toLiquid, no functions.
import type { RenderLimits } from "../config/normalize.js";
import { packageIndent, renderArgTag, renderInstallPackagesTag, sourceMarker, type TagState } from "./custom-tags.js";
import { RenderLimitError, renderOutputExceeded, renderTimeExceeded, templateTooLarge } from "./limits.js";
import { positionAt, type TemplateFiles } from "./template-refs.js";
import {
  parseTemplate,
  type Expression,
  type Operand,
  type ParsedTemplate,
  type TemplateNode,
} from "./template-tree.js";

/** Rendered text in pieces, joined once at the end (no string of strings per append), and its length. */
export interface TextSink {
  parts: string[];
  length: number;
  readonly limits: RenderLimits;
}

/** One render: the text so far, what it reads, and its bounds. */
export interface RenderRun extends TextSink {
  readonly scope: Readonly<Record<string, unknown>>;
  readonly tags: TagState;
  /** performance.now() past which the render stops (limits.renderMs, what is left of it). */
  readonly deadline: number;
  /** Liquid nodes rendered by liquidjs in this run. */
  liquidNodes: number;
}

/** Renders liquid nodes: parses their text once with liquidjs, renders it into the run. */
export interface LiquidNodes {
  parse(template: string, begin: number, end: number): unknown;
  render(run: RenderRun, parsed: unknown): void;
}

type Render = (run: RenderRun) => void;
type Evaluate = (scope: Readonly<Record<string, unknown>>) => unknown;

/** Why one entry template cannot be compiled, or which of its nodes liquidjs renders. */
export interface Fallback {
  template: string;
  line: number;
  form: string;
  /** The whole render goes through liquidjs, not just this node. */
  wholeRender: boolean;
}

/** The compiled templates of one TemplateEngine: each parsed once, linked into functions on first render. */
export class TemplateCompiler {
  private readonly parsed = new Map<string, ParsedTemplate | "too large">();
  private readonly linked = new Map<string, Render>();
  private readonly names: ReadonlySet<string>;
  private readonly entries = new Map<string, Fallback[]>();

  constructor(
    private readonly files: TemplateFiles,
    private readonly dirLabel: string,
    private readonly limits: RenderLimits,
    /** Called for the first liquid node: liquidjs is loaded only for templates that have one. */
    private readonly liquidNodes: () => LiquidNodes,
  ) {
    this.names = new Set(files.keys());
  }

  private parse(template: string): ParsedTemplate | "too large" {
    let parsed = this.parsed.get(template);
    if (!parsed) {
      parsed = this.parseFile(template);
      this.parsed.set(template, parsed);
    }
    return parsed;
  }

  /** Once per template (bench/audit.mjs counts the calls). */
  private parseFile(template: string): ParsedTemplate | "too large" {
    const text = this.files.get(template)!;
    // Not parsed at all: rendering it reports limits.template_chars, where it is included.
    return text.length > this.limits.templateChars ? "too large" : parseTemplate(text, this.names);
  }

  /**
   * What liquidjs renders when `entry` is rendered, decided from the templates alone, once per
   * entry. With a whole-render fallback every render of `entry` goes through liquidjs.
   */
  fallbacks(entry: string): Fallback[] {
    let found = this.entries.get(entry);
    if (!found) {
      found = this.findFallbacks(entry);
      this.entries.set(entry, found);
    }
    return found;
  }

  private findFallbacks(entry: string): Fallback[] {
    const found: Fallback[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (template: string): boolean => {
      state.set(template, "visiting");
      const parsed = this.parse(template);
      if (parsed === "too large") {
        state.set(template, "done");
        return true;
      }
      if (parsed.wholeTemplate) {
        const { reason, offset } = parsed.wholeTemplate;
        found.push({ template, line: this.lineOf(template, offset), form: reason, wholeRender: true });
        return false;
      }
      for (const node of parsed.liquidNodes)
        found.push({ template, line: this.lineOf(template, node.offset), form: node.form, wholeRender: false });
      for (const [included, offset] of parsed.includes) {
        const seen = state.get(included);
        // liquidjs reports a cycle when it recurses (the plan refuses static ones before rendering).
        if (seen === "visiting") {
          found.push({ template, line: this.lineOf(template, offset), form: "an include cycle", wholeRender: true });
          return false;
        }
        if (seen === undefined && !visit(included)) return false;
      }
      state.set(template, "done");
      return true;
    };
    return visit(entry) ? found : found.filter((f) => f.wholeRender);
  }

  /** Renders `entry`, whose fallbacks() have no whole-render one. */
  render(entry: string, run: RenderRun): void {
    this.template(entry)(run);
  }

  private lineOf(template: string, offset: number): number {
    return positionAt(this.files.get(template)!, offset).line;
  }

  private template(name: string): Render {
    let render = this.linked.get(name);
    if (!render) {
      render = this.link(name);
      this.linked.set(name, render);
    }
    return render;
  }

  private link(template: string): Render {
    const parsed = this.parse(template);
    if (parsed === "too large") {
      const message = templateTooLarge(this.limits, `${this.dirLabel}/${template}`, this.files.get(template)!.length);
      return () => {
        throw new RenderLimitError(message);
      };
    }
    const marker = sourceMarker(this.dirLabel, template);
    const body = this.nodes(parsed.nodes, template);
    return (run) => {
      run.tags.templates.add(template);
      run.parts.push(marker);
      run.length += marker.length;
      body(run);
    };
  }

  private nodes(nodes: readonly TemplateNode[], template: string): Render {
    const renders = nodes.map((n) => this.node(n, template));
    if (renders.length === 1) return renders[0]!;
    return (run) => {
      for (const render of renders) render(run);
    };
  }

  private node(node: TemplateNode, template: string): Render {
    switch (node.kind) {
      case "text": {
        const { text } = node;
        const site = { template, offset: node.offset };
        return (run) => append(run, text, site);
      }
      case "output": {
        const read = variable(node.keys);
        const site = { template, offset: node.offset };
        return (run) => {
          const value = read(run.scope);
          append(run, typeof value === "string" ? value : liquidText(value), site);
        };
      }
      case "if": {
        const branches = node.branches.map((b) => ({
          test: evaluator(b.test),
          truth: b.truth,
          body: this.nodes(b.body, template),
        }));
        const otherwise = this.nodes(node.otherwise, template);
        return (run) => {
          for (const b of branches)
            if (isTruthy(b.test(run.scope)) === b.truth) {
              b.body(run);
              return;
            }
          otherwise(run);
        };
      }
      case "case": {
        const target = evaluator(node.target);
        const branches = node.branches.map((b) => ({
          values: b.values.map(evaluator),
          body: this.nodes(b.body, template),
        }));
        const otherwise = this.nodes(node.otherwise, template);
        return (run) => {
          const value = target(run.scope);
          let hit = false;
          for (const b of branches)
            for (const candidate of b.values)
              if (equals(value, candidate(run.scope))) {
                b.body(run);
                hit = true;
                break;
              }
          if (!hit) otherwise(run);
        };
      }
      case "include": {
        const site = { template, offset: node.offset };
        const name = node.template;
        if (this.parse(name) === "too large") {
          // Reported where it is included, as liquidjs reports its read.
          const message = templateTooLarge(this.limits, `${this.dirLabel}/${name}`, this.files.get(name)!.length);
          return () => {
            throw new RenderLimitError(message, site);
          };
        }
        let included: Render | undefined;
        return (run) => {
          // Every other node costs time linear in its template; includes can multiply it.
          if (performance.now() > run.deadline) throw new RenderLimitError(renderTimeExceeded(run.limits), site);
          (included ??= this.template(name))(run);
        };
      }
      case "arg": {
        const { names } = node;
        const line = this.lineOf(template, node.offset);
        const site = { template, offset: node.offset };
        return (run) => append(run, renderArgTag(names, run.tags, template, line), site);
      }
      case "install_packages": {
        const { tag } = node;
        const site = { template, offset: node.offset };
        const indent = packageIndent(this.files.get(template)!, node.offset);
        return (run) => append(run, renderInstallPackagesTag(tag, run.tags, indent), site);
      }
      case "liquid": {
        const host = this.liquidNodes();
        const parsed = host.parse(template, node.begin, node.end);
        return (run) => {
          run.liquidNodes++;
          host.render(run, parsed);
        };
      }
    }
  }
}

function append(run: RenderRun, text: string, site: { template: string; offset: number }): void {
  run.parts.push(text);
  if ((run.length += text.length) > run.limits.renderChars)
    throw new RenderLimitError(renderOutputExceeded(run.limits), site);
}

function evaluator(e: Expression | Operand): Evaluate {
  switch (e.kind) {
    case "quoted": {
      const { value } = e;
      return () => value;
    }
    case "path":
      return variable(e.keys);
    case "operator": {
      const left = evaluator(e.left);
      const right = evaluator(e.right);
      // liquidjs evaluates both operands before applying any operator (no short circuit).
      switch (e.operator) {
        case "==":
          return (s) => equals(left(s), right(s));
        case "!=":
          return (s) => !equals(left(s), right(s));
        case "contains":
          return (s) => contains(left(s), right(s));
        case "and":
          return (s) => {
            const l = left(s);
            const r = right(s);
            return isTruthy(l) && isTruthy(r);
          };
        case "or":
          return (s) => {
            const l = left(s);
            const r = right(s);
            return isTruthy(l) || isTruthy(r);
          };
      }
    }
  }
}

// liquidjs's Context.globals: where a name the scope does not have is read from.
const GLOBALS: Readonly<Record<string, unknown>> = Object.freeze({});

/** Context._get with strictVariables and ownPropertyOnly: undefined at any step is an error. */
function variable(keys: readonly string[]): Evaluate {
  const [first, ...rest] = keys as [string, ...string[]];
  const name = keys.join(".");
  if (rest.length === 0 && !LIQUID_PROPERTIES.has(first))
    // The commonest form, `{{ framework }}`: findScope and readProperty reduce to an own property.
    return (scope) => {
      const value = Object.hasOwn(scope, first) ? scope[first] : undefined;
      if (value === undefined) throw undefinedVariable(name);
      return value;
    };
  return (scope) => {
    // findScope: the scope when the name is in it (prototype included), else the globals.
    let value = property(first in scope ? scope : GLOBALS, first);
    for (const key of rest) {
      if (value === undefined) break;
      value = property(value, key);
    }
    if (value === undefined) throw undefinedVariable(name);
    return value;
  };
}

/** Thrown by a compiled read; TemplateEngine renders again with liquidjs, whose message and location are reported. */
function undefinedVariable(name: string): Error {
  return new Error(`undefined variable: ${name}`);
}

/** Keys liquid reads its own way on arrays, strings and objects. */
const LIQUID_PROPERTIES = new Set(["size", "first", "last"]);

/** Context.readProperty over plain data: own properties only, and liquid's size, first and last. */
function property(obj: unknown, key: string): unknown {
  if (obj === null || obj === undefined) return obj;
  const value = Object.hasOwn(obj, key) ? (obj as Record<string, unknown>)[key] : undefined;
  if (key === "size") return size(obj);
  if (key === "first") return Array.isArray(obj) ? element(obj, 0) : value;
  if (key === "last") return Array.isArray(obj) ? element(obj, obj.length - 1) : value;
  return value;
}

function size(obj: object | string | number | boolean): unknown {
  const record = obj as Record<string, unknown>;
  if (Object.hasOwn(record, "size") || record.size !== undefined) return record.size;
  if (Array.isArray(obj) || typeof obj === "string") return obj.length;
  if (typeof obj === "object") return Object.keys(obj).length;
  return undefined;
}

function element(array: readonly unknown[], index: number): unknown {
  return Object.hasOwn(array, index) ? array[index] : undefined;
}

/** isTruthy without jsTruthy: only false, null and undefined are false. */
function isTruthy(value: unknown): boolean {
  return value !== false && value !== undefined && value !== null;
}

function equals(left: unknown, right: unknown): boolean {
  if (Array.isArray(left)) {
    if (!Array.isArray(right) || left.length !== right.length) return false;
    for (let i = 0; i < left.length; i++) if (!equals(left[i], right[i])) return false;
    return true;
  }
  return left === right;
}

function contains(left: unknown, right: unknown): boolean {
  if (Array.isArray(left)) {
    for (const item of left) if (equals(item, right)) return true;
    return false;
  }
  return typeof left === "string" ? left.indexOf(right as string) > -1 : false;
}

/** liquidjs's stringify, for plain data: what `{{ value }}` writes. */
function liquidText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(liquidText).join("");
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- liquidjs writes String(value): "[object Object]" for an object
  return String(value);
}

/**
 * Whether `value` is data the compiled render reads as liquidjs would: strings, numbers,
 * booleans, null, arrays and objects without a prototype other than Object's, nested at most 64 deep.
 */
export function isPlainData(value: unknown, depth = 0): boolean {
  if (value === null || value === undefined) return true;
  switch (typeof value) {
    case "string":
    case "number":
    case "boolean":
      return true;
    case "object": {
      if (depth >= 64) return false;
      if (Array.isArray(value)) return value.every((v) => isPlainData(v, depth + 1));
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) return false;
      for (const v of Object.values(value)) if (!isPlainData(v, depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}

/* eslint-disable @typescript-eslint/no-unsafe-enum-comparison, @typescript-eslint/unbound-method -- this file reaches into liquidjs internals; issue 8 replaces it */
import type * as L from "liquidjs";
import type { Context, Emitter, LiquidOptions, Template } from "liquidjs";
import { liquidjs } from "./liquidjs.js";

const { defaultOperators, IfTag, IncludeTag, Output, TokenKind, toValueSync } = liquidjs;

// liquidjs renders through nested generators: a `{{ framework }}` steps through about six of them,
// which is most of a plan's time at Dynamo's scale. The nodes below get a direct render for the
// forms bakeplan's templates use most: literal text, `{{ a.b }}` that reads a string through plain
// objects, `{% if %}` comparing such strings, and `{% include 'name' %}` without parameters.
// Anything else (filters, numbers, drops, Comparable literals, a missing variable) is handed to
// liquidjs's own render of that node, so output is the same. An error thrown on the fast path is
// not reported from there: TemplateEngine renders again with `fast` off, so messages and
// locations are liquidjs's.

/** Shared switch: TemplateEngine turns it off to re-render the slow, reference way. */
export interface Acceleration {
  fast: boolean;
}

type ParseCache = Exclude<LiquidOptions["cache"], boolean | number | undefined>;

/** Sentinel: this value cannot be computed on the fast path. */
const SLOW = Symbol("slow");

/**
 * liquidjs's parse cache (one entry per file: each template is parsed once per run), which also
 * installs the direct renders on every template it stores.
 */
export function acceleratingCache(
  mode: Acceleration,
  options: { operators?: unknown; jsTruthy?: boolean },
): ParseCache {
  const parsed = new Map<string, Template[] | Promise<Template[]>>();
  // Conditions are only compiled against liquid's default operators and truthiness.
  const conditions =
    options.operators === undefined || options.operators === defaultOperators ? !options.jsTruthy : false;
  return {
    read: (key) => parsed.get(key),
    write: (key, value) => {
      if (Array.isArray(value)) accelerate(value, mode, conditions);
      parsed.set(key, value);
    },
    remove: (key) => void parsed.delete(key),
  };
}

type RenderFn = (this: Template, ctx: Context, emitter: Emitter) => unknown;

function setRender(tpl: Template, render: RenderFn): void {
  (tpl as { render: unknown }).render = render;
}

function accelerate(templates: readonly Template[], mode: Acceleration, conditions: boolean): void {
  for (const tpl of templates) {
    if (tpl instanceof Output) accelerateOutput(tpl, mode);
    else if (tpl.token.kind === TokenKind.HTML && typeof (tpl as { str?: unknown }).str === "string")
      accelerateHtml(tpl);
    else {
      if (conditions && tpl instanceof IfTag) accelerateIf(tpl, mode);
      else if (tpl instanceof IncludeTag) accelerateInclude(tpl, mode);
      if (tpl.children) accelerate(toValueSync(tpl.children(false, true)), mode, conditions);
    }
  }
}

/** liquidjs's renderTemplates without its generator, render limit and error wrapping (errors re-render slowly). */
function renderAll(templates: readonly Template[], ctx: Context, emitter: Emitter): void {
  for (const tpl of templates) {
    const html = toValueSync(tpl.render(ctx, emitter)) as unknown;
    if (html) emitter.write(html);
    if (ctx.breakCalled || ctx.continueCalled) break;
  }
}

function accelerateHtml(tpl: Template): void {
  // liquidjs: `*render(ctx, emitter) { emitter.write(this.str) }`.
  setRender(tpl, function (this: Template, _ctx, emitter) {
    emitter.write((this as unknown as { str: string }).str);
  });
}

interface ValueLike {
  filters: readonly unknown[];
  initial: { postfix?: readonly TokenLike[] };
}
interface TokenLike {
  kind: number;
  content?: unknown;
  variable?: unknown;
  props?: readonly TokenLike[];
  operator?: string;
}

/** The keys of `a.b["c"]` when every key is a literal string, else undefined. */
function plainPath(token: TokenLike): string[] | undefined {
  if (token.kind !== TokenKind.PropertyAccess || token.variable !== undefined || !token.props?.length) return undefined;
  const keys = token.props.map((p) => p.content);
  return keys.every((k): k is string => typeof k === "string") ? keys : undefined;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== "object") return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** What liquidjs reads for a variable (findScope on the first key, then own properties), when every step is a plain object and the result a string. */
function lookupString(ctx: Context, keys: readonly string[]): string | typeof SLOW {
  let v: unknown = (ctx as unknown as { findScope(key: string): unknown }).findScope(keys[0]!);
  for (const k of keys) {
    if (!isPlainObject(v) || typeof v.toLiquid === "function" || !Object.hasOwn(v, k)) return SLOW;
    v = v[k];
  }
  return typeof v === "string" ? v : SLOW;
}

function accelerateOutput(out: L.Output, mode: Acceleration): void {
  const value = out.value as unknown as ValueLike;
  const token = value.initial.postfix?.length === 1 ? value.initial.postfix[0]! : undefined;
  const keys = value.filters.length === 0 && token ? plainPath(token) : undefined;
  if (!keys) return;
  const slow = out.render as RenderFn;
  setRender(out, function (ctx, emitter) {
    const v = mode.fast ? lookupString(ctx, keys) : SLOW;
    if (v === SLOW) return slow.call(this, ctx, emitter);
    emitter.write(v);
    return undefined;
  });
}

type Condition = (ctx: Context) => unknown;

/** A postfix expression over string variables, quoted strings, ==, !=, contains, and, or; undefined for anything else. */
function compileCondition(value: ValueLike): Condition | undefined {
  const postfix = value.initial.postfix;
  if (value.filters.length > 0 || !postfix?.length) return undefined;
  const steps: ((stack: unknown[], ctx: Context) => boolean)[] = [];
  for (const token of postfix) {
    if (token.kind === TokenKind.Quoted && typeof token.content === "string") {
      const s = token.content;
      steps.push((stack) => (stack.push(s), true));
      continue;
    }
    const keys = plainPath(token);
    if (keys) {
      steps.push((stack, ctx) => {
        const v = lookupString(ctx, keys);
        if (v === SLOW) return false;
        stack.push(v);
        return true;
      });
      continue;
    }
    if (token.kind !== TokenKind.Operator) return undefined;
    const binary = (f: (l: unknown, r: unknown) => unknown) =>
      steps.push((stack) => {
        const r = stack.pop();
        const l = stack.pop();
        const v = f(l, r);
        if (v === SLOW) return false;
        stack.push(v);
        return true;
      });
    // Operands here are strings or booleans: no drops, arrays or Comparables, so liquid's
    // operators reduce to these (truthy = not false/null/undefined).
    const truthy = (v: unknown) => v !== false && v !== undefined && v !== null;
    switch (token.operator) {
      case "==":
        binary((l, r) => l === r);
        break;
      case "!=":
        binary((l, r) => l !== r);
        break;
      case "and":
        binary((l, r) => truthy(l) && truthy(r));
        break;
      case "or":
        binary((l, r) => truthy(l) || truthy(r));
        break;
      case "contains":
        binary((l, r) => (typeof l === "string" && typeof r === "string" ? l.indexOf(r) > -1 : SLOW));
        break;
      default:
        return undefined;
    }
  }
  return (ctx) => {
    const stack: unknown[] = [];
    for (const step of steps) if (!step(stack, ctx)) return SLOW;
    return stack.length === 1 ? stack[0] : SLOW;
  };
}

function accelerateIf(tag: L.IfTag, mode: Acceleration): void {
  const { branches, elseTemplates } = tag as unknown as {
    branches: { value: ValueLike; templates: Template[] }[];
    elseTemplates?: Template[];
  };
  const compiled = branches.map((b) => ({ test: compileCondition(b.value), templates: b.templates }));
  if (compiled.some((b) => !b.test)) return;
  const slow = tag.render as RenderFn;
  setRender(tag, function (ctx, emitter) {
    if (!mode.fast) return slow.call(this, ctx, emitter);
    // Conditions have no side effects, so giving up half-way through them is safe.
    for (const b of compiled) {
      const v = b.test!(ctx);
      if (v === SLOW) return slow.call(this, ctx, emitter);
      if (v !== false && v !== undefined && v !== null) return renderAll(b.templates, ctx, emitter);
    }
    return renderAll(elseTemplates ?? [], ctx, emitter);
  });
}

function accelerateInclude(tag: L.IncludeTag, mode: Acceleration): void {
  const t = tag as unknown as {
    file: unknown;
    currentFile?: string;
    withVar?: unknown;
    hash: { hash: Record<string, unknown> };
    liquid: {
      options: { jekyllInclude?: unknown };
      _parsePartialFile(file: string, sync: boolean, currentFile?: string): unknown;
    };
  };
  if (
    typeof t.file !== "string" ||
    t.withVar !== undefined ||
    Object.keys(t.hash.hash).length > 0 ||
    t.liquid.options.jekyllInclude
  )
    return;
  const file = t.file;
  const slow = tag.render as RenderFn;
  let partial: Template[] | undefined;
  setRender(tag, function (ctx, emitter) {
    if (!mode.fast) return slow.call(this, ctx, emitter);
    // liquidjs's IncludeTag.render for a fixed file name and no parameters; the parsed partial
    // comes from the parse cache once, instead of through a new Parser every render.
    partial ??= toValueSync(t.liquid._parsePartialFile(file, true, t.currentFile)) as Template[];
    const saved = ctx.saveRegister("blocks", "blockMode");
    ctx.setRegister("blocks", {});
    ctx.setRegister("blockMode", 0 /* BlockMode.OUTPUT */);
    ctx.push(Object.create(null) as object);
    renderAll(partial, ctx, emitter);
    ctx.pop();
    ctx.restoreRegister(saved);
    return undefined;
  });
}

// liquidjs, set up the way TemplateEngine renders what the compiler does not (compile.ts): strict,
// reading only the in-memory template files, with bakeplan's tags, under the run's limits. Only
// public liquidjs API: Liquid, Tag, Tokenizer, Parser.parseTokens, Context, Render.renderTemplates.
import type { RenderLimits } from "../config/normalize.js";
import type {
  Context as LiquidContext,
  Emitter,
  FS,
  Liquid,
  LiquidError,
  Parser,
  TagToken,
  Template,
  TopLevelToken,
} from "liquidjs";
import { UserError, type SourceLocation } from "../errors.js";
import type { LiquidNodes, RenderRun, TextSink } from "./compile.js";
import {
  parseArgTag,
  parseInstallPackagesTag,
  renderArgTag,
  packageIndent,
  renderInstallPackagesTag,
  SOURCE_TAG,
  sourceMarker,
  type PackagesTag,
  type ParsedTagArgs,
  type TagState,
} from "./custom-tags.js";
import {
  RenderLimitError,
  renderMemoryExceeded,
  renderOutputExceeded,
  renderTimeExceeded,
  templateTooLarge,
} from "./limits.js";
import { liquidjs } from "./liquidjs.js";
import { includedTemplate, templateName, type TemplateFiles } from "./template-refs.js";

// Every template starts with the marker tag on its first line, so liquid's line numbers stay true.
const SOURCE_PREFIX = `{% ${SOURCE_TAG} %}`;
const MAX_DEPTH = 64;

/** What a failed render's message adds: the variant, and a hint for a name that is not a variable. */
export interface ErrorContext {
  variantLabel: string;
  /** The hint for an undefined variable (`vars.setuptool`, `cuda`), e.g. a closest name. */
  hint?: (name: string) => string | undefined;
}

export class LiquidEngine implements LiquidNodes {
  private readonly liquid: Liquid;
  private readonly parser: Parser;
  /** One liquidjs Context per compiled render, shared by its liquid nodes (and their limits). */
  private readonly contexts = new WeakMap<RenderRun, LiquidContext>();

  constructor(
    private readonly files: TemplateFiles,
    private readonly dirLabel: string,
    private readonly limits: RenderLimits,
    tagState: () => TagState,
  ) {
    this.liquid = newLiquid(files, dirLabel, limits);
    registerBakeplanTags(this.liquid, dirLabel, tagState);
    this.parser = new (liquidjs().Parser)(this.liquid);
  }

  /** A whole render by liquidjs. */
  renderFile(entry: string, scope: object, deadline: number): string {
    const templates = this.liquid.parseFileSync(entry);
    const sink: TextSink = { parts: [], length: 0, limits: this.limits };
    this.renderTemplates(templates, this.newContext(scope, deadline), sink);
    return sink.parts.join("");
  }

  /** The liquid node from `begin` to `end` of `template`, parsed with the positions of the whole file. */
  parse(template: string, begin: number, end: number): Template[] {
    const { options } = this.liquid;
    const source = SOURCE_PREFIX + this.files.get(template)!;
    const range: [number, number] = [begin + SOURCE_PREFIX.length, end + SOURCE_PREFIX.length];
    const tokenizer = new (liquidjs().Tokenizer)(
      source,
      options.operators,
      template,
      range,
      options.groupedExpressions,
    );
    return this.parser.parseTokens(tokenizer.readTopLevelTokens(options));
  }

  render(run: RenderRun, parsed: unknown): void {
    let ctx = this.contexts.get(run);
    if (!ctx) {
      ctx = this.newContext(run.scope, run.deadline);
      this.contexts.set(run, ctx);
    }
    this.renderTemplates(parsed as Template[], ctx, run);
  }

  private newContext(scope: object, deadline: number): LiquidContext {
    const renderOptions = {
      sync: true,
      renderLimit: Math.max(0, deadline - performance.now()),
      memoryLimit: this.limits.renderChars,
    };
    return new (liquidjs().Context)(scope, this.liquid.options, renderOptions, { liquid: this.liquid });
  }

  private renderTemplates(templates: Template[], ctx: LiquidContext, sink: TextSink) {
    liquidjs().toValueSync(this.liquid.renderer.renderTemplates(templates, ctx, new LimitedEmitter(sink)));
  }

  /** A liquidjs error (or one thrown inside a liquidjs render) as a UserError at the template's file:line:col. */
  templateError(e: unknown, entry: string, context: ErrorContext): UserError {
    const { LiquidError } = liquidjs();
    const label = (message: string) => `${message} (rendering ${context.variantLabel})`;
    const root = rootCause(e);
    if (root instanceof RangeError && /Maximum call stack/.test(root.message))
      return new UserError(
        `Include nesting deeper than the stack allows (an include cycle?) while rendering ${context.variantLabel}`,
        { location: { file: `${this.dirLabel}/${entry}` }, cause: e },
      );
    const limit = this.limitMessage(root);
    if (!(e instanceof LiquidError))
      return new UserError(label(limit ?? (e instanceof Error ? e.message : String(e))), {
        location: { file: `${this.dirLabel}/${entry}` },
        cause: e,
      });
    const inner = innermost(e);
    const token = inner.token as (TopLevelToken & { file?: string; props?: { file?: string }[] }) | undefined;
    const [line, rawCol] = token ? token.getPosition() : [undefined, undefined];
    // The token of an undefined variable (a property access) carries its file only on its parts.
    const file = token?.file ?? token?.props?.find((p) => p.file)?.file ?? entry;
    // Line 1 of every file starts with the source marker tag: count columns from after it (an
    // error at the marker itself, the output limit crossed by it, is at the file's first column).
    const col = line === 1 && rawCol !== undefined ? Math.max(1, rawCol - SOURCE_PREFIX.length) : rawCol;
    let message = limit ?? messageOf(inner);
    const undefinedName = /undefined variable: ([A-Za-z_][\w.-]*[\w-])/.exec(message)?.[1];
    const hint = undefinedName === undefined ? undefined : context.hint?.(undefinedName);
    if (hint) message += `. ${hint}`;
    const lookup = /Failed to lookup "([^"]*)"/.exec(message)?.[1];
    if (lookup !== undefined && (lookup.startsWith("/") || lookup.split("/").includes("..")))
      message = `Include "${lookup}" points outside ${this.dirLabel}/; includes resolve inside ${this.dirLabel}/ only`;
    else if (/Failed to lookup|ENOENT/.test(message))
      message += `. Includes resolve inside ${this.dirLabel}/ only; files there: ${[...this.files.keys()].join(", ")}`;
    if (/Maximum call stack size exceeded/.test(message))
      message = "Include nesting deeper than the stack allows: an include cycle (through an include of a variable?)";
    if (root instanceof RangeError && /Invalid string length/.test(root.message))
      message = `The template built a string longer than JavaScript allows (${root.message}); limits.render_chars bounds the rendered text, a {% capture %} builds text it does not count`;
    const location: SourceLocation = { file: `${this.dirLabel}/${file}`, line, col };
    return new UserError(label(message), { location, cause: e });
  }

  /** The message for a limit that stopped the render, whether bakeplan's or liquidjs's own limiters. */
  private limitMessage(root: unknown): string | undefined {
    if (root instanceof RenderLimitError) return root.message;
    if (!(root instanceof Error)) return undefined;
    // liquidjs's Limiter messages (src/util/limiter.ts).
    if (root.message === "template render limit exceeded") return renderTimeExceeded(this.limits);
    if (root.message === "memory alloc limit exceeded") return renderMemoryExceeded(this.limits);
    return undefined;
  }

  /** Whether `e` stopped the render at a limit (then it is reported as it is, not rendered again). */
  isLimit(e: unknown): boolean {
    return this.limitMessage(rootCause(e)) !== undefined;
  }
}

function newLiquid(files: TemplateFiles, dirLabel: string, limits: RenderLimits): Liquid {
  // liquidjs finds the default locale for its date filters (an Intl.DateTimeFormat, ~30 ms of a
  // run); templates that never name a date filter cannot tell, so that is skipped for them.
  const usesDates = [...files.values()].some((text) => /date/i.test(text));
  return new (liquidjs().Liquid)({
    locale: usesDates ? undefined : "en-US",
    fs: memoryFs(files, dirLabel, limits),
    root: ["."],
    partials: ["."],
    layouts: ["."],
    extname: ".liquid",
    strictVariables: true,
    strictFilters: true,
    ownPropertyOnly: true,
    cache: true,
    relativeReference: false,
  });
}

/** Lookups see only the template files read at start; `..`, absolute paths and links go nowhere. */
function memoryFs(files: TemplateFiles, dirLabel: string, limits: RenderLimits): FS {
  const read = (path: string) => {
    const name = templateName(path);
    const text = files.get(name);
    if (text === undefined) throw new Error(`ENOENT: no template "${name}"`);
    if (text.length > limits.templateChars)
      throw new RenderLimitError(templateTooLarge(limits, `${dirLabel}/${name}`, text.length));
    return SOURCE_PREFIX + text;
  };
  return {
    exists: (p) => Promise.resolve(files.has(templateName(p))),
    existsSync: (p) => files.has(templateName(p)),
    readFile: (p) => Promise.resolve().then(() => read(p)),
    readFileSync: read,
    resolve: (_dir, file) => includedTemplate(file).path,
    contains: () => Promise.resolve(true),
    containsSync: () => true,
    sep: "/",
    dirname: (p) => p.split("/").slice(0, -1).join("/") || ".",
  };
}

/** liquidjs's SimpleEmitter, writing to a TextSink bounded by limits.render_chars. */
class LimitedEmitter implements Emitter {
  constructor(private readonly sink: TextSink) {}

  get buffer(): string {
    return this.sink.parts.join("");
  }

  set buffer(text: string) {
    this.sink.parts = [text];
    this.sink.length = text.length;
  }

  write(html: unknown): void {
    const text = liquidStringify(html);
    this.sink.parts.push(text);
    if ((this.sink.length += text.length) > this.sink.limits.renderChars)
      throw new RenderLimitError(renderOutputExceeded(this.sink.limits));
  }
}

/** liquidjs's stringify (src/util/underscore.ts), what its emitters write for a value. */
function liquidStringify(value: unknown): string {
  const v: unknown = liquidjs().toValue(value);
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "";
  if (Object.prototype.toString.call(v) === "[object Array]") return (v as unknown[]).map(liquidStringify).join("");
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- liquidjs writes String(value): "[object Object]" for an object
  return String(v);
}

function registerBakeplanTags(liquid: Liquid, dirLabel: string, tagState: () => TagState): void {
  const { Tag } = liquidjs();
  const argsOf = <T>(parsed: ParsedTagArgs<T>): T => {
    if ("error" in parsed) throw new Error(parsed.error);
    return parsed.value;
  };
  liquid.registerTag(
    SOURCE_TAG,
    class extends Tag {
      render(_ctx: LiquidContext, emitter: Emitter): void {
        const template = templateName(this.token.file ?? "");
        tagState().templates.add(template);
        emitter.write(sourceMarker(dirLabel, template));
      }
    },
  );
  liquid.registerTag(
    "arg",
    class extends Tag {
      private readonly names: string[];
      /** Template line, computed on first render: liquidjs's getPosition() scans the file from its start. */
      private line?: number;
      constructor(token: TagToken, remain: TopLevelToken[], liquid: Liquid) {
        super(token, remain, liquid);
        this.names = argsOf(parseArgTag(token.args));
      }
      render(_ctx: LiquidContext, emitter: Emitter): void {
        const line = (this.line ??= this.token.getPosition()[0] ?? 0);
        emitter.write(renderArgTag(this.names, tagState(), this.token.file ?? "?", line));
      }
    },
  );
  liquid.registerTag(
    "install_packages",
    class extends Tag {
      private readonly tag: PackagesTag;
      private indent?: string;
      constructor(token: TagToken, remain: TopLevelToken[], liquid: Liquid) {
        super(token, remain, liquid);
        this.tag = argsOf(parseInstallPackagesTag(token.args));
      }
      render(_ctx: LiquidContext, emitter: Emitter): void {
        emitter.write(renderInstallPackagesTag(this.tag, tagState(), (this.indent ??= templateIndent(this.token))));
      }
    },
  );
}

function causeOf(e: unknown): unknown {
  return (e as { originalError?: unknown } | undefined)?.originalError;
}

/** The error liquidjs wrapped (innermost), or `e` itself. */
function rootCause(e: unknown): unknown {
  let cur = e;
  for (let i = 0; i < MAX_DEPTH && causeOf(cur) !== undefined; i++) cur = causeOf(cur);
  return cur;
}

function innermost(e: LiquidError): LiquidError {
  const { LiquidError } = liquidjs();
  let cur: LiquidError = e;
  for (let i = 0; i < MAX_DEPTH; i++) {
    const next = causeOf(cur);
    if (next instanceof LiquidError) cur = next;
    else break;
  }
  return cur;
}

function messageOf(e: LiquidError): string {
  const original = causeOf(e);
  const raw = original instanceof Error ? original.message : e.message;
  // liquidjs appends ", file:..., line:..., col:..." and a code frame; we print our own location.
  return (raw.split("\n")[0] ?? raw).replace(/, (file:[^,]*, )?line:\d+, col:\d+$/, "");
}

/** packageIndent over the template's own text: liquidjs's starts with the source marker, line 1 does not. */
function templateIndent(token: TagToken): string {
  const { input, begin } = token;
  const skip = input.startsWith(SOURCE_PREFIX) ? SOURCE_PREFIX.length : 0;
  return packageIndent(input.slice(skip), begin - skip);
}

import type {
  FS,
  Context,
  Emitter,
  Liquid as LiquidEngine,
  LiquidError as LiquidErrorType,
  TagToken,
  TopLevelToken,
} from "liquidjs";
import { UserError, type SourceLocation } from "../errors.js";
import { dockerfileArgValue } from "../values.js";
import { acceleratingCache, type Acceleration } from "./accelerate.js";
import { liquidjs } from "./liquidjs.js";
import { installPackages } from "./packages.js";
import { AUTOMATIC_ARGS } from "./platform-args.js";
import { positionAt, templateName, templateReferences } from "./template-refs.js";
import type { PackageManager } from "../config/normalize.js";
import { PACKAGE_MANAGERS } from "../config/schema.js";

const { Liquid, LiquidError, Tag } = liquidjs;

/** Template files by name relative to the template directory, e.g. `vllm_runtime.liquid`. */
export type TemplateFiles = ReadonlyMap<string, string>;

export interface RenderInput {
  /** Liquid variables. */
  scope: Record<string, unknown>;
  /** Resolved ARG values for `{% arg NAME %}`. */
  args: ReadonlyMap<string, string>;
  packageManager?: PackageManager;
  /** Names that are not template variables, with the hint shown when a template uses one. */
  hints: ReadonlyMap<string, string>;
  /** For error messages: `vllm-cuda12 (framework=vllm, cuda=12.9, ...)`. */
  variantLabel: string;
}

/** Where each `{% arg %}` was declared, for `explain`. */
export interface ArgDeclaration {
  name: string;
  template: string;
  line: number;
}

export interface RenderOutput {
  text: string;
  declared: ArgDeclaration[];
}

const SOURCE_TAG = "bakeplan_source";
const MAX_DEPTH = 64;

/**
 * Liquid, strict, reading only the in-memory template files (so includes cannot leave the
 * template directory), each parsed once. One instance renders every variant of a run.
 */
export class TemplateEngine {
  private readonly liquid: LiquidEngine;
  private current: (RenderInput & { declared: ArgDeclaration[]; depth: number }) | undefined;
  /** Direct renders of common nodes (see accelerate.ts); off while re-rendering after an error. */
  private readonly acceleration: Acceleration = { fast: true };

  constructor(
    private readonly files: TemplateFiles,
    /** Shown in markers and errors, e.g. `templates`. */
    private readonly dirLabel: string,
    /** `accelerate: false` renders with liquidjs alone: the reference the fast paths are tested against. */
    options: { accelerate?: boolean } = {},
  ) {
    const templates: Record<string, string> = {};
    // The marker tag sits on the first line of each file, so liquid's line numbers stay true.
    for (const [name, text] of files) templates[name] = `{% ${SOURCE_TAG} ${name} %}${text}`;
    // liquidjs finds the default locale for its date filters (an Intl.DateTimeFormat, ~30 ms of a
    // run); templates that never name a date filter cannot tell, so that is skipped for them.
    const usesDates = [...files.values()].some((text) => /date/i.test(text));
    this.liquid = new Liquid({
      ...(usesDates ? {} : { locale: "en-US" }),
      fs: memoryFs(templates),
      root: ["."],
      partials: ["."],
      layouts: ["."],
      extname: ".liquid",
      strictVariables: true,
      strictFilters: true,
      ownPropertyOnly: true,
      cache: options.accelerate === false ? true : acceleratingCache(this.acceleration, {}),
      relativeReference: false,
    });
    const current = () => this.state();
    this.liquid.registerTag(SOURCE_TAG, sourceTag(dirLabel));
    this.liquid.registerTag(
      "arg",
      class extends Tag {
        private readonly names: string[];
        /** Template line, computed on first render: liquidjs's getPosition() scans the file from its start. */
        private line?: number;
        constructor(token: TagToken, remain: TopLevelToken[], liquid: LiquidEngine) {
          super(token, remain, liquid);
          this.names = token.args.trim().split(/\s+/).filter(Boolean);
          if (this.names.length === 0) throw new Error("{% arg %} needs at least one ARG name");
          for (const n of this.names) {
            if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) throw new Error(`{% arg %}: "${n}" is not an ARG name`);
            if (AUTOMATIC_ARGS.has(n))
              throw new Error(
                `{% arg ${n} %}: ${n} is set by BuildKit per platform; write a plain "ARG ${n}" inside the stage that needs it`,
              );
          }
        }
        render(_ctx: Context, emitter: Emitter): void {
          const state = current();
          const line = (this.line ??= this.token.getPosition()[0] ?? 0);
          const template = this.token.file ?? "?";
          const lines: string[] = [];
          for (const name of this.names) {
            const value = state.args.get(name);
            if (value === undefined)
              throw new Error(
                `ARG ${name} has no value for ${state.variantLabel}. Set it in context.yaml (defaults, an axis value or a combination), or write a plain "ARG ${name}" for an ARG without a default`,
              );
            state.declared.push({ name, template, line });
            lines.push(`ARG ${name}=${dockerfileArgValue(value)}`);
          }
          emitter.write(lines.join("\n"));
        }
      },
    );
    this.liquid.registerTag(
      "install_packages",
      class extends Tag {
        private readonly packages: string[];
        private readonly manager?: PackageManager;
        constructor(token: TagToken, remain: TopLevelToken[], liquid: LiquidEngine) {
          super(token, remain, liquid);
          const words = token.args.trim().split(/\s+/).filter(Boolean);
          const manager = /^manager=(.*)$/.exec(words[0] ?? "")?.[1];
          if (manager !== undefined) {
            if (!(PACKAGE_MANAGERS as readonly string[]).includes(manager))
              throw new Error(
                `{% install_packages %}: unknown manager "${manager}"; one of ${PACKAGE_MANAGERS.join(", ")}`,
              );
            this.manager = manager as PackageManager;
            words.shift();
          }
          this.packages = words;
          if (this.packages.length === 0) throw new Error("{% install_packages %} needs at least one package");
          for (const p of this.packages)
            if (!/^([a-z]+:)?[A-Za-z0-9][A-Za-z0-9.+_:=~*@-]*$/.test(p))
              throw new Error(`{% install_packages %}: "${p}" is not a package name`);
        }
        render(_ctx: Context, emitter: Emitter): void {
          const pm = this.manager ?? current().packageManager;
          if (!pm)
            throw new Error(
              "{% install_packages %} needs a package manager: set package_manager on the values of one axis (e.g. os), or write {% install_packages manager=dnf ... %}",
            );
          emitter.write(installPackages(pm, this.packages));
        }
      },
    );
  }

  private state() {
    if (!this.current) throw new Error("template rendered outside TemplateEngine.render");
    return this.current;
  }

  /** Renders `entry` (a file name inside the template directory) for one variant. */
  render(entry: string, input: RenderInput): RenderOutput {
    if (!this.files.has(entry))
      throw new UserError(`Template not found. Files: ${[...this.files.keys()].join(", ") || "(none)"}`, {
        location: { file: `${this.dirLabel}/${entry}` },
      });
    this.current = { ...input, declared: [], depth: 0 };
    try {
      const text = this.liquid.renderSync(this.liquid.parseFileSync(entry), input.scope) as string;
      return { text, declared: this.current.declared };
    } catch {
      // Errors are reported from liquidjs's own render, with its messages and locations.
      this.current = { ...input, declared: [], depth: 0 };
      this.acceleration.fast = false;
      try {
        const text = this.liquid.renderSync(this.liquid.parseFileSync(entry), input.scope) as string;
        return { text, declared: this.current.declared };
      } catch (e) {
        throw this.toTemplateError(e, entry, input);
      } finally {
        this.acceleration.fast = true;
      }
    } finally {
      this.current = undefined;
    }
  }

  private toTemplateError(e: unknown, entry: string, input: RenderInput): UserError {
    // liquidjs wraps a stack overflow (a dynamic include recursing) in a RenderError.
    const root = e instanceof LiquidError ? (innermost(e) as unknown as { originalError?: unknown }).originalError : e;
    if (root instanceof RangeError)
      return new UserError(
        `Include nesting deeper than the stack allows (an include cycle?) while rendering ${input.variantLabel}`,
        { location: { file: `${this.dirLabel}/${entry}` }, cause: e },
      );
    if (e instanceof LiquidError) {
      const inner = innermost(e);
      const token = inner.token as (TopLevelToken & { file?: string; props?: { file?: string }[] }) | undefined;
      const [line, rawCol] = token ? token.getPosition() : [undefined, undefined];
      // The token of an undefined variable (a property access) carries its file only on its parts.
      const file = token?.file ?? token?.props?.find((p) => p.file)?.file ?? entry;
      // Line 1 of every file starts with the source marker tag: count columns from after it.
      const col = line === 1 && rawCol !== undefined ? rawCol - `{% ${SOURCE_TAG} ${file} %}`.length : rawCol;
      let message = messageOf(inner);
      const undefinedName = /undefined variable: ([A-Za-z_][\w]*)/.exec(message)?.[1];
      if (undefinedName && input.hints.has(undefinedName)) message += `. ${input.hints.get(undefinedName)}`;
      const lookup = /Failed to lookup "([^"]*)"/.exec(message)?.[1];
      if (lookup !== undefined && (lookup.startsWith("/") || lookup.split("/").includes("..")))
        message = `Include "${lookup}" points outside ${this.dirLabel}/; includes resolve inside ${this.dirLabel}/ only`;
      else if (/Failed to lookup|ENOENT/.test(message))
        message += `. Includes resolve inside ${this.dirLabel}/ only; files there: ${[...this.files.keys()].join(", ")}`;
      if (/Maximum call stack size exceeded/.test(message))
        message = "Include nesting deeper than the stack allows: an include cycle (through an include of a variable?)";
      const location: SourceLocation = {
        file: `${this.dirLabel}/${file}`,
        ...(line !== undefined ? { line } : {}),
        ...(col !== undefined ? { col } : {}),
      };
      return new UserError(`${message} (rendering ${input.variantLabel})`, { location, cause: e });
    }
    return new UserError(`${e instanceof Error ? e.message : String(e)} (rendering ${input.variantLabel})`, {
      location: { file: `${this.dirLabel}/${entry}` },
      cause: e,
    });
  }
}

/** Lookups see only the template files read at start; `..`, absolute paths and links go nowhere. */
function memoryFs(files: Record<string, string>): FS {
  return {
    exists: (p) => Promise.resolve(Object.hasOwn(files, templateName(p))),
    existsSync: (p) => Object.hasOwn(files, templateName(p)),
    readFile: (p) => Promise.resolve().then(() => readOrThrow(files, templateName(p))),
    readFileSync: (p) => readOrThrow(files, templateName(p)),
    resolve: (_dir, file, ext) => (/\.[A-Za-z0-9]+$/.test(file) ? file : file + ext),
    contains: () => Promise.resolve(true),
    containsSync: () => true,
    sep: "/",
    dirname: (p) => p.split("/").slice(0, -1).join("/") || ".",
  };
}

function readOrThrow(files: Record<string, string>, p: string): string {
  if (!Object.hasOwn(files, p)) throw new Error(`ENOENT: no template "${p}"`);
  return files[p]!;
}

function innermost(e: LiquidErrorType): LiquidErrorType {
  let cur: LiquidErrorType = e;
  for (let i = 0; i < MAX_DEPTH; i++) {
    const next = (cur as unknown as { originalError?: unknown }).originalError;
    if (next instanceof LiquidError) cur = next;
    else break;
  }
  return cur;
}

function messageOf(e: LiquidErrorType): string {
  const original = (e as unknown as { originalError?: unknown }).originalError;
  const raw = original instanceof Error ? original.message : e.message;
  // liquidjs appends ", file:..., line:..., col:..." and a code frame; we print our own location.
  return (raw.split("\n")[0] ?? raw).replace(/, (file:[^,]*, )?line:\d+, col:\d+$/, "");
}

function sourceTag(dirLabel: string) {
  return class extends Tag {
    private readonly marker: string;
    constructor(token: TagToken, remain: TopLevelToken[], liquid: LiquidEngine) {
      super(token, remain, liquid);
      this.marker = `# --- ${dirLabel}/${token.args.trim()} ---\n`;
    }
    render(_ctx: Context, emitter: Emitter): void {
      emitter.write(this.marker);
    }
  };
}

/** Static include/render edges, to refuse include cycles before rendering. */
export function findIncludeCycle(files: TemplateFiles): { cycle: string[]; line: number; col: number } | undefined {
  const edges = new Map<string, { to: string; line: number; col: number }[]>();
  for (const [name, text] of files) {
    const list: { to: string; line: number; col: number }[] = [];
    for (const ref of templateReferences(text)) {
      if (ref.tag === "layout") continue;
      const to = ref.target.endsWith(".liquid") ? ref.target : `${ref.target}.liquid`;
      list.push({ to, ...positionAt(text, ref.offset) });
    }
    edges.set(name, list);
  }
  const state = new Map<string, "visiting" | "done">();
  const stack: { name: string; line: number }[] = [];
  const visit = (name: string): { cycle: string[]; line: number; col: number } | undefined => {
    state.set(name, "visiting");
    for (const edge of edges.get(name) ?? []) {
      stack.push({ name, line: edge.line });
      if (state.get(edge.to) === "visiting") {
        const start = stack.findIndex((s) => s.name === edge.to);
        return { cycle: [...stack.slice(start).map((s) => s.name), edge.to], line: edge.line, col: edge.col };
      }
      if (!state.has(edge.to) && edges.has(edge.to)) {
        const found = visit(edge.to);
        if (found) return found;
      }
      stack.pop();
    }
    state.set(name, "done");
    return undefined;
  };
  for (const name of [...files.keys()].sort()) {
    if (state.has(name)) continue;
    const found = visit(name);
    if (found) return found;
  }
  return undefined;
}

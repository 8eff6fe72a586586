import { UserError } from "../errors.js";
import type { PackageManager, RenderLimits } from "../config/normalize.js";
import { isPlainData, TemplateCompiler, type Fallback, type RenderRun } from "./compile.js";
import type { ArgDeclaration, TagState } from "./custom-tags.js";
import { LiquidEngine } from "./liquid-engine.js";
import { RenderLimitError, renderLimits } from "./limits.js";
import { positionAt, templateReferences, type TemplateFiles } from "./template-refs.js";

// The engine's input, named here for the modules that hand files to it.
export type { TemplateFiles } from "./template-refs.js";

export interface RenderInput {
  /** Liquid variables. */
  scope: Record<string, unknown>;
  /** Resolved ARG values for `{% arg NAME %}`. */
  args: ReadonlyMap<string, string>;
  /** The ARGs whose value is a derived default, written for BuildKit to expand. */
  derived?: ReadonlySet<string>;
  packageManager?: PackageManager;
  /** The hint shown when a template reads an undefined variable (its dotted name), e.g. the closest known name. */
  hint?: (name: string) => string | undefined;
  /** For error messages: `vllm-cuda12 (framework=vllm, cuda=12.9, ...)`. */
  variantLabel: string;
}

export interface RenderOutput {
  text: string;
  declared: ArgDeclaration[];
  /** The template files the render went through: the only ones whose text it depends on. */
  templates: ReadonlySet<string>;
}

export interface TemplateEngineOptions {
  /** `compile: false` renders with liquidjs alone: the reference the compiled renders are tested against. */
  compile?: boolean;
  /** limits.render_ms, render_chars, template_chars of context.yaml; defaults for the ones not given. */
  limits?: Partial<RenderLimits>;
}

/** How the renders of one engine went: a test fails when the compiled path stops being taken. */
export interface RenderCounts {
  /** Renders by the compiled templates. */
  compiled: number;
  /** Renders by liquidjs as a whole (a form the compiler leaves to liquidjs, or a scope that is not plain data). */
  liquidjs: number;
  /** Nodes liquidjs rendered inside compiled renders. */
  liquidjsNodes: number;
}

/**
 * Strict liquid over the in-memory template files (so includes cannot leave the template
 * directory), each parsed once. One instance renders every variant of a run: compiled into plain
 * functions where the templates allow (compile.ts), by liquidjs where they do not, and by liquidjs
 * again when a compiled render fails, for liquidjs's own message and location.
 */
export class TemplateEngine {
  readonly counts: RenderCounts = { compiled: 0, liquidjs: 0, liquidjsNodes: 0 };
  private readonly limits: RenderLimits;
  private readonly compiler: TemplateCompiler | undefined;
  private liquidEngine: LiquidEngine | undefined;
  /** limits.renderMs is for all renders of a run together. */
  private renderMs = 0;
  private current: TagState | undefined;

  constructor(
    private readonly files: TemplateFiles,
    /** Shown in markers and errors, e.g. `templates`. */
    private readonly dirLabel: string,
    options: TemplateEngineOptions = {},
  ) {
    this.limits = renderLimits(options.limits);
    this.compiler =
      options.compile === false ? undefined : new TemplateCompiler(files, dirLabel, this.limits, () => this.liquid);
  }

  /** liquidjs, loaded and set up for the first render that needs it. */
  private get liquid(): LiquidEngine {
    return (this.liquidEngine ??= new LiquidEngine(this.files, this.dirLabel, this.limits, () => this.tagState()));
  }

  private tagState(): TagState {
    if (!this.current) throw new Error("template rendered outside TemplateEngine.render");
    return this.current;
  }

  /** What liquidjs renders of `entry` rather than the compiled templates, decided from the templates alone. */
  fallbacks(entry: string): Fallback[] {
    return this.compiler?.fallbacks(entry) ?? [{ template: entry, line: 1, form: "compile: false", wholeRender: true }];
  }

  /** Renders `entry` (a file name inside the template directory) for one variant. */
  render(entry: string, input: RenderInput): RenderOutput {
    if (!this.files.has(entry))
      throw new UserError(`Template not found. Files: ${[...this.files.keys()].join(", ") || "(none)"}`, {
        location: { file: `${this.dirLabel}/${entry}` },
      });
    const started = performance.now();
    const deadline = started + this.limits.renderMs - this.renderMs;
    try {
      if (this.compiler && isPlainData(input.scope) && !this.compiler.fallbacks(entry).some((f) => f.wholeRender))
        return this.renderCompiled(this.compiler, entry, input, deadline);
      this.counts.liquidjs++;
      return this.renderWithLiquidjs(entry, input, deadline);
    } finally {
      this.current = undefined;
      this.renderMs += performance.now() - started;
    }
  }

  private renderCompiled(compiler: TemplateCompiler, entry: string, input: RenderInput, deadline: number) {
    const tags = this.tagStateFor(input);
    const run: RenderRun = {
      parts: [],
      length: 0,
      scope: input.scope,
      tags,
      limits: this.limits,
      deadline,
      liquidNodes: 0,
    };
    this.current = tags;
    try {
      compiler.render(entry, run);
    } catch (e) {
      throw this.compiledRenderError(e, entry, input, deadline);
    }
    this.counts.compiled++;
    this.counts.liquidjsNodes += run.liquidNodes;
    return { text: run.parts.join(""), declared: tags.declared, templates: tags.templates };
  }

  private renderWithLiquidjs(entry: string, input: RenderInput, deadline: number): RenderOutput {
    const tags = this.tagStateFor(input);
    this.current = tags;
    try {
      const text = this.liquid.renderFile(entry, input.scope, deadline);
      return { text, declared: tags.declared, templates: tags.templates };
    } catch (e) {
      throw this.liquid.templateError(e, entry, input);
    }
  }

  /**
   * A failed compiled render. A limit is reported where it was hit; anything else is rendered
   * again by liquidjs, whose message and location are the ones reported. Should liquidjs succeed,
   * the compiled templates are wrong: that is a bug, never an output.
   */
  private compiledRenderError(e: unknown, entry: string, input: RenderInput, deadline: number): Error {
    if (e instanceof RenderLimitError) {
      const location = e.site
        ? {
            file: `${this.dirLabel}/${e.site.template}`,
            ...positionAt(this.files.get(e.site.template)!, e.site.offset),
          }
        : { file: `${this.dirLabel}/${entry}` };
      return new UserError(`${e.message} (rendering ${input.variantLabel})`, { location, cause: e });
    }
    if (this.liquidEngine?.isLimit(e)) return this.liquidEngine.templateError(e, entry, input);
    try {
      this.renderWithLiquidjs(entry, input, deadline);
    } catch (reported) {
      return reported as Error;
    }
    return new Error(
      `bakeplan bug: the compiled render of ${this.dirLabel}/${entry} failed (${e instanceof Error ? e.message : String(e)}) where liquidjs renders it; please report it`,
      { cause: e },
    );
  }

  private tagStateFor(input: RenderInput): TagState {
    return {
      args: input.args,
      derived: input.derived,
      packageManager: input.packageManager,
      variantLabel: input.variantLabel,
      declared: [],
      templates: new Set(),
    };
  }
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

// A template parsed into the node forms the compiler renders itself (compile.ts), with every other
// form either kept as a "liquid" node for liquidjs to render in place, or, when it could change
// what later nodes see, marking the template as one liquidjs renders as a whole. Tags are parsed
// as liquidjs 10.30.1 parses them (src/tags/*.ts); what is not understood exactly is never compiled.
import { parseArgTag, parseInstallPackagesTag, type PackagesTag, type ParsedTagArgs } from "./custom-tags.js";
import { BLANK_CLASS, htmlContent, isBlank, tokenize, type TagToken, type Token } from "./liquid-syntax.js";
import { includedTemplate } from "./template-refs.js";

export type Operand = { kind: "quoted"; value: string } | { kind: "path"; keys: string[] };
export type Operator = "==" | "!=" | "contains" | "and" | "or";
export type Expression = Operand | { kind: "operator"; operator: Operator; left: Expression; right: Expression };

export type TemplateNode =
  | { kind: "text"; text: string; offset: number }
  | { kind: "output"; keys: string[]; offset: number }
  /** `if`/`elsif`/`else` and `unless`: the first branch whose test gives `truth`, else `otherwise`. */
  | {
      kind: "if";
      branches: { test: Expression; truth: boolean; body: TemplateNode[] }[];
      otherwise: TemplateNode[];
    }
  /** Every branch with a value equal to the target renders (liquidjs does not stop at the first); `otherwise` when none did. */
  | {
      kind: "case";
      target: Expression;
      branches: { values: Operand[]; body: TemplateNode[] }[];
      otherwise: TemplateNode[];
    }
  | { kind: "include"; template: string; offset: number }
  | { kind: "arg"; names: string[]; offset: number }
  | { kind: "install_packages"; tag: PackagesTag; offset: number }
  /** Text liquidjs renders in place: tokens from `begin` to `end` of the template. */
  | { kind: "liquid"; form: string; begin: number; end: number };

export interface ParsedTemplate {
  nodes: TemplateNode[];
  /** Templates this one may include (also from liquid nodes), by file name, with the offset of the first such include. */
  includes: Map<string, number>;
  /** The liquid nodes, for the fallback report. */
  liquidNodes: { form: string; offset: number }[];
  /** Set when this template (and so every render that reaches it) must be rendered by liquidjs as a whole. */
  wholeTemplate?: { reason: string; offset: number };
}

const OPERATOR_PRECEDENCE: Record<Operator, number> = { "==": 2, "!=": 2, contains: 2, and: 0, or: 0 };
// Words liquidjs reads as literals (true, nil, empty...) or operators where a variable could stand.
const NOT_A_VARIABLE = new Set(["true", "false", "nil", "null", "empty", "blank", "and", "or", "contains", "not"]);
const IDENTIFIER = "[A-Za-z_][A-Za-z0-9_-]*";
const PATH = new RegExp(`^(${IDENTIFIER})((?:\\.${IDENTIFIER}|\\[(?:"[^"\\\\]*"|'[^'\\\\]*')\\])*)$`);
const PATH_SEGMENT = new RegExp(`\\.(${IDENTIFIER})|\\[(?:"([^"\\\\]*)"|'([^'\\\\]*)')\\]`, "g");
const LITERAL_INCLUDE = /^(["'])([^"'\\{]*)\1/;
const NOTHING = Symbol("nothing");

/** Parses one template; `templates` are the names includes may resolve to. */
export function parseTemplate(text: string, templates: ReadonlySet<string>): ParsedTemplate {
  const tokens = tokenize(text);
  if (!Array.isArray(tokens)) return { nodes: [], includes: new Map(), liquidNodes: [], wholeTemplate: tokens };
  const parser = new TemplateParser(text, tokens, templates);
  const body = parser.body([], 0);
  return {
    nodes: body?.nodes ?? [],
    includes: parser.includes,
    liquidNodes: parser.liquidNodes,
    wholeTemplate: parser.wholeTemplate,
  };
}

class TemplateParser {
  private i = 0;
  readonly includes = new Map<string, number>();
  readonly liquidNodes: { form: string; offset: number }[] = [];
  wholeTemplate?: { reason: string; offset: number };

  constructor(
    private readonly text: string,
    private readonly tokens: readonly Token[],
    private readonly templates: ReadonlySet<string>,
  ) {}

  private giveUp(reason: string, offset: number): undefined {
    this.wholeTemplate ??= { reason, offset };
    return undefined;
  }

  /** Nodes up to a tag named in `stops` (returned, consumed) or to the end; undefined after giveUp. */
  body(stops: readonly string[], loops: number): { nodes: TemplateNode[]; stop?: TagToken } | undefined {
    const nodes: TemplateNode[] = [];
    while (this.i < this.tokens.length) {
      const token = this.tokens[this.i]!;
      if (token.kind === "html") {
        this.i++;
        const text = htmlContent(this.text, token);
        if (text !== "") nodes.push({ kind: "text", text, offset: token.begin + token.trimLeft });
      } else if (token.kind === "output") {
        this.i++;
        const keys = variablePath(token.content);
        nodes.push(
          keys
            ? { kind: "output", keys, offset: token.begin }
            : this.liquid("{{ }} with filters or an expression", token.begin, token.end),
        );
      } else if (stops.includes(token.name)) {
        this.i++;
        return { nodes, stop: token };
      } else {
        const node = this.tag(token, loops);
        if (node === undefined) return undefined;
        if (node !== NOTHING) nodes.push(node);
      }
    }
    return { nodes };
  }

  private liquid(form: string, begin: number, end: number): TemplateNode {
    this.liquidNodes.push({ form, offset: begin });
    return { kind: "liquid", form, begin, end };
  }

  private tag(token: TagToken, loops: number): TemplateNode | typeof NOTHING | undefined {
    switch (token.name) {
      case "if":
      case "unless":
        return this.conditional(token, loops);
      case "case":
        return this.caseTag(token, loops);
      case "include":
        return this.include(token);
      case "comment":
        // liquidjs's comment skips tokens up to the first endcomment, nested comments or not.
        for (this.i++; this.i < this.tokens.length; this.i++) {
          const t = this.tokens[this.i]!;
          if (t.kind === "tag" && t.name === "endcomment") {
            this.i++;
            return NOTHING;
          }
        }
        return this.giveUp("{% comment %} not closed", token.begin);
      case "#":
        this.i++;
        // liquidjs's InlineCommentTag refuses a line that does not start with "#".
        return /\n\s*[^#\s]/.test(token.args)
          ? this.giveUp("an inline comment liquidjs refuses", token.begin)
          : NOTHING;
      case "arg":
        this.i++;
        return this.customTag(parseArgTag(token.args), token, (names) => ({ kind: "arg", names, offset: token.begin }));
      case "install_packages":
        this.i++;
        return this.customTag(parseInstallPackagesTag(token.args), token, (tag) => ({
          kind: "install_packages",
          tag,
          offset: token.begin,
        }));
      case "for":
        return this.liquidBlock(token, ["else", "endfor"], "endfor", loops + 1);
      case "tablerow":
        // break/continue inside a tablerow leak out of it in liquidjs: none are allowed there.
        return this.liquidBlock(token, ["endtablerow"], "endtablerow", 0);
      case "echo":
      case "render":
        this.i++;
        return this.liquid(`{% ${token.name} %}`, token.begin, token.end);
      case "break":
      case "continue":
        this.i++;
        // Inside a for loop these are part of the loop's liquid node; elsewhere they stop the
        // rest of the render, which the compiled nodes around them would not.
        return loops > 0 ? NOTHING : this.giveUp(`{% ${token.name} %} outside a for loop`, token.begin);
      default:
        // assign, capture, increment, decrement, cycle, liquid, layout, block: state that later nodes
        // (compiled ones too) read. Any other name is a tag liquidjs does not know, or one out of place.
        return this.giveUp(`{% ${token.name} %}`, token.begin);
    }
  }

  private customTag<T>(
    parsed: ParsedTagArgs<T>,
    token: TagToken,
    node: (value: T) => TemplateNode,
  ): TemplateNode | undefined {
    // liquidjs refuses the whole template when a tag's arguments are wrong: it reports that.
    return "error" in parsed ? this.giveUp(parsed.error, token.begin) : node(parsed.value);
  }

  private conditional(open: TagToken, loops: number): TemplateNode | undefined {
    const end = open.name === "unless" ? "endunless" : "endif";
    const mark = this.liquidNodes.length;
    const branches: { test: Expression | undefined; truth: boolean; body: TemplateNode[] }[] = [];
    let otherwise: TemplateNode[] = [];
    // liquidjs refuses arguments after if's else and endif, and keeps unless's; neither is compiled.
    let compilable = true;
    let test = expression(open.args);
    let truth = open.name === "if";
    this.i++;
    let stop: TagToken;
    for (;;) {
      const part = this.body(["elsif", "else", end], loops);
      if (!part) return undefined;
      if (!part.stop) return this.giveUp(`{% ${open.name} %} not closed`, open.begin);
      branches.push({ test, truth, body: part.nodes });
      stop = part.stop;
      if (stop.name === "elsif") {
        test = expression(stop.args);
        truth = true;
        continue;
      }
      if (stop.name === "else") {
        compilable &&= stop.args === "";
        const rest = this.body([end], loops);
        if (!rest) return undefined;
        if (!rest.stop) return this.giveUp(`{% ${open.name} %} not closed`, open.begin);
        otherwise = rest.nodes;
        stop = rest.stop;
      }
      break;
    }
    compilable &&= stop.args === "" && branches.every((b) => b.test !== undefined);
    if (!compilable)
      return this.liquidSpan(`{% ${open.name} %} with a condition it does not compile`, open, stop, mark);
    return {
      kind: "if",
      branches: branches as { test: Expression; truth: boolean; body: TemplateNode[] }[],
      otherwise,
    };
  }

  private caseTag(open: TagToken, loops: number): TemplateNode | undefined {
    const mark = this.liquidNodes.length;
    const target = expression(open.args);
    this.i++;
    // Nodes before the first when are parsed and dropped, as liquidjs does.
    const prelude = this.body(["when", "else", "endcase"], loops);
    if (!prelude) return undefined;
    if (!prelude.stop) return this.giveUp("{% case %} not closed", open.begin);
    let stop = prelude.stop;
    // A liquid node in the dropped prelude is still parsed by liquidjs, and may be refused: leave it all to liquidjs.
    let compilable = target !== undefined && this.liquidNodes.length === mark;
    const branches: { values: Operand[]; body: TemplateNode[] }[] = [];
    let otherwise: TemplateNode[] = [];
    while (stop.name === "when") {
      const values = whenValues(stop.args);
      compilable &&= values !== undefined;
      const part = this.body(["when", "else", "endcase"], loops);
      if (!part) return undefined;
      if (!part.stop) return this.giveUp("{% case %} not closed", open.begin);
      branches.push({ values: values ?? [], body: part.nodes });
      stop = part.stop;
    }
    if (stop.name === "else") {
      compilable &&= stop.args === "";
      const rest = this.body(["endcase"], loops);
      if (!rest) return undefined;
      if (!rest.stop) return this.giveUp("{% case %} not closed", open.begin);
      otherwise = rest.nodes;
      stop = rest.stop;
    }
    compilable &&= stop.args === "";
    if (!compilable || target === undefined) return this.liquidSpan("{% case %} it does not compile", open, stop, mark);
    return { kind: "case", target, branches, otherwise };
  }

  /** A block liquidjs renders in place; its body is parsed for the includes and tags in it. */
  private liquidBlock(open: TagToken, stops: string[], end: string, loops: number): TemplateNode | undefined {
    const mark = this.liquidNodes.length;
    this.i++;
    for (;;) {
      const part = this.body(stops, loops);
      if (!part) return undefined;
      if (!part.stop) return this.giveUp(`{% ${open.name} %} not closed`, open.begin);
      if (part.stop.name === end) return this.liquidSpan(`{% ${open.name} %}`, open, part.stop, mark);
    }
  }

  private liquidSpan(form: string, open: TagToken, close: TagToken, mark: number): TemplateNode {
    // The block is one liquid node: what it contains is not reported on its own.
    this.liquidNodes.length = mark;
    return this.liquid(form, open.begin, close.end);
  }

  private include(token: TagToken): TemplateNode | undefined {
    this.i++;
    // liquidjs's parseFilePath: a quoted name without "{" is a file name; a value is looked up at render time.
    const literal = LITERAL_INCLUDE.exec(token.args);
    const rest = literal ? token.args.slice(literal[0].length) : "";
    if (!literal || literal[2] === "" || (rest !== "" && rest[0] !== "," && !isBlank(rest.charCodeAt(0))))
      return this.giveUp("an include of a name computed at render time", token.begin);
    const { path, template } = includedTemplate(literal[2]!);
    const exists = this.templates.has(template);
    if (exists && !this.includes.has(template)) this.includes.set(template, token.begin);
    if (rest === "" && exists && path === template) return { kind: "include", template, offset: token.begin };
    return this.liquid(
      exists ? "{% include %} with parameters or a ./ name" : "{% include %} of a missing template",
      token.begin,
      token.end,
    );
  }
}

/** `a.b["c"]` as its keys, when that is all `source` is. */
export function variablePath(source: string): string[] | undefined {
  const m = PATH.exec(source);
  if (!m || NOT_A_VARIABLE.has(m[1]!)) return undefined;
  const keys = [m[1]!];
  for (const s of m[2]!.matchAll(PATH_SEGMENT)) keys.push(s[1] ?? s[2] ?? s[3]!);
  return keys;
}

const BLANK = new RegExp(BLANK_CLASS);

/**
 * Operands (quoted strings without escapes, variable paths) joined by ==, !=, contains, and, or,
 * each item followed by a blank or the end; grouped with liquidjs's precedences (and/or lowest,
 * both right to left). undefined for anything else.
 */
export function expression(source: string): Expression | undefined {
  const items: (Operand | Operator)[] = [];
  let p = 0;
  for (;;) {
    while (p < source.length && isBlank(source.charCodeAt(p))) p++;
    if (p >= source.length) break;
    const read = operandAt(source, p, false);
    if (!read) return undefined;
    items.push(read.item);
    p = read.end;
    if (p < source.length && !isBlank(source.charCodeAt(p))) return undefined;
  }
  if (items.length % 2 === 0) return undefined;
  const output: Expression[] = [];
  const operators: Operator[] = [];
  const reduce = () => {
    const right = output.pop()!;
    const left = output.pop()!;
    output.push({ kind: "operator", operator: operators.pop()!, left, right });
  };
  for (let k = 0; k < items.length; k++) {
    const item = items[k]!;
    if ((k % 2 === 1) !== (typeof item === "string")) return undefined;
    if (typeof item !== "string") output.push(item);
    else {
      while (operators.length && OPERATOR_PRECEDENCE[operators[operators.length - 1]!] > OPERATOR_PRECEDENCE[item])
        reduce();
      operators.push(item);
    }
  }
  while (operators.length) reduce();
  return output[0];
}

/** `'a', 'b' or x`: the values of a `{% when %}` (liquidjs's CaseTag separators). */
export function whenValues(source: string): Operand[] | undefined {
  const values: Operand[] = [];
  let p = 0;
  for (;;) {
    while (p < source.length && isBlank(source.charCodeAt(p))) p++;
    const read = operandAt(source, p, true);
    if (!read || typeof read.item === "string") return undefined;
    values.push(read.item);
    p = read.end;
    while (p < source.length && isBlank(source.charCodeAt(p))) p++;
    if (p >= source.length) return values;
    if (source[p] === ",") p++;
    else if (source.startsWith("or", p) && BLANK.test(source[p + 2] ?? "")) p += 2;
    else return undefined;
  }
}

const OPERATORS = new Set<string>(["==", "!=", "contains", "and", "or"]);

/** A quoted string, an operator or a variable path starting at `p`; a path or operator ends at a blank (or a comma). */
function operandAt(
  source: string,
  p: number,
  commaEnds: boolean,
): { item: Operand | Operator; end: number } | undefined {
  const quote = source[p];
  if (quote === '"' || quote === "'") {
    const close = source.indexOf(quote, p + 1);
    if (close < 0) return undefined;
    const value = source.slice(p + 1, close);
    if (value.includes("\\")) return undefined;
    const end = close + 1;
    if (end < source.length && !isBlank(source.charCodeAt(end)) && !(commaEnds && source[end] === ","))
      return undefined;
    return { item: { kind: "quoted", value }, end };
  }
  let end = p;
  while (end < source.length && !isBlank(source.charCodeAt(end)) && !(commaEnds && source[end] === ",")) end++;
  const word = source.slice(p, end);
  if (OPERATORS.has(word)) return { item: word as Operator, end };
  const keys = variablePath(word);
  return keys ? { item: { kind: "path", keys }, end } : undefined;
}

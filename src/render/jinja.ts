// Jinja2 constructs left in a template ported from Jinja (Dynamo's render.py, many others): each
// is an error at its line that says what liquid writes instead, found in the tokens before any
// render. Some would fail in liquid with a message that does not help ("tag elif not found"),
// others would render silently wrong (a `{# #}` comment copied into the Dockerfile, `== true`
// against a string value, always false).
import { tokenize, type Token } from "./liquid-syntax.js";
import type { TemplateFiles } from "./template-refs.js";

export interface JinjaConstruct {
  /** File name inside the template directory. */
  template: string;
  offset: number;
  message: string;
}

const TAGS: Record<string, string> = {
  elif: "{% elif %} is Jinja; liquid writes {% elsif ... %}",
  set: "{% set %} is Jinja; liquid writes {% assign name = value %} (or {% capture name %}...{% endcapture %} for a block)",
  endset: "{% endset %} is Jinja; liquid writes {% capture name %}...{% endcapture %}",
  macro:
    "{% macro %} is Jinja; liquid has no macros: put the text in a template of its own and {% include 'name' %} it",
};

// Tags whose arguments are a condition.
const CONDITIONS = new Set(["if", "elsif", "unless", "elif"]);

/**
 * Every Jinja construct in the templates. `strings` are the top-level names whose values are
 * strings (the axes, `vars`, `args`, `project`): `== true` against one of them is always false.
 */
export function jinjaConstructs(files: TemplateFiles, strings: ReadonlySet<string>): JinjaConstruct[] {
  const found: JinjaConstruct[] = [];
  // `loop.index` is Jinja's loop variable, unless a template or the scope gives liquid a `loop`.
  const names = new Set(strings);
  for (const text of files.values())
    if (/\{%-?\s*(assign|capture|increment|decrement)\s+loop\b|\{%-?\s*for\s+loop\s+in\b/.test(text)) names.add("loop");
  for (const [template, text] of files) {
    const add = (offset: number, message: string) => found.push({ template, offset, message });
    const tokens = tokenize(text);
    // A template liquidjs's tokenizer would refuse gets liquidjs's own message when it renders;
    // its comments are still looked for in the raw text.
    if (!Array.isArray(tokens)) {
      for (const offset of jinjaComments(text, 0, text.length)) add(offset, COMMENT);
      continue;
    }
    let comment = 0;
    for (const t of tokens) {
      // Nothing inside {% comment %} is rendered: a Jinja construct there does no harm.
      if (t.kind === "tag" && t.name === "comment") comment++;
      else if (t.kind === "tag" && t.name === "endcomment") comment = Math.max(0, comment - 1);
      else if (comment === 0) for (const [offset, message] of inToken(text, t, names)) add(offset, message);
    }
  }
  return found;
}

const COMMENT =
  "{# ... #} is a Jinja comment, which liquid copies into the Dockerfile as text; write {% comment %}...{% endcomment %}, or {% # note %} for one line";

function* inToken(text: string, t: Token, strings: ReadonlySet<string>): Generator<[number, string]> {
  if (t.kind === "html") {
    for (const offset of jinjaComments(text, t.begin, t.end)) yield [offset, COMMENT];
    return;
  }
  if (t.kind === "tag") {
    const tagMessage = TAGS[t.name];
    if (tagMessage) yield [t.begin, tagMessage];
    if (CONDITIONS.has(t.name)) yield* inExpression(t.begin, t.args, strings);
    if (t.name !== "#") yield* inAnyExpression(t.begin, t.args, strings);
    return;
  }
  if (t.kind === "output") {
    const bare = unquoted(t.content);
    if (/(^|\s)if\s/.test(bare))
      yield [
        t.begin,
        '"a if c else b" is Jinja\'s inline if; liquid writes {% if c %}{{ a }}{% else %}{{ b }}{% endif %}',
      ];
    yield* inExpression(t.begin, t.content, strings);
    yield* inAnyExpression(t.begin, t.content, strings);
  }
}

// Jinja's loop attributes and liquid's forloop names for them.
const LOOP: Record<string, string> = {
  index: "index",
  index0: "index0",
  revindex: "rindex",
  revindex0: "rindex0",
  first: "first",
  last: "last",
  length: "length",
};

/** Jinja in any expression: a filter called with parentheses, Jinja's `loop` variable. */
function* inAnyExpression(
  offset: number,
  expression: string,
  strings: ReadonlySet<string>,
): Generator<[number, string]> {
  const bare = unquoted(expression);
  // liquid's filter arguments follow a colon; `| default("y")` stops liquidjs with `expected ":"`.
  const call = /\|\s*([A-Za-z_]\w*)\s*\(/.exec(bare);
  if (call)
    yield [
      offset,
      `"| ${call[1]}(...)" is a Jinja filter call; liquid writes a filter's arguments after a colon: | ${call[1]}: "a", "b"`,
    ];
  if (strings.has("loop")) return;
  const loop = /(?:^|[^\w.])loop\.([A-Za-z_]\w*)/.exec(bare);
  if (loop) {
    const liquid = LOOP[loop[1]!];
    yield [
      offset,
      liquid
        ? `loop.${loop[1]} is Jinja's loop variable; liquid's is forloop: write forloop.${liquid}`
        : `loop.${loop[1]} is Jinja's loop variable; liquid's forloop has index, index0, rindex, rindex0, first, last and length`,
    ];
  }
}

function* inExpression(offset: number, expression: string, strings: ReadonlySet<string>): Generator<[number, string]> {
  const bare = unquoted(expression);
  const notIn = /([\w.[\]"'-]+)\s+not\s+in\s*[[(]/.exec(bare);
  const isIn = /([\w.[\]"'-]+)\s+in\s*[[(]/.exec(bare);
  if (notIn)
    yield [
      offset,
      `"${notIn[1]} not in (...)" is Jinja; liquid has no "in" test: write ${notIn[1]} != "a" and ${notIn[1]} != "b"`,
    ];
  else if (isIn)
    yield [
      offset,
      `"${isIn[1]} in [...]" is Jinja; liquid has no "in" test: write ${isIn[1]} == "a" or ${isIn[1]} == "b", or {% case ${isIn[1]} %}{% when "a", "b" %}`,
    ];
  const compare = /([A-Za-z_][\w.-]*)\s*(==|!=)\s*(true|false)\b|\b(true|false)\s*(==|!=)\s*([A-Za-z_][\w.-]*)/g;
  for (let m = compare.exec(bare); m !== null; m = compare.exec(bare)) {
    const name = m[1] ?? m[6]!;
    const literal = m[3] ?? m[4]!;
    if (!strings.has(name.split(".")[0]!)) continue;
    yield [
      offset,
      `${name} ${m[2] ?? m[5]} ${literal} compares a string with liquid's boolean ${literal}, which is never equal (every value bakeplan gives templates is a string); write ${name} ${m[2] ?? m[5]} "${literal}"`,
    ];
  }
}

/** The offsets of `{# ... #}` in text; `${#name}` (the shell's length of a variable) is not one. */
function* jinjaComments(text: string, begin: number, end: number): Generator<number> {
  for (let i = text.indexOf("{#", begin); i >= 0 && i < end - 1; i = text.indexOf("{#", i + 2)) {
    if (text[i - 1] === "$") continue;
    const close = text.indexOf("#}", i + 2);
    if (close >= 0 && close + 2 <= end) yield i;
  }
}

/** The expression with the text of its quoted strings blanked, so a quoted " in " is no operator. */
function unquoted(expression: string): string {
  return expression.replace(/"[^"]*"|'[^']*'/g, (s) => `"${" ".repeat(Math.max(0, s.length - 2))}"`);
}

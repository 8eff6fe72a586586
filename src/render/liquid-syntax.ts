// The top-level tokens of a liquid template, split exactly as liquidjs 10.30.1 splits them (its
// Tokenizer: readTopLevelToken, readTagToken, readOutputToken, readHTMLToken, and whiteSpaceCtrl;
// https://github.com/harttle/liquidjs/blob/v10.30.1/src/parser/tokenizer.ts), without loading
// liquidjs. Where this module and liquidjs could disagree (a `{% raw %}` block, an unclosed tag)
// it gives up instead, and the template is rendered by liquidjs.

// liquidjs's character classes (src/util/character.ts): BLANK is skipped around names and values
// and trimmed by `{%-`/`-%}`; a "word" character continues a name.
const BLANK_CODES = new Set([
  9, 10, 11, 12, 13, 32, 160, 5760, 6158, 8192, 8193, 8194, 8195, 8196, 8197, 8198, 8199, 8200, 8201, 8202, 8232, 8233,
  8239, 8287, 12288,
]);

const ASCII_BLANK = new Uint8Array(128);
for (const code of BLANK_CODES) if (code < 128) ASCII_BLANK[code] = 1;

export function isBlank(code: number): boolean {
  return code < 128 ? ASCII_BLANK[code] === 1 : BLANK_CODES.has(code);
}

/** liquidjs's isWord: ASCII letters, digits, `_`, `-`, `?`, and any other character that is neither blank nor a curly quote. */
export function isWordChar(code: number): boolean {
  if (code >= 128) return !BLANK_CODES.has(code) && code !== 8220 && code !== 8221;
  return (
    (code >= 97 && code <= 122) ||
    (code >= 65 && code <= 90) ||
    (code >= 48 && code <= 57) ||
    code === 95 ||
    code === 45 ||
    code === 63
  );
}

/** A regex character class of liquidjs's blanks, for patterns over tag arguments. */
export const BLANK_CLASS = "[\\t\\n\\v\\f\\r \\u00a0\\u1680\\u180e\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";

export interface HtmlToken {
  kind: "html";
  begin: number;
  end: number;
  /** Characters whitespace control removes at each end. */
  trimLeft: number;
  trimRight: number;
}

export interface TagToken {
  kind: "tag";
  begin: number;
  end: number;
  name: string;
  /** What follows the name, blanks around it removed (liquidjs's `TagToken.args`). */
  args: string;
  trimLeft: boolean;
  trimRight: boolean;
}

export interface OutputToken {
  kind: "output";
  begin: number;
  end: number;
  /** Between the delimiters, without `-` and surrounding blanks. */
  content: string;
  trimLeft: boolean;
  trimRight: boolean;
}

export type Token = HtmlToken | TagToken | OutputToken;

/** A template this module does not split the way liquidjs would, with the offset that says why. */
export interface Untokenizable {
  reason: string;
  offset: number;
}

export function tokenize(text: string): Token[] | Untokenizable {
  const tokens: Token[] = [];
  let p = 0;
  while (p < text.length) {
    if (text.startsWith("{%", p)) {
      // readToDelimiter("%}") without quotes: the first "%}" after the opening "{".
      const close = text.indexOf("%}", p + 1);
      if (close < 0) return { reason: "a tag that is not closed", offset: p };
      const token = tagToken(text, p, close + 2);
      if (token.name === "") return { reason: "a tag without a name", offset: p };
      // liquidjs reads what follows {% raw %} with other rules, up to the matching {% endraw %}.
      if (token.name === "raw") return { reason: "{% raw %}", offset: p };
      tokens.push(token);
      p = token.end;
    } else if (text.startsWith("{{", p)) {
      const end = outputEnd(text, p);
      if (end < 0) return { reason: "an output that is not closed", offset: p };
      const range = contentRange(text, p, end);
      tokens.push({ kind: "output", begin: p, end, content: text.slice(range.l, range.r), ...trims(range) });
      p = end;
    } else {
      // Up to the next "{%" or "{{" (indexOf: most of a template is text, scanned once before the JIT has warmed up).
      let end = text.indexOf("{", p + 1);
      while (end >= 0 && text.charCodeAt(end + 1) !== 37 /* % */ && text.charCodeAt(end + 1) !== 123)
        end = text.indexOf("{", end + 1);
      if (end < 0) end = text.length;
      tokens.push({ kind: "html", begin: p, end, trimLeft: 0, trimRight: 0 });
      p = end;
    }
  }
  whitespaceControl(text, tokens);
  return tokens;
}

/** The text of an HTML token after whitespace control (liquidjs's HTMLToken.getContent). */
export function htmlContent(text: string, token: HtmlToken): string {
  return text.slice(token.begin + token.trimLeft, token.end - token.trimRight);
}

function trims(range: { trimLeft: boolean; trimRight: boolean }) {
  return { trimLeft: range.trimLeft, trimRight: range.trimRight };
}

/** liquidjs's DelimitedToken: a leading/trailing `-` asks for trimming; blanks around the content are dropped. */
function contentRange(text: string, begin: number, end: number) {
  const contentBegin = begin + 2;
  const contentEnd = end - 2;
  const trimLeft = text[contentBegin] === "-";
  const trimRight = text[contentEnd - 1] === "-";
  let l = trimLeft ? contentBegin + 1 : contentBegin;
  let r = trimRight ? contentEnd - 1 : contentEnd;
  while (l < r && isBlank(text.charCodeAt(l))) l++;
  while (r > l && isBlank(text.charCodeAt(r - 1))) r--;
  return { l, r, trimLeft, trimRight };
}

/** liquidjs's TagToken: the name is `#` or a run of word characters; the rest, from the next non-blank, is `args`. */
function tagToken(text: string, begin: number, end: number): TagToken {
  const range = contentRange(text, begin, end);
  let p = range.l;
  let name: string;
  // readTagName checks for "#" without the tokenizer's end bound.
  if (text[p] === "#") {
    name = "#";
    p++;
  } else {
    while (p < range.r && isWordChar(text.charCodeAt(p))) p++;
    name = text.slice(range.l, p);
  }
  while (p < range.r && isBlank(text.charCodeAt(p))) p++;
  return { kind: "tag", begin, end, name, args: text.slice(p, range.r), ...trims(range) };
}

/** readToDelimiter("}}", respectQuoted): a quoted string may hold "}}". -1 when not closed. */
function outputEnd(text: string, begin: number): number {
  let p = begin;
  while (p < text.length) {
    const c = text.charCodeAt(p);
    if (c === 34 || c === 39) {
      // readQuoted: to the next unescaped copy of the opening quote, or to the end.
      let escaped = false;
      p++;
      while (p < text.length) {
        p++;
        if (text.charCodeAt(p - 1) === c && !escaped) break;
        if (escaped) escaped = false;
        else if (text.charCodeAt(p - 1) === 92 /* \ */) escaped = true;
      }
      continue;
    }
    p++;
    if (p >= 2 && text.charCodeAt(p - 1) === 125 && text.charCodeAt(p - 2) === 125) return p;
  }
  return -1;
}

/** liquidjs's whiteSpaceCtrl with `greedy: true`: `{%-` trims every blank before it, `-%}` every blank after it. */
function whitespaceControl(text: string, tokens: Token[]): void {
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.kind === "html") continue;
    const before = tokens[i - 1];
    if (token.trimLeft && before?.kind === "html")
      while (isBlank(text.charCodeAt(before.end - 1 - before.trimRight))) before.trimRight++;
    const after = tokens[i + 1];
    if (token.trimRight && after?.kind === "html")
      while (isBlank(text.charCodeAt(after.begin + after.trimLeft))) after.trimLeft++;
  }
}

// The performance fast paths give the same results as the straightforward code they replace:
// compiled liquid renders against liquidjs's own, analyzeDockerfile on lines that skip trimming and
// on lines that do not, tidy against its first (regex) version. No timings are asserted anywhere.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TopLevelToken } from "liquidjs";
import { analyzeDockerfile, tidy } from "../../src/render/dockerfile.js";
import { htmlContent, tokenize, type Token } from "../../src/render/liquid-syntax.js";
import { liquidjs } from "../../src/render/liquidjs.js";
import { TemplateEngine, type RenderCounts, type RenderInput } from "../../src/render/templates.js";
import { templateFiles } from "../helpers.js";

function referenceTidy(text: string): string {
  // Lines are what BuildKit splits on, "\n": a quoted ARG value may hold U+2028, which /$/m would end a line at.
  return `${text
    .split("\n")
    .map((line) => line.replace(/[ \t]+$/, ""))
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .replace(/^\n+/, "")
    .trimEnd()}\n`;
}

const dockerfileText = fc.string({
  unit: fc.constantFrom(
    "FROM a",
    "FROM --platform=x b AS s1",
    "from c as s2",
    "FROM d AS s1",
    "ARG A=1 B",
    "arg TARGETARCH",
    "ARG",
    "RUN x",
    " AS y",
    "a",
    " ",
    "\t",
    "\\",
    "\n",
    "\n",
    "\r",
    "#",
    "\u00a0",
    "\u2028",
    "\ufeff",
    "é",
  ),
  maxLength: 60,
});

describe("analyzeDockerfile and tidy", () => {
  it("analyzeDockerfile reads the same whether or not a line can skip trimming", () => {
    // A leading blank is trimmed away, but sends every line down the trim-and-match path.
    fc.assert(
      fc.property(dockerfileText, (text) => {
        const slow = text
          .split("\n")
          .map((line) => ` ${line}`)
          .join("\n");
        expect(analyzeDockerfile(text)).toEqual(analyzeDockerfile(slow));
      }),
      { numRuns: 3000 },
    );
  });

  it("tidy gives the reference's text", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(" ", "\t", "\n", "\n", "\r", "\u2028", "\u2029", "\u00a0", "a", "\\") }),
        (text) => {
          expect(tidy(text)).toBe(referenceTidy(text));
        },
      ),
      { numRuns: 3000 },
    );
  });
});

// Pieces of templates: the forms the fast paths take, and nearby ones they must hand to liquidjs.
const PIECES = [
  "text ",
  "\n",
  "{{ s }}",
  "{{ v.x }}",
  "{{ v['x'] }}",
  "{{ v.size }}",
  "{{ v.first }}",
  "{{ n }}",
  "{{ list }}",
  "{{ list.first }}",
  "{{ nul }}",
  "{{ s | upcase }}",
  "{{ 'lit' }}",
  "{{ missing }}",
  "{{ v.missing }}",
  "{{ obj.toLiquid }}",
  "{{ proto }}",
  "{% if s == 'a' %}A{{ s }}{% elsif v.x != \"b\" and s %}B{% else %}C{% endif %}",
  "{% if s contains 'a' or v.x == s %}D{% endif %}",
  "{% if n == 1 %}N{% endif %}",
  "{% if s == empty %}E{% endif %}",
  "{% if nul %}Z{% else %}z{% endif %}",
  "{% if missing == 'a' %}M{% endif %}",
  "{% if s %}{% if v.x == 'x' %}{{ v.x }}{% endif %}{% endif %}",
  "{% unless s == 'a' %}U{% endunless %}",
  "{% include 'part' %}",
  "{% include 'part', s: 'from-include' %}",
  "{% assign s = 'assigned' %}",
  "{% for i in list %}[{{ i }}{% if i == 'b' %}{% break %}{% endif %}]{% endfor %}",
  "{% capture c %}{{ s }}-{{ v.x }}{% endcapture %}{{ c }}",
  "{% case s %}{% when 'a' %}ca{% when 'b' %}cb{% else %}c?{% endcase %}",
  "{% arg A %}",
  "{% arg NOPE %}",
  "{% install_packages curl apt:x dnf:y %}",
  "{% raw %}{{ s }}{% endraw %}",
];

const scopeValue = fc.constantFrom("a", "b", "", "x y");

function renderBoth(files: Record<string, string>, input: Partial<RenderInput>) {
  const run = (compile: boolean) => {
    const engine = new TemplateEngine(templateFiles(files), "templates", { compile });
    try {
      // Twice: the second render goes through the parse cache (where the fast paths are installed).
      engine.render("Dockerfile.liquid", { scope: {}, args: new Map(), variantLabel: "t", ...input });
      return engine.render("Dockerfile.liquid", {
        scope: {},
        args: new Map(),

        variantLabel: "t",
        ...input,
      });
    } catch (e) {
      return { error: (e as Error).message };
    }
  };
  return { fast: run(true), slow: run(false) };
}

describe("accelerated liquid renders", () => {
  it("give liquidjs's output, ARG declarations and errors", () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...PIECES), { maxLength: 12 }),
        fc.array(fc.constantFrom(...PIECES.filter((p) => !p.includes("include"))), { maxLength: 4 }),
        scopeValue,
        scopeValue,
        fc.constantFrom<RenderInput["packageManager"]>("apt", "dnf", undefined),
        (main, part, s, x, packageManager) => {
          const files = { "Dockerfile.liquid": main.join(""), "part.liquid": part.join("") };
          const scope = {
            s,
            v: { x },
            n: 1,
            list: ["a", "b", "c"],
            nul: null,
            obj: { toLiquid: () => "tl" },
            proto: Object.create({ inherited: "i" }) as object,
          };
          const { fast, slow } = renderBoth(files, {
            scope,
            args: new Map([["A", "1 2"]]),
            ...(packageManager ? { packageManager } : {}),
          });
          expect(fast).toEqual(slow);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it("take the fast path and the slow path in one render, with the same result", () => {
    const files = {
      "Dockerfile.liquid":
        "FROM a AS runtime\n{% include 'part' %}{{ s }}{{ n }}{% if s == 'a' %}{{ list }}{% endif %}\n",
      "part.liquid": "{{ v.x }}|{{ v.size }}|{% if n == 1 %}one{% endif %}\n",
    };
    const { fast, slow } = renderBoth(files, { scope: { s: "a", n: 1, list: ["p", "q"], v: { x: "X" } } });
    expect(fast).toEqual(slow);
    expect("text" in fast && fast.text).toContain("X|1|one");
  });
});

/** Renders twice with each engine (the second from the parsed templates), on a fresh copy of the scope each time: {% increment %} changes it. */
function renderCompiledAndLiquidjs(files: Record<string, string>, input: RenderInput, counts: RenderCounts) {
  const run = (compile: boolean) => {
    const engine = new TemplateEngine(templateFiles(files), "templates", { compile });
    try {
      engine.render("Dockerfile.liquid", { ...input, scope: structuredClone(input.scope) });
      return engine.render("Dockerfile.liquid", { ...input, scope: structuredClone(input.scope) });
    } catch (e) {
      return { error: (e as Error).message };
    } finally {
      if (compile) {
        counts.compiled += engine.counts.compiled;
        counts.liquidjs += engine.counts.liquidjs;
        counts.liquidjsNodes += engine.counts.liquidjsNodes;
      }
    }
  };
  return { compiled: run(true), liquidjs: run(false) };
}

// Templates from a grammar of the forms the compiler takes and the ones it leaves to liquidjs,
// with whitespace control, liquidjs's blanks (a no-break space, U+2028) and near misses.
const blank = fc.constantFrom("", " ", " ", "  ", "\t", "\n", "\u00a0", "\u2028");
const tagOpen = fc.constantFrom("{%", "{%", "{%-");
const tagClose = fc.constantFrom("%}", "%}", "-%}");
const tag = (body: fc.Arbitrary<string>) =>
  fc.tuple(tagOpen, blank, body, blank, tagClose).map(([o, b1, t, b2, c]) => `${o}${b1 || " "}${t}${b2}${c}`);
const fixedTag = (body: string) => tag(fc.constant(body));

const PATHS = [
  "s",
  "v.x",
  "v['x']",
  'v["x"]',
  "v.size",
  "v.first",
  "list.first",
  "list.last",
  "list.size",
  "list.length",
  "empty_list.first",
  "n",
  "num",
  "flag",
  "nul",
  "nul.x",
  "missing",
  "v.missing",
  "s.size",
  "s.length",
  "size",
  "first",
  "a-b",
  "nested.deep.k",
  "list",
  "constructor",
  "v.constructor",
  "empty",
  "true",
  "nil",
  "s?",
  "v.1",
];
const QUOTED = ["'a'", '"b"', "''", "'x y'", '"it\'s"', "'a,b'", "'it\\'s'", "'a'x"];
const operand = fc.constantFrom(...PATHS, ...QUOTED);
const operator = fc.constantFrom("==", "!=", "contains", "and", "or", ">", "<=", "not", "==");
const operatorBlank = fc.constantFrom(" ", " ", " ", "", "  ", "\u00a0", "\n");
const condition = fc
  .tuple(operand, fc.array(fc.tuple(operatorBlank, operator, operatorBlank, operand), { maxLength: 3 }))
  .map(([first, rest]) => first + rest.map(([b1, op, b2, o]) => `${b1}${op}${b2}${o}`).join(""));
const whenList = fc
  .tuple(operand, fc.array(fc.tuple(fc.constantFrom(", ", ",", " or ", " ,", " "), operand), { maxLength: 2 }))
  .map(([first, rest]) => first + rest.map(([sep, o]) => sep + o).join(""));
const text = fc.string({
  unit: fc.constantFrom("a", "B", " ", "\n", "\n", "\t", "\u00a0", "\r", "{", "}", "%", "-", "'", "RUN x", "\n  "),
  maxLength: 8,
});
const output = fc
  .tuple(
    fc.constantFrom("{{", "{{-"),
    blank,
    fc.oneof(operand, fc.constantFrom("s | upcase", "'lit'", "s == 'a'", "v.x | size")),
    blank,
    fc.constantFrom("}}", "-}}"),
  )
  .map(([o, b1, e, b2, c]) => `${o}${b1}${e}${b2}${c}`);
const leaf = (includes: boolean) =>
  fc.oneof(
    { weight: 4, arbitrary: text },
    { weight: 4, arbitrary: output },
    {
      weight: includes ? 2 : 0,
      arbitrary: tag(
        fc.constantFrom(
          "include 'part'",
          'include "part.liquid"',
          "include 'part', s: 'inc'",
          "include './part'",
          "include 'nope'",
          "include s",
        ),
      ),
    },
    { weight: 2, arbitrary: tag(fc.constantFrom("arg A", "arg A B", "arg NOPE", "arg 1X", "arg TARGETARCH")) },
    {
      weight: 1,
      arbitrary: tag(
        fc.constantFrom("install_packages curl apt:x dnf:y", "install_packages manager=apk z", "install_packages"),
      ),
    },
    {
      weight: 1,
      arbitrary: tag(
        fc.constantFrom("# a note", "echo s", "assign s = 'assigned'", "increment k", "break", "cycle 'a', 'b'"),
      ),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "{% raw %}{{ s }}{% endraw %}",
        "{% capture c %}{{ s }}{% endcapture %}{{ c }}",
        "{% endif %}",
        "{% else %}",
        "{%",
        "{{ s",
      ),
    },
  );

function templateGrammar(includes: boolean) {
  return fc.letrec<{ node: string; body: string }>((self) => ({
    body: fc.array(self("node"), { maxLength: 4 }).map((nodes) => nodes.join("")),
    node: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      { weight: 6, arbitrary: leaf(includes) },
      {
        weight: 2,
        arbitrary: fc
          .tuple(
            fc.constantFrom("if", "unless"),
            tag(condition),
            self("body"),
            fc.array(fc.tuple(tag(condition.map((c) => `elsif ${c}`)), self("body")), { maxLength: 2 }),
            fc.option(fc.tuple(fixedTag("else"), self("body")), { nil: undefined }),
            blank,
          )
          .map(([name, open, body, elsifs, otherwise]) => {
            const start = open.replace(/^(\{%-?\s*)/, `$1${name} `);
            const end = name === "if" ? "endif" : "endunless";
            return `${start}${body}${elsifs.map(([t, b]) => t + b).join("")}${otherwise ? otherwise.join("") : ""}{% ${end} %}`;
          }),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(
            tag(operand.map((o) => `case ${o}`)),
            text,
            fc.array(fc.tuple(tag(whenList.map((w) => `when ${w}`)), self("body")), { minLength: 1, maxLength: 3 }),
            fc.option(fc.tuple(fixedTag("else"), self("body")), { nil: undefined }),
          )
          .map(
            ([open, prelude, whens, otherwise]) =>
              `${open}${prelude}${whens.map(([t, b]) => t + b).join("")}${otherwise ? otherwise.join("") : ""}{%- endcase %}`,
          ),
      },
      {
        weight: 1,
        arbitrary: fc.tuple(fixedTag("comment"), self("body"), fixedTag("endcomment")).map((parts) => parts.join("")),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(tag(fc.constantFrom("for i in list", "for i in (1..3)", "tablerow i in list")), self("body"))
          .map(([open, body]) => `${open}{{ i }}${body}{% ${open.includes("tablerow") ? "endtablerow" : "endfor"} %}`),
      },
    ),
  })).body;
}

const word = fc.constantFrom("a", "b", "", "x y", "it's", "a,b", "B");
const plainScope = fc.record(
  {
    s: word,
    v: fc.record({ x: word, size: fc.constantFrom(2, "big") }, { requiredKeys: ["x"] }),
    list: fc.array(word, { maxLength: 3 }),
    empty_list: fc.constant([]),
    n: fc.constantFrom(0, 1, 2.5, -0, 1e21),
    num: fc.constantFrom(0, 1),
    flag: fc.boolean(),
    nul: fc.constant(null),
    "a-b": word,
    nested: fc.record({ deep: fc.record({ k: word }) }),
    size: fc.constantFrom(3, "three"),
  },
  { requiredKeys: ["s", "v", "list", "n", "nul", "nested"] },
);

// BAKEPLAN_TEMPLATE_RUNS=100000 for a longer search (about 1 ms a run).
const TEMPLATE_RUNS = Number(process.env.BAKEPLAN_TEMPLATE_RUNS ?? 3000);

describe("compiled templates", () => {
  it(
    "render what liquidjs renders: text, ARG declarations and errors, over generated templates",
    { timeout: 60_000 + TEMPLATE_RUNS * 10 },
    () => {
      const counts: RenderCounts = { compiled: 0, liquidjs: 0, liquidjsNodes: 0 };
      fc.assert(
        fc.property(
          templateGrammar(true),
          templateGrammar(false),
          plainScope,
          fc.constantFrom<RenderInput["packageManager"]>("apt", "dnf", undefined),
          (main, part, scope, packageManager) => {
            const files = { "Dockerfile.liquid": main, "part.liquid": part };
            const args = new Map([
              ["A", "1 2"],
              ["B", "$b"],
            ]);
            const { compiled, liquidjs } = renderCompiledAndLiquidjs(
              files,
              { scope, args, packageManager, variantLabel: "t" },
              counts,
            );
            expect(compiled).toEqual(liquidjs);
          },
        ),
        { numRuns: TEMPLATE_RUNS },
      );
      // The grammar reaches every path: compiled renders, liquid nodes in them, and whole liquidjs renders.
      expect(counts.compiled).toBeGreaterThan(TEMPLATE_RUNS / 2);
      expect(counts.liquidjs).toBeGreaterThan(TEMPLATE_RUNS / 2);
      expect(counts.liquidjsNodes).toBeGreaterThan(TEMPLATE_RUNS / 10);
    },
  );
});

describe("the template tokenizer", () => {
  it("splits text as liquidjs's Tokenizer does, or gives up where liquidjs fails", () => {
    const { Tokenizer, defaultOptions } = liquidjs();
    const piece = fc.constantFrom(
      "{%",
      "%}",
      "{{",
      "}}",
      "{",
      "}",
      "%",
      "-",
      "'",
      '"',
      "\\",
      " ",
      "\n",
      "\t",
      "\u00a0",
      "\u2028",
      "\u3000",
      "if",
      "endif",
      "raw",
      "endraw",
      "#",
      "a",
      "x y",
      "{%-",
      "-%}",
      "{{-",
      "-}}",
      "{%}",
      "{{}}",
      "comment",
    );
    let compared = 0;
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => {
        const text = pieces.join("");
        const ours = tokenize(text);
        let theirs: TopLevelToken[] | undefined;
        try {
          theirs = new Tokenizer(text).readTopLevelTokens(defaultOptions);
        } catch {
          theirs = undefined;
        }
        if (!Array.isArray(ours)) return; // gave up: liquidjs renders the template
        compared++;
        expect(theirs).toBeDefined();
        expect(ours.map((t) => describeOurs(text, t))).toEqual(theirs!.map(describeTheirs));
      }),
      { numRuns: 5000 },
    );
    // Most generated texts are split, not given up on.
    expect(compared).toBeGreaterThan(2500);
  });
});

function describeOurs(text: string, t: Token): unknown[] {
  if (t.kind === "html") return ["html", t.begin, t.end, htmlContent(text, t)];
  if (t.kind === "tag") return ["tag", t.begin, t.end, t.name, t.args, t.trimLeft, t.trimRight];
  return ["output", t.begin, t.end, t.content, t.trimLeft, t.trimRight];
}

function describeTheirs(t: TopLevelToken): unknown[] {
  const { isHTMLToken, isTagToken, isOutputToken } = liquidjs().TypeGuards;
  if (isHTMLToken(t)) return ["html", t.begin, t.end, t.getContent()];
  if (isTagToken(t)) return ["tag", t.begin, t.end, t.name, t.args, t.trimLeft, t.trimRight];
  if (isOutputToken(t)) return ["output", t.begin, t.end, t.content, t.trimLeft, t.trimRight];
  return ["unexpected"];
}

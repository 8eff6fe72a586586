// The performance fast paths give the same results as the straightforward code they replace:
// liquid renders with and without accelerate.ts, analyzeDockerfile on lines that skip trimming and
// on lines that do not, tidy against its first (regex) version. No timings are asserted anywhere.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { analyzeDockerfile, tidy } from "../../src/render/dockerfile.js";
import { TemplateEngine, type RenderInput } from "../../src/render/templates.js";
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
  const run = (accelerate: boolean) => {
    const engine = new TemplateEngine(templateFiles(files), "templates", { accelerate });
    try {
      // Twice: the second render goes through the parse cache (where the fast paths are installed).
      engine.render("Dockerfile.liquid", { scope: {}, args: new Map(), hints: new Map(), variantLabel: "t", ...input });
      return engine.render("Dockerfile.liquid", {
        scope: {},
        args: new Map(),
        hints: new Map(),
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

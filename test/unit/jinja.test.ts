// Jinja2 constructs left in a ported template: an error at the line, saying what liquid writes.
import { describe, expect, it } from "vitest";
import { MINI_TEMPLATE, miniProject, runCli } from "../helpers.js";

async function planWith(extra: string) {
  const dir = miniProject({ "templates/Dockerfile.liquid": `${MINI_TEMPLATE}${extra}` });
  return runCli(["plan"], dir);
}

// MINI_TEMPLATE has 6 lines: what a case adds starts on line 7.
describe("Jinja2 constructs", () => {
  it.each([
    {
      name: "{% elif %}",
      text: '{% if framework == "vllm" %}RUN a\n{% elif framework == "sglang" %}RUN b\n{% endif %}\n',
      error: "templates/Dockerfile.liquid:8:1: {% elif %} is Jinja; liquid writes {% elsif ... %}",
    },
    {
      name: "a {# #} comment",
      text: "RUN a\n{# a Jinja note #}\n",
      error:
        "templates/Dockerfile.liquid:8:1: {# ... #} is a Jinja comment, which liquid copies into the Dockerfile as text; write {% comment %}...{% endcomment %}, or {% # note %} for one line",
    },
    {
      name: "x in [..]",
      text: '{% if framework in ["vllm", "sglang"] %}RUN a{% endif %}\n',
      error:
        'templates/Dockerfile.liquid:7:1: "framework in [...]" is Jinja; liquid has no "in" test: write framework == "a" or framework == "b", or {% case framework %}{% when "a", "b" %}',
    },
    {
      name: "x not in (..)",
      text: "{% if os not in ('ubi', 'rhel') %}RUN a{% endif %}\n",
      error:
        'templates/Dockerfile.liquid:7:1: "os not in (...)" is Jinja; liquid has no "in" test: write os != "a" and os != "b"',
    },
    {
      name: "== true against a string value",
      text: "{% if args.FW_REF == true %}RUN a{% endif %}\n",
      error:
        'templates/Dockerfile.liquid:7:1: args.FW_REF == true compares a string with liquid\'s boolean true, which is never equal (every value bakeplan gives templates is a string); write args.FW_REF == "true"',
    },
    {
      name: "false != x",
      text: "RUN x\n{% unless false != vars.debug %}RUN a{% endunless %}\n",
      error: "templates/Dockerfile.liquid:8:1: vars.debug != false compares a string with liquid's boolean false",
    },
    {
      name: "{% set %}",
      text: '{% set py = "3.12" %}\n',
      error:
        "templates/Dockerfile.liquid:7:1: {% set %} is Jinja; liquid writes {% assign name = value %} (or {% capture name %}...{% endcapture %} for a block)",
    },
    {
      name: "an inline if",
      text: 'RUN echo {{ "dev" if target == "dev" else "prod" }}\n',
      error:
        'templates/Dockerfile.liquid:7:10: "a if c else b" is Jinja\'s inline if; liquid writes {% if c %}{{ a }}{% else %}{{ b }}{% endif %}',
    },
    {
      name: "a filter called with parentheses",
      text: 'RUN echo {{ framework | default("none") }}\n',
      error:
        'templates/Dockerfile.liquid:7:10: "| default(...)" is a Jinja filter call; liquid writes a filter\'s arguments after a colon: | default: "a", "b"',
    },
    {
      name: "a filter called with parentheses in a tag",
      text: '{% assign fw = framework | replace("v", "w") %}RUN echo {{ fw }}\n',
      error: 'templates/Dockerfile.liquid:7:1: "| replace(...)" is a Jinja filter call',
    },
    {
      name: "Jinja's loop.index",
      text: "{% for i in (1..2) %}RUN echo {{ loop.index }}\n{% endfor %}\n",
      error:
        "templates/Dockerfile.liquid:7:31: loop.index is Jinja's loop variable; liquid's is forloop: write forloop.index",
    },
    {
      name: "Jinja's loop.revindex0, named differently in liquid",
      text: "{% for i in (1..2) %}{% if loop.revindex0 == 0 %}RUN echo last{% endif %}{% endfor %}\n",
      error:
        "templates/Dockerfile.liquid:7:22: loop.revindex0 is Jinja's loop variable; liquid's is forloop: write forloop.rindex0",
    },
  ])("$name", async ({ text, error }) => {
    const res = await planWith(text);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(error);
  });

  it("are all reported at once", async () => {
    const res = await planWith("{# one #}\n{% set a = 1 %}\n");
    expect(res.stderr).toMatch(
      /^bakeplan: 2 errors:\n {2}templates\/Dockerfile.liquid:7:1: \{# \.\.\. #\}.*\n {2}templates\/Dockerfile.liquid:8:1: \{% set %\}/,
    );
  });

  it("leave liquid alone: for loops, forloop, filters with a colon, the shell's ${#x}, quoted text, comments and booleans of assigned names", async () => {
    const res = await planWith(
      [
        "{% for i in (1..2) %}RUN echo {{ i }}{% endfor %}",
        'RUN a=(1 2); echo "${#a[@]}"',
        '{% if framework contains " in [" %}RUN no{% endif %}',
        "{% comment %}{# old #} {% set x = 1 %}{% endcomment %}",
        "{% assign flag = true %}{% if flag == true %}RUN yes{% endif %}",
        '{% for i in (1..2) %}RUN echo {{ forloop.index }} {{ i | plus: 1 }} {{ "| f(x) loop.index" }}{% endfor %}',
        "",
      ].join("\n"),
    );
    expect(res.stderr).toBe("");
    expect(res.code).toBe(0);
  });
});

it("a template that names its own loop variable keeps loop.NAME", async () => {
  const res = await planWith(
    "{% for loop in (1..2) %}RUN echo {{ loop }}{% endfor %}\n{% assign loop = framework %}RUN echo {{ loop.size }}\n",
  );
  expect(res.stderr).toBe("");
  expect(res.code).toBe(0);
});

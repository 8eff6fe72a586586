// The summary `bakeplan bake` prints, writes as JSON (--summary-json) and appends to
// $GITHUB_STEP_SUMMARY, from buildx's metadata and the per-target step counts.
import { describe, expect, it } from "vitest";
import {
  summarize,
  summaryJson,
  summaryMarkdown,
  summaryTable,
  type SummaryInput,
} from "../../src/command-support/build-summary.js";

const INDEX = "sha256:ec5cf929de3bc2ad29c27d11d88a8972e841f032832cb94879fbf10369ab3e34";
const TAGS = ["r/app:main-vllm", "r/app:latest-vllm", "r/app:0123abc-vllm"];
const input: SummaryInput = {
  targets: ["vllm", "sglang"],
  metadata: {
    vllm: {
      "containerimage.descriptor": { mediaType: "application/vnd.oci.image.index.v1+json", digest: INDEX },
      "containerimage.digest": INDEX,
      "image.name": TAGS.join(","),
    },
    sglang: { "image.name": "r/app:main-sglang" },
  },
  runs: new Map([
    ["vllm", { stats: { steps: 4, cached: 4, built: 0, errors: 0 }, durationMs: 1234 }],
    ["sglang", { stats: { steps: 5, cached: 2, built: 3, errors: 0 } }],
  ]),
  cacheRefs: (t) => ({ cacheFrom: [`type=registry,ref=r/cache:${t}-main`], cacheTo: [] }),
};

describe("build summary", () => {
  it("a compact table: the cache result, the digest with what it is, the first tag and how many more", () => {
    expect(summaryTable(summarize(input))).toBe(
      [
        "TARGET  CACHE               DIGEST                       TAGS",
        "vllm    fully cached        sha256:ec5cf929de3b (index)  r/app:main-vllm +2",
        "sglang  3 of 5 steps built  -                            r/app:main-sglang",
        "",
      ].join("\n"),
    );
  });

  it("JSON with every tag, the full digest, steps, duration and the cache refs", () => {
    const json = JSON.parse(summaryJson(summarize(input))) as { targets: unknown[] };
    expect(json.targets[0]).toEqual({
      target: "vllm",
      status: "cached",
      steps: { total: 4, cached: 4, built: 0 },
      durationSeconds: 1.2,
      digest: { kind: "index", digest: INDEX },
      tags: TAGS,
      cacheFrom: ["type=registry,ref=r/cache:vllm-main"],
      cacheTo: [],
    });
    expect(json.targets[1]).toMatchObject({ target: "sglang", status: "built", steps: { built: 3 } });
  });

  it("a failed bake: the failed target, the one it stopped, and the template line", () => {
    const summary = summarize({
      ...input,
      metadata: {},
      runs: new Map([
        ["vllm", { status: "stopped" }],
        ["sglang", { status: "failed", stats: { steps: 5, cached: 2, built: 2, errors: 1 } }],
      ]),
      failure: { targets: ["sglang"], at: "templates/sglang.liquid:7 (bake/sglang.Dockerfile:28)" },
    });
    expect(summary.targets.map((t) => t.status)).toEqual(["stopped", "failed"]);
    expect(summary.targets[1]!.steps).toEqual({ total: 5, cached: 2, built: 2, failed: 1 });
    expect(summaryTable(summary)).toBe(
      ["TARGET  CACHE    DIGEST  TAGS", "vllm    stopped  -       -", "sglang  failed   -       -", ""].join("\n"),
    );
    const md = summaryMarkdown(summary, "bakeplan bake all");
    expect(md).toContain("| `vllm` | ⏹️ stopped | - | - | - | - |");
    expect(md).toContain("| `sglang` | ❌ failed | 2/5 cached | - | - | - |");
    expect(md).toContain("**Failed:** `sglang` at `templates/sglang.liquid:7 (bake/sglang.Dockerfile:28)`");
  });

  it("a pool's summary has a BUILDER column, in the table and in Markdown", () => {
    const summary = summarize({
      ...input,
      runs: new Map([
        ["vllm", { builder: "bk-0", stats: { steps: 4, cached: 4, built: 0, errors: 0 } }],
        ["sglang", { builder: "bk-1", status: "not started" }],
      ]),
    });
    expect(summaryTable(summary).split("\n").slice(0, 3)).toEqual([
      "TARGET  BUILDER  CACHE         DIGEST                       TAGS",
      "vllm    bk-0     fully cached  sha256:ec5cf929de3b (index)  r/app:main-vllm +2",
      "sglang  bk-1     not started   -                            r/app:main-sglang",
    ]);
    expect(summaryMarkdown(summary, "t").split("\n")[2]).toBe(
      "| target | builder | result | steps | time | digest | tags |",
    );
  });

  it("names from an untrusted context.yaml cannot break out of a Markdown cell or code span", () => {
    const md = summaryMarkdown(
      summarize({ ...input, failure: { targets: ["x"], at: "templates/a`|b\n# h.liquid:1 (bake/x.Dockerfile:1)" } }),
      "bakeplan bake",
    );
    expect(md).toContain("**Failed:** `x` at `templates/a'\\|b # h.liquid:1 (bake/x.Dockerfile:1)`");
  });

  it("Markdown for GitHub's job summary, the tags folded away", () => {
    const md = summaryMarkdown(summarize(input), "bakeplan bake all");
    expect(md.split("\n").slice(0, 5)).toEqual([
      "### bakeplan bake all",
      "",
      "| target | result | steps | time | digest | tags |",
      "| --- | --- | --- | --- | --- | --- |",
      "| `vllm` | ✅ cached | 4/4 cached | 1.2s | `sha256:ec5cf929de3b` (index) | <details><summary>3 tags</summary>`r/app:main-vllm`<br>`r/app:latest-vllm`<br>`r/app:0123abc-vllm`</details> |",
    ]);
  });
});

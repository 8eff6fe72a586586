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
  stats: new Map([
    ["vllm", { steps: 4, cached: 4, built: 0, errors: 0 }],
    ["sglang", { steps: 5, cached: 2, built: 3, errors: 0 }],
  ]),
  durations: new Map([["vllm", 1234]]),
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

  it("a failed bake: the failed target, the ones it stopped, and the template line", () => {
    const summary = summarize({
      ...input,
      metadata: {},
      failure: { targets: ["sglang"], at: "templates/sglang.liquid:7 (bake/sglang.Dockerfile:28)" },
    });
    expect(summary.targets.map((t) => t.status)).toEqual(["not built", "failed"]);
    const md = summaryMarkdown(summary, "bakeplan bake all");
    expect(md).toContain("| `sglang` | ❌ failed | 2/5 cached | - | - | - |");
    expect(md).toContain("**Failed:** `sglang` at `templates/sglang.liquid:7 (bake/sglang.Dockerfile:28)`");
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

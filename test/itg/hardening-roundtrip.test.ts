// Hardening catalogue, "values round-trip" against the real tools: random strings as ARG values and
// labels either reach `docker buildx bake --print` (and BuildKit's reading of the Dockerfile ARG
// defaults) unchanged, or are refused with located errors and an untouched tree. One bake file
// per --print call carries a whole batch of generated values.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { isMap, LineCounter, parseDocument, stringify, type Scalar } from "yaml";
import { expect, it } from "vitest";
import { escapeBake } from "../../src/values.js";
import { runCli, testdir } from "../helpers.js";
import { expectTreeUnchanged, snapshotTree } from "../hardening-helpers.js";
import { describeWithDocker } from "./docker.js";

const FRAGMENTS = [
  "${",
  "%{",
  "$$",
  "$",
  "{",
  "}",
  "%",
  "${x}",
  "%{ if true }",
  "$${",
  '"',
  "'",
  "\\",
  "\\\\",
  "`",
  " ",
  "\t",
  "é",
  "日本",
  "😀",
  "\u0085",
  "\u2028",
  "\u00a0",
  ",",
  "=",
  "#",
  "a",
  "Z",
  "9",
  "\n",
  "\r",
  "\0",
  "\u0001",
  "AKIAIOSFODNN7EXAMPLE",
  "-----BEGIN RSA PRIVATE KEY-----",
  "e\u0301",
  "\u212B",
  "\u{2F800}",
];
const value = fc.oneof(
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 10 }).map((a) => a.join("")),
);
const labelKey = fc
  .oneof(
    fc.stringMatching(/^[a-z][a-z0-9.-]{0,20}$/),
    value.filter((k) => k !== ""),
  )
  .filter((k) => !k.startsWith("org.opencontainers."));
const batch = fc.record({
  args: fc.array(value, { minLength: 1, maxLength: 25 }),
  labels: fc.uniqueArray(fc.tuple(labelKey, value), { maxLength: 10, selector: ([k]) => k }),
});

interface Entry {
  kind: "args" | "labels";
  key: string;
  value: string;
  line: number;
}

/** context.yaml with every arg and label on a line of its own (double-quoted, never folded), and where each is. */
function project(args: string[], labels: [string, string][]): { yaml: string; entries: Entry[]; template: string } {
  const argMap = Object.fromEntries(args.map((v, i) => [`A${i}`, v]));
  const context = {
    project: { name: "roundtrip" },
    axes: { framework: ["x"], target: { runtime: { name: "" } } },
    stage_axis: "target",
    defaults: { args: argMap, labels: Object.fromEntries(labels) },
    publish: { registry: "", repository: "roundtrip/app", tags: ["{name}"] },
  };
  const yaml = stringify(context, {
    defaultStringType: "QUOTE_DOUBLE",
    defaultKeyType: "PLAIN",
    lineWidth: 0,
    minContentWidth: 0,
  });
  // Where each entry starts, read back from the YAML itself (a value may span lines).
  const lineCounter = new LineCounter();
  const doc = parseDocument(yaml, { lineCounter });
  // Keys are read from the YAML too: an object puts integer-like keys ("9") first, so the
  // document's order is not always the generated order.
  const generated = { args: new Map(Object.entries(argMap)), labels: new Map(labels) };
  const entries: Entry[] = [];
  for (const kind of ["args", "labels"] as const) {
    const map = doc.getIn(["defaults", kind], true);
    if (!isMap(map)) continue;
    for (const pair of map.items) {
      const key = pair.key as Scalar<string>;
      const v = generated[kind].get(key.value);
      expect(v, JSON.stringify(key.value)).toBeDefined();
      entries.push({ kind, key: key.value, value: v!, line: lineCounter.linePos(key.range![0]).line });
    }
  }
  expect(entries.length).toBe(args.length + labels.length);
  const names = args.map((_, i) => `A${i}`).join(" ");
  return { yaml, entries, template: `FROM scratch AS runtime\n${names ? `{% arg ${names} %}\n` : ""}` };
}

function bakePrint(dir: string): { args: Record<string, string>; labels: Record<string, string> } {
  const out = execFileSync("docker", ["buildx", "bake", "--print", "-f", "docker-bake.json", "x"], {
    cwd: dir,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const t = (
    JSON.parse(out) as { target: Record<string, { args?: Record<string, string>; labels?: Record<string, string> }> }
  ).target.x!;
  return { args: t.args ?? {}, labels: t.labels ?? {} };
}

/** Plans the batch; refused entries must each be reported at their own line with the tree untouched; the rest must plan. */
async function planBatch(args: string[], labels: [string, string][]): Promise<{ dir: string; accepted: Entry[] }> {
  const dir = testdir();
  mkdirSync(join(dir, "templates"));
  for (let attempt = 0; ; attempt++) {
    const p = project(args, labels);
    writeFileSync(join(dir, "context.yaml"), p.yaml);
    writeFileSync(join(dir, "templates/Dockerfile.liquid"), p.template);
    const before = snapshotTree(dir);
    const res = await runCli(["plan"], dir);
    if (res.code === 0) return { dir, accepted: p.entries };
    expect(attempt, `still refused without the refused entries:\n${res.stderr}`).toBe(0);
    // A clean refusal: exit 1, "N errors:" then exactly N located lines, each on a generated entry's line.
    expect(res.code).toBe(1);
    expectTreeUnchanged(dir, before);
    const count = /^bakeplan: (?:error|(\d+) errors):\n/.exec(res.stderr);
    expect(count, res.stderr).not.toBeNull();
    const located = [...res.stderr.matchAll(/^ {2}context\.yaml:(\d+):(\d+): defaults\.(args|labels)/gm)];
    expect(located.length, res.stderr).toBe(Number(count![1] ?? 1));
    const refused = new Set(located.map((m) => Number(m[1])));
    for (const line of refused)
      expect(
        p.entries.some((e) => e.line === line),
        `error at line ${line}:\n${res.stderr}`,
      ).toBe(true);
    // Only control characters (line breaks and NUL included; a tab is fine), lone surrogates, text
    // bake would NFC-normalise and secret-looking ARGs are refused; an ARG (a template can print it
    // with {{ args.X }}) also when it ends in a backslash or opens a here-document.
    for (const e of p.entries.filter((x) => refused.has(x.line))) {
      const text = e.value + e.key;
      const dockerfileRule = e.kind === "args" && (/\\[ \t]*$/.test(e.value) || /(?:^|[\s"'])\d*<</.test(e.value));
      expect(
        // eslint-disable-next-line no-control-regex -- the point
        /[\x00-\x08\x0a-\x1f\x7f\ufeff]|AKIA|PRIVATE KEY/.test(text) ||
          /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text) ||
          text.normalize("NFC") !== text ||
          dockerfileRule,
        JSON.stringify([e.key, e.value]),
      ).toBe(true);
    }
    args = p.entries.filter((e) => e.kind === "args" && !refused.has(e.line)).map((e) => e.value);
    labels = p.entries.filter((e) => e.kind === "labels" && !refused.has(e.line)).map((e) => [e.key, e.value]);
  }
}

describeWithDocker("buildx", "hardening: values round-trip through docker buildx bake --print", () => {
  it("every generated ARG value and label reaches bake unchanged, or is refused with a located error", async () => {
    await fc.assert(
      fc.asyncProperty(batch, async ({ args, labels }) => {
        const { dir, accepted } = await planBatch(args, labels);
        const printed = bakePrint(dir);
        for (const e of accepted) {
          // bake reads each JSON string as an HCL template and --print writes it back escaped
          // (buildx bake.go Target.MarshalJSON); label keys are printed as bake reads them.
          if (e.kind === "args") expect(printed.args[e.key], JSON.stringify(e.value)).toBe(escapeBake(e.value));
          else expect(printed.labels[e.key], JSON.stringify([e.key, e.value])).toBe(escapeBake(e.value));
        }
      }),
      {
        numRuns: 25,
        // Found by CI (seed 1045878716): "9" is written before "\0", so by index the refusal of
        // the NUL-named label was read as a refusal of label "9".
        examples: [
          [
            {
              args: [""],
              labels: [
                ["\u0000", ""],
                ["9", ""],
              ],
            },
          ],
        ],
      },
    );
  }, 300_000);
});

describeWithDocker("engine", "hardening: ARG defaults round-trip through BuildKit's Dockerfile parser", () => {
  it("every accepted ARG value is the default BuildKit reads from the rendered Dockerfile", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 25 }), async (args) => {
        const { dir, accepted } = await planBatch(args, []);
        const bake = JSON.parse(readFileSync(join(dir, "docker-bake.json"), "utf8")) as {
          target: Record<string, { dockerfile: string }>;
        };
        const out = execFileSync(
          "docker",
          [
            "buildx",
            "build",
            "--call",
            "outline,format=json",
            "--target",
            "runtime",
            "-f",
            bake.target.x!.dockerfile,
            ".",
          ],
          { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
        );
        const outline = JSON.parse(out) as { args?: { name: string; value?: string }[] };
        const defaults = new Map((outline.args ?? []).map((a) => [a.name, a.value ?? ""]));
        for (const e of accepted) expect(defaults.get(e.key), JSON.stringify(e.value)).toBe(e.value);
      }),
      { numRuns: 10 },
    );
  }, 300_000);
});

import { describe, expect, it } from "vitest";
import { inputIssues, overrideIssues, unusedValueWarnings } from "../../../src/plan/checks.js";
import { planTargets } from "../../../src/plan/targets.js";
import { templateReads } from "../../../src/render/variable-refs.js";
import { MINI_CONTEXT, MINI_TEMPLATE, templateFiles } from "../../helpers.js";
import { runStages } from "./stages.js";

describe("inputIssues", () => {
  it("refuses a line break in --image-version, --sha and --registry, at the flag", () => {
    expect(
      inputIssues({ version: "1\n2", sha: "abc", registry: "r\r", branch: "x\ny" }).map((i) => i.location),
    ).toEqual([
      { file: "command line", path: "--image-version" },
      { file: "command line", path: "--registry" },
    ]);
    expect(inputIssues({})).toEqual([]);
  });
});

describe("overrideIssues", () => {
  it("refuses a platform ARG and an ARG nothing declares, naming the declared ones", () => {
    const issues = overrideIssues(
      [
        { name: "TARGETARCH", value: "x" },
        { name: "FW_RF", value: "x" },
        { name: "FW_REF", value: "x" },
      ],
      new Set(["FW_REF", "BASE_IMAGE"]),
      [],
    );
    expect(issues.map((i) => [i.location?.path, i.message.slice(0, 60)])).toEqual([
      ["--set TARGETARCH", "TARGETARCH is set by BuildKit for each platform; a build arg"],
      ["--set FW_RF", "No rendered Dockerfile declares ARG FW_RF. Declared: BASE_IM"],
    ]);
    expect(issues[1]?.message).toMatch(/Declared: BASE_IMAGE, FW_REF$/);
  });

  it("takes vars.NAME of a template value some layer sets, with the closest name for one that none sets", () => {
    const issues = overrideIssues(
      [
        { name: "vars.setuptools", value: "70" },
        { name: "vars.setuptool", value: "70" },
      ],
      new Set(),
      ["python_sha", "setuptools"],
    );
    expect(issues.map((i) => [i.location?.path, i.message])).toEqual([
      [
        "--set vars.setuptool",
        "No layer of context.yaml sets the template value setuptool, so no template knows it. Did you mean vars.setuptools? Template values: python_sha, setuptools",
      ],
    ]);
  });
});

describe("unusedValueWarnings", () => {
  it("warns at each value no target's Dockerfile declares", () => {
    const yaml = MINI_CONTEXT.replace("  images:\n", "  args: {UNUSED: x}\n  images:\n").replace(
      "        FW_REF: s1",
      "        FW_REF: s1\n        ALSO_UNUSED: y",
    );
    const staged = runStages(yaml, templateFiles({ "Dockerfile.liquid": MINI_TEMPLATE }));
    const { targets } = planTargets(staged.project, staged.variants, staged);
    expect(
      unusedValueWarnings(staged.project, targets, templateReads(staged.templates)).map((w) => [
        w.location?.path,
        w.message,
      ]),
    ).toEqual([
      ["defaults.args.UNUSED", "ARG UNUSED is set here but no rendered Dockerfile declares it"],
      ["axes.framework.sglang.args.ALSO_UNUSED", "ARG ALSO_UNUSED is set here but no rendered Dockerfile declares it"],
    ]);
  });

  it("warns at a template value nothing reads, and not at an ARG or value a template reads by name", () => {
    const yaml = MINI_CONTEXT.replace(
      "  images:\n",
      "  args: {READ_ONLY: x}\n  vars: {python_sha: abc, unread: x, tagged: t}\n  images:\n",
    ).replace('  tags: ["{name}"]', '  tags: ["{vars.tagged}-{name}"]');
    const template = `${MINI_TEMPLATE}{% if args.READ_ONLY == "x" %}RUN echo {{ vars.python_sha }}{% endif %}\n`;
    const staged = runStages(yaml, templateFiles({ "Dockerfile.liquid": template }));
    const { targets } = planTargets(staged.project, staged.variants, staged);
    expect(
      unusedValueWarnings(staged.project, targets, templateReads(staged.templates)).map((w) => [
        w.location?.path,
        w.message,
      ]),
    ).toEqual([
      [
        "defaults.vars.unread",
        "Template value unread is set here but no template reads vars.unread and no tag or cache pattern names {vars.unread}",
      ],
    ]);
  });
});

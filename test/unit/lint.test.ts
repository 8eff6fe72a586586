// `bakeplan lint` without docker: the buildx run as data, and BuildKit's findings (captured from the
// real `docker buildx bake --call check,format=json`, test/fixtures/buildx/<version>/) mapped back
// to the template lines they came from.
import { describe, expect, it } from "vitest";
import {
  argSets,
  baseImageSets,
  formatFinding,
  lintArgv,
  mapFindings,
  parseCallCheck,
} from "../../src/commands/lint.js";
import { capturedBuildxVersions, capturedProjectPlan, capturedRun } from "../helpers.js";

const BETA_STEP = 'RUN sleep 1 && echo "beta=$BETA_REF" > /framework.txt';
const MAINTAINER = { file: "framework.liquid", from: BETA_STEP, to: `MAINTAINER nobody@example.com\n${BETA_STEP}` };

describe("lintArgv and --base-image", () => {
  it("one bake with --call check as JSON; --base-image sets each image ARG a target's Dockerfile declares", () => {
    const { plan } = capturedProjectPlan();
    const sets = baseImageSets(plan, ["alpha-cuda12", "beta-cuda12-dev"], "local/other:2");
    expect(sets).toEqual([
      "alpha-cuda12.args.BASE_IMAGE=local/other:2",
      "beta-cuda12-dev.args.BASE_IMAGE=local/other:2",
    ]);
    expect(lintArgv({ file: "b.json", targets: ["alpha-cuda12"], sets, builder: "ci" })).toEqual([
      "buildx",
      "bake",
      "-f",
      "b.json",
      "--builder",
      "ci",
      "--call=check,format=json",
      "--set",
      "alpha-cuda12.args.BASE_IMAGE=local/other:2",
      "--set",
      "beta-cuda12-dev.args.BASE_IMAGE=local/other:2",
      "alpha-cuda12",
    ]);
  });

  it("--set NAME=VALUE of an ARG is a build arg of each target whose Dockerfile declares it (the tree is not rewritten)", () => {
    const { plan } = capturedProjectPlan();
    const set = [
      { name: "BETA_REF", value: "v9" },
      { name: "vars.motd", value: "not an ARG" },
    ];
    expect(argSets(plan, ["alpha-cuda12", "beta-cuda12-dev"], set)).toEqual(["beta-cuda12-dev.args.BETA_REF=v9"]);
  });

  it("anything but a JSON object on stdout means buildx failed before checking", () => {
    expect(parseCallCheck("")).toBeUndefined();
    expect(parseCallCheck("ERROR: failed to find target nope")).toBeUndefined();
    expect(parseCallCheck("null")).toBeUndefined();
    expect(parseCallCheck("{}")).toEqual({});
  });
});

describe.each(capturedBuildxVersions())("with buildx %s's output", (version) => {
  it("no findings: nothing to report", () => {
    const capture = capturedRun(version, "lint-clean");
    const { plan, templates } = capturedProjectPlan();
    const targets = ["alpha-cuda12", "beta-cuda12"];
    expect(lintArgv({ file: "docker-bake.json", targets, sets: [], builder: undefined })).toEqual(capture.argv);
    expect(capture.exitCode).toBe(0);
    expect(mapFindings(plan, targets, parseCallCheck(capture.stdout)!, templates, "templates")).toEqual({
      findings: [],
      errors: [],
    });
  });

  it("a finding once per template line, with every Dockerfile line it became and every target that reported it", () => {
    const capture = capturedRun(version, "lint-findings");
    const { plan, templates } = capturedProjectPlan(MAINTAINER);
    const targets = ["alpha-cuda12", "beta-cuda12", "beta-cuda12-dev", "beta-cuda13"];
    expect(lintArgv({ file: "docker-bake.json", targets, sets: [], builder: undefined })).toEqual(capture.argv);
    // buildx exits 1 when a check warns; lint reports the findings instead of that exit code.
    expect(capture.exitCode).toBe(1);
    const line = templates.get("framework.liquid")!.split("\n").indexOf("MAINTAINER nobody@example.com") + 1;
    const dockerfileLine = (name: string) =>
      plan.files
        .find((f) => f.path === `bake/${name}.Dockerfile`)!
        .content.split("\n")
        .indexOf("MAINTAINER nobody@example.com") + 1;
    const { findings, errors } = mapFindings(plan, targets, parseCallCheck(capture.stdout)!, templates, "templates");
    expect(errors).toEqual([]);
    expect(findings.map(formatFinding)).toEqual([
      `templates/framework.liquid:${line}: MaintainerDeprecated: Maintainer instruction is deprecated in favor of using label (bake/beta-cuda12-dev.Dockerfile:${dockerfileLine("beta-cuda12-dev")}, bake/beta-cuda12.Dockerfile:${dockerfileLine("beta-cuda12")}, bake/beta-cuda13.Dockerfile:${dockerfileLine("beta-cuda13")}; beta-cuda12, beta-cuda12-dev, beta-cuda13) https://docs.docker.com/go/dockerfile/rule/maintainer-deprecated/`,
    ]);
  });

  it("a check that stopped (a base image buildx cannot resolve): the target's error at the template line", () => {
    const capture = capturedRun(version, "lint-unresolvable-base");
    const { plan, templates } = capturedProjectPlan();
    const sets = baseImageSets(plan, ["alpha-cuda12"], "nope.invalid/x:1");
    expect(lintArgv({ file: "docker-bake.json", targets: ["alpha-cuda12"], sets, builder: undefined })).toEqual(
      capture.argv,
    );
    expect(capture.exitCode).toBe(1);
    const fromLine = templates.get("Dockerfile.liquid")!.split("\n").indexOf("FROM ${BASE_IMAGE} AS shared") + 1;
    const { findings, errors } = mapFindings(
      plan,
      ["alpha-cuda12"],
      parseCallCheck(capture.stdout)!,
      templates,
      "templates",
    );
    expect(findings).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      new RegExp(
        `^alpha-cuda12: templates/Dockerfile\\.liquid:${fromLine}: nope\\.invalid/x:1: failed to resolve source metadata for nope\\.invalid/x:1: `,
      ),
    );
  });
});

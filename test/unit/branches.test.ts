import { describe, expect, it } from "vitest";
import { branchKindOf, branchPatternProblem, matchesBranch } from "../../src/config/branches.js";

describe("branch patterns", () => {
  it.each([
    ["main", "main", true],
    ["main", "main2", false],
    ["release/*", "release/1.0", true],
    ["release/*", "release/1.0/hotfix", false],
    ["release/**", "release/1.0/hotfix", true],
    ["release/**", "release/", true],
    ["release-*", "release-2.1", true],
    ["*", "feat-x", true],
    ["*", "feat/x", false],
    ["**", "feat/x", true],
    ["feat/*-ci", "feat/x-ci", true],
    ["v1.0", "v1x0", false],
    ["a+b", "a+b", true],
  ])("%s matches %s: %s", (pattern, branch, expected) => {
    expect(branchPatternProblem(pattern)).toBeUndefined();
    expect(matchesBranch([pattern], branch)).toBe(expected);
  });

  it.each([
    ["!main", 'negation with "!" is not supported'],
    ["release/[0-9]*", '"[" "]" cannot appear in a branch name'],
    ["rel?ase", '"?" cannot appear in a branch name'],
    ["a b", '" " cannot appear in a branch name'],
    ["a***", 'use "*" or "**", not "***"'],
  ])("refuses %j", (pattern, problem) => {
    expect(branchPatternProblem(pattern)).toContain(problem);
  });

  it("gives a branch the first kind that matches, and none without a branch", () => {
    const kinds = [
      { name: "main", patterns: ["main"] },
      { name: "release", patterns: ["release/*", "release-*"] },
      { name: "other", patterns: ["**"] },
    ];
    expect(branchKindOf(kinds, "main")).toBe("main");
    expect(branchKindOf(kinds, "release/1.0")).toBe("release");
    expect(branchKindOf(kinds, "release-2")).toBe("release");
    expect(branchKindOf(kinds, "feat/x")).toBe("other");
    expect(branchKindOf(kinds.slice(0, 2), "feat/x")).toBeUndefined();
    expect(branchKindOf(kinds, undefined)).toBeUndefined();
  });
});

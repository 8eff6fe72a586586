import { describe, expect, it } from "vitest";
import { cleanPath, PatternError, PatternMatcher, readIgnoreFile } from "../../../src/affected/dockerignore.js";

// The cases of moby/patternmatcher patternmatcher_test.go (TestMatches, TestMatch and friends),
// with their expected results: "exact" matches the file itself, "inexact" only through a parent
// directory (MatchesOrParentMatches), "fail" not at all.
type Pass = "exact" | "inexact" | "fail";
// prettier-ignore
const MATCHES: [string, string, Pass][] = [
  ["**", "file", "exact"], ["**", "file/", "exact"], ["**/", "file", "exact"], ["**/", "file/", "exact"],
  ["**", "/", "exact"], ["**/", "/", "exact"], ["**", "dir/file", "exact"], ["**/", "dir/file", "exact"],
  ["**", "dir/file/", "exact"], ["**/", "dir/file/", "exact"], ["**/**", "dir/file", "exact"],
  ["**/**", "dir/file/", "exact"], ["dir/**", "dir/file", "exact"], ["dir/**", "dir/file/", "exact"],
  ["dir/**", "dir/dir2/file", "exact"], ["dir/**", "dir/dir2/file/", "exact"], ["**/dir", "dir", "exact"],
  ["**/dir", "dir/file", "inexact"], ["**/dir2/*", "dir/dir2/file", "exact"], ["**/dir2/*", "dir/dir2/file/", "inexact"],
  ["**/dir2/**", "dir/dir2/dir3/file", "exact"], ["**/dir2/**", "dir/dir2/dir3/file/", "exact"],
  ["**file", "file", "exact"], ["**file", "dir/file", "exact"], ["**/file", "dir/file", "exact"],
  ["**file", "dir/dir/file", "exact"], ["**/file", "dir/dir/file", "exact"], ["**/file*", "dir/dir/file", "exact"],
  ["**/file*", "dir/dir/file.txt", "exact"], ["**/file*txt", "dir/dir/file.txt", "exact"],
  ["**/file*.txt", "dir/dir/file.txt", "exact"], ["**/file*.txt*", "dir/dir/file.txt", "exact"],
  ["**/**/*.txt", "dir/dir/file.txt", "exact"], ["**/**/*.txt2", "dir/dir/file.txt", "fail"],
  ["**/*.txt", "file.txt", "exact"], ["**/**/*.txt", "file.txt", "exact"], ["a**/*.txt", "a/file.txt", "exact"],
  ["a**/*.txt", "a/dir/file.txt", "exact"], ["a**/*.txt", "a/dir/dir/file.txt", "exact"],
  ["a/*.txt", "a/dir/file.txt", "fail"], ["a/*.txt", "a/file.txt", "exact"], ["a/*.txt**", "a/file.txt", "exact"],
  ["a[b-d]e", "ae", "fail"], ["a[b-d]e", "ace", "exact"], ["a[b-d]e", "aae", "fail"], ["a[^b-d]e", "aze", "exact"],
  [".*", ".foo", "exact"], [".*", "foo", "fail"], ["abc.def", "abcdef", "fail"], ["abc.def", "abc.def", "exact"],
  ["abc.def", "abcZdef", "fail"], ["abc?def", "abcZdef", "exact"], ["abc?def", "abcdef", "fail"],
  ["**/foo/bar", "foo/bar", "exact"], ["**/foo/bar", "dir/foo/bar", "exact"], ["**/foo/bar", "dir/dir2/foo/bar", "exact"],
  ["abc/**", "abc", "fail"], ["abc/**", "abc/def", "exact"], ["abc/**", "abc/def/ghi", "exact"],
  ["**/.foo", ".foo", "exact"], ["**/.foo", "bar.foo", "fail"], ["a(b)c/def", "a(b)c/def", "exact"],
  ["a(b)c/def", "a(b)c/xyz", "fail"], ["a.|)$(}+{bc", "a.|)$(}+{bc", "exact"],
  ["dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", "exact"],
  ["dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", "exact"],
  ["a\\\\", "a\\", "exact"], ["a\\*b", "a*b", "exact"],
];
// prettier-ignore
const MULTI: [string[], string, boolean][] = [
  [["**", "!util/docker/web"], "util/docker/web/foo", false],
  [["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", true],
  [["**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false],
  [["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false],
  // TestPatternMatchesFolderExclusions and friends; TestExclusionPatternMatchesPattern{Before,After}
  [["docs", "!docs/README.md"], "docs/README.md", false],
  [["docs/", "!docs/README.md"], "docs/README.md", false],
  [["docs/*", "!docs/README.md"], "docs/README.md", false],
  [["!fileutils.go", "*.go"], "fileutils.go", true],
  [["*.go", "!fileutils.go"], "fileutils.go", false],
  [["*"], "fileutils.go", true],
  [["*.go"], "fileutils.go", true],
  [[], "/any/path/there", false],
];
// TestMatch: Go's own filepath.Match cases (the ones that are not syntax errors).
// prettier-ignore
const GO_MATCH: [string, string, boolean][] = [
  ["abc", "abc", true], ["*", "abc", true], ["*c", "abc", true], ["a*", "a", true], ["a*", "abc", true],
  ["a*", "ab/c", true], ["a*/b", "abc/b", true], ["a*/b", "a/c/b", false], ["a*b*c*d*e*/f", "axbxcxdxe/f", true],
  ["a*b*c*d*e*/f", "axbxcxdxexxx/f", true], ["a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false],
  ["a*b*c*d*e*/f", "axbxcxdxexxx/fff", false], ["a*b?c*x", "abxbbxdbxebxczzx", true], ["a*b?c*x", "abxbbxdbxebxczzy", false],
  ["ab[c]", "abc", true], ["ab[b-d]", "abc", true], ["ab[e-g]", "abc", false], ["ab[^c]", "abc", false],
  ["ab[^b-d]", "abc", false], ["ab[^e-g]", "abc", true], ["a\\*b", "a*b", true], ["a\\*b", "ab", false],
  ["a?b", "a☺b", true], ["a[^a]b", "a☺b", true], ["a???b", "a☺b", false], ["a[^a][^a][^a]b", "a☺b", false],
  ["[a-ζ]*", "α", true], ["*[a-ζ]", "A", false], ["a?b", "a/b", false], ["a*b", "a/b", false],
  ["[\\]a]", "]", true], ["[\\-]", "-", true], ["[x\\-]", "x", true], ["[x\\-]", "-", true], ["[x\\-]", "z", false],
  ["[\\-x]", "x", true], ["[\\-x]", "-", true], ["[\\-x]", "a", false], ["*x", "xxx", true],
];
// prettier-ignore
const BAD = ["[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[", "[^", "[^bc", "a[", "!"];

describe("dockerignore (moby/patternmatcher)", () => {
  it.each(MATCHES)("%s against %s: %s", (pattern, text, pass) => {
    const pm = new PatternMatcher([pattern]);
    expect(pm.matchesExact(text)).toBe(pass === "exact");
    expect(pm.matchesOrParentMatches(text)).toBe(pass !== "fail");
  });

  it.each(MULTI)("%j against %s", (patterns, text, pass) => {
    expect(new PatternMatcher(patterns).matchesOrParentMatches(text)).toBe(pass);
  });

  it.each(GO_MATCH)("filepath.Match %s %s", (pattern, text, pass) => {
    expect(new PatternMatcher([pattern]).matchesOrParentMatches(cleanPath(text))).toBe(pass);
  });

  it.each(BAD)("refuses the bad pattern %s", (pattern) => {
    expect(() => new PatternMatcher([pattern])).toThrow(PatternError);
  });

  it("strips empty patterns and sees exclusions (TestCleanPatterns*)", () => {
    expect(new PatternMatcher(["docs", "config", ""]).exclusions).toBe(false);
    expect(new PatternMatcher(["docs", "  !docs/README.md"]).exclusions).toBe(true);
    expect(new PatternMatcher(["docs", "!docs/README.md  "]).exclusions).toBe(true);
  });

  it("reads an ignore file as ignorefile.ReadAll does", () => {
    const content = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ";
    expect(readIgnoreFile(content).patterns).toEqual([
      "test1",
      "test2",
      "a/file/here",
      "lastfile",
      "!inverted/abs/path",
      "!",
      "!",
    ]);
    expect(readIgnoreFile("\uFEFFa\r\nb").patterns).toEqual(["a", "b"]);
    expect(readIgnoreFile("x\n\n# c\ny").lines).toEqual([1, 4]);
  });
});

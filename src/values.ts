// Rules for values that leave bakeplan: Dockerfile ARG defaults, bake JSON strings, image references, tags.

/**
 * Where a string ends up. Every string bakeplan writes reaches the bake file (JSON, read by bake's
 * HCL), a Dockerfile (a template scope, the generated header), or both: a Dockerfile is the
 * stricter place, since a template may print a value anywhere on a line.
 */
export type TextPlace = "bake" | "dockerfile";

// eslint-disable-next-line no-control-regex -- the point: control characters other than tab
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// BuildKit's line continuation: the escape character, then only blanks, at the end of a line
// (frontend/dockerfile/parser/parser.go lineContinuationRegex).
const CONTINUATION = /\\[ \t]*$/;
// A word starting with [digits]<< in a RUN, COPY or ADD line opens a here-document that takes the
// following lines up to its terminator (parser.go reHeredoc, heredocsFromLine); the word is read
// after the shell lexer took its quotes off, so `"<<EOF"` or `''<<EOF` opens one too.
const HEREDOC = /(?:^|[\s"'])\d*<</;

function codePoint(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0")}`;
}

/**
 * Why `value` cannot be written where it goes: the one set of rules every string that reaches an
 * output passes (context.yaml, the command line, the environment, file names), each a sentence
 * that starts with "The <what> <name>". Empty when it is fine.
 */
export function checkValue(name: string, value: string, what: string, place: TextPlace = "bake"): string[] {
  const problems: string[] = [];
  // eslint-disable-next-line no-control-regex -- a name with a line break must not break the message either
  if (/[\x00-\x1f\x7f]/.test(name) || LONE_SURROGATE.test(name)) name = JSON.stringify(name);
  const the = `The ${what} ${name}`;
  if (/[\n\r]/.test(value))
    problems.push(`${the} contains a line break, which would start a new Dockerfile instruction; use a single line`);
  if (value.includes("\0")) problems.push(`${the} contains a NUL character`);
  else {
    const control = CONTROL.exec(value.replace(/[\n\r]/g, ""))?.[0];
    if (control !== undefined)
      problems.push(`${the} contains the control character ${codePoint(control)}; use printable text (a tab is fine)`);
  }
  // bake drops a leading U+FEFF (a byte-order mark) from a string (found by the fuzzer with buildx 0.29.1).
  if (value.includes("\ufeff"))
    problems.push(`${the} contains U+FEFF (a byte-order mark), which bake drops from the start of a string; remove it`);
  const lone = LONE_SURROGATE.exec(value)?.[0];
  if (lone !== undefined)
    problems.push(
      `${the} contains a lone UTF-16 surrogate (${codePoint(lone)}, e.g. a YAML "\\u${lone.charCodeAt(0).toString(16)}" escape without its pair), which has no UTF-8 form; write the character itself`,
    );
  // bake reads every string of the bake file through HCL, which normalises it to NFC (seen with
  // buildx 0.29.1 `bake --print`): the build would get different characters than the ones written.
  else if (value.normalize("NFC") !== value)
    problems.push(
      `${the} is not in Unicode normal form C; bake normalises every string, so the build would get different characters. Write it in NFC (${JSON.stringify(value.normalize("NFC"))})`,
    );
  if (place === "dockerfile") {
    if (CONTINUATION.test(value))
      problems.push(
        `${the} ends with a backslash, which would join the next Dockerfile line to the line a template prints it on; remove it, or end the value with another character`,
      );
    if (HEREDOC.test(value))
      problems.push(
        `${the} contains a word starting with "<<", which BuildKit reads as the start of a here-document in a RUN, COPY or ADD line (taking the lines after it); write it another way`,
      );
  }
  return problems;
}

const SECRET_NAME = /(^|_)(TOKEN|PASSWORD|PASSWD|SECRET|PRIVATE_KEY|API_KEY|ACCESS_KEY|SECRET_KEY|CREDENTIALS?)($|_)/i;
const SECRET_VALUE: [RegExp, string][] = [
  [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/, "an AWS access key id"],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a private key block"],
  [/\bgh[pousr]_[A-Za-z0-9]{36,}\b/, "a GitHub token"],
  [/\bxox[baprs]-[A-Za-z0-9-]{10,}/, "a Slack token"],
];

/** The error for an ARG that looks like a secret: why, and what to do instead. */
export function secretArgMessage(name: string, why: string): string {
  return `ARG ${name} looks like a secret (${why}); build args are stored in the image history. Declare a bake secret under \`secrets:\` and read it with RUN --mount=type=secret,id=... instead, or list ${name} in build.allow_secret_like if it is not a secret`;
}

/** Why an ARG looks like it carries a secret (build args end up in image history), or undefined. */
export function secretLikeReason(name: string, value: string): string | undefined {
  if (SECRET_NAME.test(name)) return `its name ${name} looks like a secret`;
  for (const [re, what] of SECRET_VALUE) if (re.test(value)) return `its value looks like ${what}`;
  return undefined;
}

const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
const DOMAIN =
  "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?";
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
const REFERENCE = new RegExp(
  `^(?:(${DOMAIN})/)?(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`,
);
const REPOSITORY = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const REGISTRY = new RegExp(`^${DOMAIN}$`);
const TAG_ONLY = new RegExp(`^${TAG}$`);

/** The distribution/reference grammar: [registry/]repo[:tag][@digest], repository lowercase. */
export function checkImageReference(ref: string): string[] {
  if (REFERENCE.test(ref)) return [];
  if (/[A-Z]/.test(ref.split(":")[0] ?? "") && REFERENCE.test(ref.toLowerCase()))
    return [`Invalid image reference "${ref}": the repository must be lowercase`];
  const tag = /:([^/:@]*)(@|$)/.exec(ref)?.[1];
  if (tag !== undefined && tag.length > 128)
    return [`Invalid image reference "${ref}": the tag is ${tag.length} characters, at most 128 are allowed`];
  return [
    `Invalid image reference "${ref}": expected [registry/]repository[:tag][@digest] with a lowercase repository`,
  ];
}

export function checkRepository(repo: string): string[] {
  return REPOSITORY.test(repo)
    ? []
    : [`Invalid repository "${repo}": use lowercase letters, digits and . _ - separated by /`];
}

export function checkRegistry(registry: string): string[] {
  return REGISTRY.test(registry) ? [] : [`Invalid registry "${registry}": expected a host name with an optional :port`];
}

export function checkTag(tag: string): string[] {
  if (tag.length > 128)
    return [`Invalid tag "${tag.slice(0, 40)}…": ${tag.length} characters, at most 128 are allowed`];
  return TAG_ONLY.test(tag)
    ? []
    : [`Invalid tag "${tag}": use letters, digits, _ . - and start with a letter, digit or _`];
}

/** What docker/metadata-action does to a branch name before it goes into a tag. */
export function sanitizeTagPart(s: string): string {
  return s
    .replace(/[^a-zA-Z0-9._-]+/g, "-")
    .replace(/^[.-]+/, "")
    .slice(0, 128);
}

/**
 * A target's platforms as tag text, as Dynamo's CI writes them (`sed 's|linux/||g; s/,/-/g'`):
 * `linux/amd64,linux/arm64` -> `amd64-arm64`.
 */
export function platformsPart(platforms: readonly string[]): string {
  return sanitizeTagPart(platforms.map((p) => p.replaceAll("linux/", "")).join("-"));
}

// Bake reads every JSON string as an HCL template: ${...} interpolates and %{...} is a directive.
// https://github.com/docker/buildx/blob/v0.29.1/bake/bake.go (Target.MarshalJSON escapes the same way)
export function escapeBake(s: string): string {
  // A function replacement: in a replacement string "$$" would mean a single "$".
  return s.replaceAll("${", () => "$${").replaceAll("%{", () => "%%{");
}

const BARE_ARG_VALUE = /^[A-Za-z0-9._\-/:@+,=]*$/;

/**
 * An ARG default that BuildKit reads back as exactly `value`: bare when it is plain, otherwise in
 * double quotes with \ " $ escaped, so ${...} reaches BuildKit literally, as a --build-arg would.
 */
export function dockerfileArgValue(value: string): string {
  if (value !== "" && BARE_ARG_VALUE.test(value)) return value;
  return `"${value.replace(/[\\"$]/g, (c) => `\\${c}`)}"`;
}

// The expansion forms a derived ARG default may use: the ones BuildKit's Dockerfile frontend
// expands in an ARG default (frontend/dockerfile/shell/lex.go processDollar) and expandWord in
// render/instructions.ts models. `${A:?msg}` (fails the build when unset) and `${A/p/r}` (not in
// every Dockerfile frontend) are left out.
const DERIVED_OPERATORS = [":-", ":+", "##", "%%", "-", "+", "#", "%"] as const;
const DERIVED_FORMS =
  "${NAME}, ${NAME:-word}, ${NAME-word}, ${NAME:+word}, ${NAME+word}, ${NAME#pattern}, ${NAME##pattern}, ${NAME%pattern}, ${NAME%%pattern}";
// Words and patterns inside ${...}: no blank, quote, backslash or brace, so nothing in them is
// read by the lexer as anything but text (a nested ${...} aside).
const DERIVED_WORD_CHAR = /[^\s"'`\\{}$]/;
const DERIVED_DEPTH = 4;

/** One `${...}` of a derived default: the ARG it reads. */
export interface DerivedReference {
  name: string;
  guarded: boolean;
}

/**
 * Why `text` cannot be a derived ARG default (`args: {X: {derived: "..."}}`), or undefined: every
 * `$` must open one of BuildKit's `${NAME...}` forms, whose words hold no blank, quote, backslash
 * or brace. Text outside the forms is literal, written escaped (derivedArgValue).
 */
export function derivedProblem(text: string): string | undefined {
  const parsed = parseDerived(text);
  if ("error" in parsed) return parsed.error;
  if (parsed.names.length === 0)
    return `It has no \${NAME} for BuildKit to expand; write it as a plain value ("${text}") instead of derived`;
  return undefined;
}

/**
 * The ARG names a derived default reads, in order (nested forms included). `guarded`: read by a
 * form that says what to write when it is unset (`:-`, `-`, `:+`, `+`), so an unset one is meant.
 */
export function derivedNames(text: string): DerivedReference[] {
  const parsed = parseDerived(text);
  return "error" in parsed ? [] : parsed.names;
}

type DerivedPart = { text: string; form?: undefined } | { form: string; text?: undefined };

function parseDerived(text: string): { names: DerivedReference[]; parts: DerivedPart[] } | { error: string } {
  const names: DerivedReference[] = [];
  const parts: DerivedPart[] = [];
  let literal = "";
  // One ${...} starting at i (text[i] === "$"): the index after its "}", or an error.
  const form = (i: number, depth: number): number | { error: string } => {
    const at = `at character ${i + 1}`;
    if (text[i + 1] !== "{")
      return {
        error: `Every "$" of a derived default must open \${NAME} (${at}): BuildKit would expand a bare $NAME too, so write \${NAME}; a literal "$" cannot appear in a derived default`,
      };
    if (depth > DERIVED_DEPTH) return { error: `\${...} nests more than ${DERIVED_DEPTH} deep (${at})` };
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 2))?.[0];
    if (name === undefined) return { error: `"\${" must be followed by an ARG name (${at}). Forms: ${DERIVED_FORMS}` };
    let j = i + 2 + name.length;
    if (j >= text.length) return { error: `\${${name}... is not closed with "}" (${at})` };
    const op = DERIVED_OPERATORS.find((o) => text.startsWith(o, j));
    names.push({ name, guarded: op !== undefined && /^:?[-+]$/.test(op) });
    if (text[j] === "}") return j + 1;
    if (op === undefined)
      return {
        error: `\${${name}${text[j] ?? ""}... is not a form bakeplan keeps for BuildKit to expand (${at}). Forms: ${DERIVED_FORMS}`,
      };
    for (j += op.length; j < text.length && text[j] !== "}";) {
      const c = text[j]!;
      if (c === "$") {
        const end = form(j, depth + 1);
        if (typeof end !== "number") return end;
        j = end;
      } else if (DERIVED_WORD_CHAR.test(c)) j++;
      else
        return {
          error: `The word of \${${name}${op}...} contains ${JSON.stringify(c)} (at character ${j + 1}); a derived default's words and patterns hold no blank, quote, backslash or brace`,
        };
    }
    if (j >= text.length) return { error: `\${${name}... is not closed with "}" (${at})` };
    return j + 1;
  };
  for (let i = 0; i < text.length;) {
    if (text[i] !== "$") {
      literal += text[i++];
      continue;
    }
    if (literal !== "") parts.push({ text: literal });
    literal = "";
    const end = form(i, 1);
    if (typeof end !== "number") return end;
    parts.push({ form: text.slice(i, end) });
    i = end;
  }
  if (literal !== "") parts.push({ text: literal });
  return { names, parts };
}

/**
 * A derived ARG default as written after `ARG NAME=`: its `${...}` forms as they are, for BuildKit
 * to expand; the text around them bare when plain, else the whole in double quotes with the text's
 * \ and " escaped (BuildKit expands ${...} inside double quotes too). Only for text derivedProblem accepts.
 */
export function derivedArgValue(text: string): string {
  const parsed = parseDerived(text);
  if ("error" in parsed) throw new Error(`derivedArgValue: ${parsed.error}`);
  const { parts } = parsed;
  const plain = parts.every((p) => p.text === undefined || BARE_ARG_VALUE.test(p.text));
  if (plain) return parts.map((p) => p.form ?? p.text).join("");
  return `"${parts.map((p) => p.form ?? p.text.replace(/[\\"]/g, (c) => `\\${c}`)).join("")}"`;
}

/** Where a value or a problem comes from: a file position plus the key path inside it. */
export interface SourceLocation {
  file: string;
  line?: number;
  col?: number;
  /** Key path inside the file, e.g. `axes.framework.vllm.args.VLLM_REF`, or a template name. */
  path?: string;
}

/** Where a value read from the environment is named in messages: `environment: BAKEPLAN_X: ...`. */
export const ENVIRONMENT = "environment";

export function formatLocation(loc: SourceLocation): string {
  // A file name with a line break or control character (from a hostile checkout) is quoted, so a message stays one line.
  // eslint-disable-next-line no-control-regex -- the point
  let s = /[\x00-\x1f\x7f]/.test(loc.file) ? JSON.stringify(loc.file) : loc.file;
  if (loc.line !== undefined) s += `:${loc.line}`;
  if (loc.line !== undefined && loc.col !== undefined) s += `:${loc.col}`;
  return loc.path ? `${s}: ${loc.path}` : s;
}

export interface Issue {
  message: string;
  location?: SourceLocation;
}

export function formatIssue(issue: Issue): string {
  // One problem, one line: a line break in it comes from a value the message quotes, shown as \n.
  const message = issue.message.replace(/\r|\n/g, (c) => (c === "\n" ? "\\n" : "\\r"));
  return issue.location ? `${formatLocation(issue.location)}: ${message}` : message;
}

/**
 * A problem the user can fix: printed as `bakeplan: error: <message>` without a stack, exit 1.
 * With a `location`, the message starts with it (`templates/x.liquid:2:4: ...`).
 */
export class UserError extends Error {
  constructor(message: string, options?: { cause?: unknown; location?: SourceLocation }) {
    super(options?.location ? `${formatLocation(options.location)}: ${message}` : message, options);
    this.name = new.target.name;
  }
}

/** Every problem found in context.yaml and the command-line values applied to it, each printed on its own line. */
export class ConfigError extends UserError {
  constructor(readonly issues: Issue[]) {
    super(issues.map(formatIssue).join("\n"));
  }
}

/** Bad command-line usage: an unknown option or command, a malformed value, an unknown target; exit 2. */
export class UsageError extends UserError {}

/** A docker or buildx command failed or could not start; bakeplan exits with its exit code. */
export class BuildxError extends UserError {
  /** The command after `docker`. */
  readonly argv: readonly string[];
  /** docker's exit code: 1 when it could not start, 130 when interrupted. */
  readonly exitCode: number;
  /** The end of docker's stderr when it was captured rather than shown; "" when the user saw it live. */
  readonly stderrTail: string;

  constructor(message: string, details: { argv: readonly string[]; exitCode?: number; stderrTail?: string }) {
    super(message);
    this.argv = details.argv;
    this.exitCode = details.exitCode ?? 1;
    this.stderrTail = details.stderrTail ?? "";
  }
}

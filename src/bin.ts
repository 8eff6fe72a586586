import type { Output } from "./command-support/types.js";
import { run } from "./cli.js";
import { BuildxError, ConfigError, UsageError, UserError } from "./errors.js";
import { sourceMappedStack } from "./io/stack-trace.js";
import { printable, shellQuote } from "./text.js";

/**
 * The process's stdout and stderr. A reader that goes away (`bakeplan list | head -1`) closes the
 * pipe: the rest of the output is dropped and the command ends as it would, without a stack trace
 * from the EPIPE that Node reports on the stream.
 */
function stdio(): Output {
  const closed = { out: false, err: false };
  const onError = (which: "out" | "err") => (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
    closed[which] = true;
  };
  process.stdout.on("error", onError("out"));
  process.stderr.on("error", onError("err"));
  return {
    out: (text) => void (closed.out || process.stdout.write(text)),
    err: (text) => void (closed.err || process.stderr.write(text)),
  };
}

/** The only place that turns errors into messages and exit codes. */
export async function main(argv: string[], output: Output = stdio()): Promise<number> {
  try {
    process.cwd();
  } catch {
    output.err(
      "bakeplan: error: the working directory no longer exists (it was deleted or moved); cd into a directory that exists and run bakeplan again\n",
    );
    return 1;
  }
  try {
    await run(argv, output);
    return 0;
  } catch (e) {
    output.err(printable(message(e)));
    return exitCode(e);
  }
}

/** 0 ok, 1 invalid input, drift or a failed check, 2 usage; buildx's own code when buildx failed. */
function exitCode(e: unknown): number {
  if (e instanceof UsageError) return 2;
  if (e instanceof BuildxError) return e.exitCode;
  return 1;
}

function message(e: unknown): string {
  if (e instanceof ConfigError)
    return `bakeplan: ${e.issues.length === 1 ? "error" : `${e.issues.length} errors`}:\n${indent(e.message)}`;
  if (e instanceof BuildxError && e.stderrTail !== "")
    return `bakeplan: error: ${e.message}\n${indent(`$ ${shellQuote(["docker", ...e.argv])}\n${e.stderrTail}`)}`;
  if (e instanceof UserError) return `bakeplan: error: ${e.message}\n`;
  return `bakeplan: internal error (this is a bug; please report it with the command you ran):\n${e instanceof Error ? (e.stack === undefined ? e.message : sourceMappedStack(e.stack)) : String(e)}\n`;
}

function indent(text: string): string {
  return `${text.replace(/\n$/, "").replace(/^/gm, "  ")}\n`;
}

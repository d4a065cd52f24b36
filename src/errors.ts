// One error type for everything a user can get wrong, with a code per kind (fflate's pattern).
// The CLI prints `gguf-quantize: <message>` and exits with the code's status; no stack unless --verbose.

export const ERRORS = {
  /** wrong command line: unknown option, missing argument, unknown type or preset */
  USAGE: 1,
  /** a file that is not what it claims: bad magic, truncated, hostile counts, bad values */
  BAD_FILE: 2,
  /** an importance matrix that does not fit the model */
  BAD_IMATRIX: 3,
  /** the model cannot be quantized as asked (llama.cpp refuses too) */
  REFUSED: 4,
  /** reading or writing failed (permissions, disk full, output equals input) */
  IO: 5,
  /** interrupted by a signal or cancelled */
  CANCELLED: 130,
} as const;

export type ErrorCode = keyof typeof ERRORS;

/**
 * A message as one printable line: control characters (which user text - a rule, a path, a key
 * read from a file - can carry) are shown as escapes, so a message can neither break the line nor
 * drive the terminal.
 */
export function oneLine(message: string): string {
  return message.replace(/[\x00-\x1f\x7f]/g, (c) => (c === "\n" ? "\\n" : c === "\r" ? "\\r" : c === "\t" ? "\\t" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));
}

export class QuantizeError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(oneLine(message), options);
    this.name = "QuantizeError";
    this.code = code;
  }
  get exitCode(): number { return ERRORS[this.code]; }
}

export function fail(code: ErrorCode, message: string): never {
  throw new QuantizeError(code, message);
}

/**
 * A failure of a ByteSource or ByteSink that is not ours (an errno from the OS, a DOMException from
 * a browser file) as an IO error naming the file; our own errors pass through unchanged.
 */
export function ioError(e: unknown, file: string, what: "read" | "write"): QuantizeError {
  if (e instanceof QuantizeError) return e;
  const code = (e as { code?: unknown } | undefined)?.code;
  const why = typeof code === "string" ? code : (e as Error | undefined)?.message ?? String(e);
  return new QuantizeError("IO", `${file}: ${what} failed: ${why}`, { cause: e });
}

/**
 * What the command-line tests share.
 *
 * @module
 */
import type { CommandIo } from "../src/cli/args.ts";

/**
 * A command's output channels that keep every line.
 *
 * @returns the channels, with the lines written to each
 */
export function capture(): CommandIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

/**
 * Entry point of `alfred bench` for a bundle (`deno bundle` does not follow
 * the CLI's dynamic imports): the GPU machine runs it without node_modules.
 *
 * @module
 */
import { benchCommand } from "../../src/cli/bench.ts";

Deno.exit(await benchCommand(Deno.args));

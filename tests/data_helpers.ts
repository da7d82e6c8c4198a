/**
 * What the data tests share.
 *
 * @module
 */

/**
 * Whether a path exists.
 *
 * @param path a file or folder
 * @returns `true` when `Deno.stat` finds it
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

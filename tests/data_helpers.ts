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

/**
 * Every file under a folder, recursively.
 *
 * @param dir the folder
 * @returns file paths
 */
export async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await walk(p));
    else if (e.isFile) out.push(p);
  }
  return out;
}

/**
 * Temporary files and folders that a live writer holds locked, so that what a killed process left
 * behind can be told apart from what a live one is still writing.
 *
 * Every atomic write in the stores goes through a temporary (`.tmp-…`) renamed into place when
 * complete; a process killed mid-write (`kill -9`, a crash, a second Ctrl-C) leaves it. The writer
 * holds an exclusive advisory lock (`flock`) while the temporary exists: on the temporary file
 * itself, or for a folder on a marker file `.owner` inside it. The kernel releases the lock when
 * the process ends, however it ends, so a lock that can be taken means the writer is gone. This
 * needs neither `/proc` (which Deno opens only with `--allow-all`) nor `--allow-run`, cannot be
 * fooled by a recycled pid, and holds on network shares whose locks work across hosts (NFS v4).
 * Names and markers also carry `<pid>@<host>`, for the log.
 *
 * {@linkcode removeStaleTemps} removes an entry only when its lock can be taken (a folder's marker
 * is locked before it takes its name; a temporary file, created an instant before it is locked,
 * must also be older than {@linkcode LOCK_GRACE_MS}). A temporary
 * with no lock to test (a folder without a marker, a file without an owner in its name: written
 * by versions before owners were recorded, or a store's trash folder) is removed once older than
 * an hour, longer than any write lasts.
 *
 * @module
 */
import { hostname } from "node:os";

/** The marker file inside a temporary folder, locked by its writer. */
export const OWNER_FILE = ".owner";

/** Temporaries with no lock to test are taken as a dead writer's after this long (1 hour). */
export const UNOWNED_STALE_MS = 3_600_000;

/** A temporary file's free lock counts once the file is this old (it is locked just after creation). */
export const LOCK_GRACE_MS = 2_000;

const TAG = /(?:^|\.)(\d+)@([A-Za-z0-9._-]+)$/;

let tag: string | null = null;

/**
 * This process as the owner named in temporaries: `<pid>@<host>`.
 *
 * @returns e.g. `12345@build-01`
 */
export function ownerTag(): string {
  if (tag === null) {
    let host = "";
    try {
      host = hostname().replace(/[^A-Za-z0-9._-]/g, "_");
    } catch { /* no --allow-sys: the host is only for the log */ }
    tag = `${Deno.pid}@${host || "unknown-host"}`;
  }
  return tag;
}

/**
 * A temporary's name naming this process: `<prefix><label>.<pid>@<host>`.
 *
 * @param prefix what the name starts with, e.g. `.tmp-` or `model.ckpt.tmp-`
 * @param label what it is, e.g. a hash and a random suffix
 * @returns the name (no folder)
 * @example
 * ```ts
 * tempName(".tmp-", "ab12cd34-5f6e7d8c"); // ".tmp-ab12cd34-5f6e7d8c.12345@build-01"
 * ```
 */
export function tempName(prefix: string, label: string): string {
  return `${prefix}${label}.${ownerTag()}`;
}

/**
 * The owner named at the end of a temporary's name, or in a marker's text.
 *
 * @param text a name made by {@linkcode tempName}, or a marker's content
 * @returns pid and host, or null when none is named
 */
export function parseOwner(text: string): { pid: number; host: string } | null {
  const m = TAG.exec(text.trim());
  return m ? { pid: Number(m[1]), host: m[2] } : null;
}

/** A lock held on a temporary while it is being written. */
export interface TempLock {
  /** Release the lock (close the file); harmless when called twice. */
  release(): void;
}

function holder(file: Deno.FsFile): TempLock {
  let open = true;
  return {
    release() {
      if (!open) return;
      open = false;
      try {
        file.close();
      } catch { /* already closed */ }
    },
  };
}

/**
 * Create `path` (it must not exist) and lock it for this process until the returned file is
 * closed.
 *
 * @param path the temporary file
 * @returns the open file, locked exclusively
 * @throws {Deno.errors.AlreadyExists} when the file exists
 */
export async function createLocked(path: string): Promise<Deno.FsFile> {
  const file = await Deno.open(path, { write: true, createNew: true });
  try {
    await file.lock(true);
  } catch (e) {
    file.close();
    throw e;
  }
  return file;
}

/**
 * Mark a temporary folder as this process's: a marker `.owner` naming the process, locked until
 * {@linkcode TempLock.release}. The marker is locked before it takes its name, so no cleaner sees
 * it unlocked.
 *
 * @param dir the folder (it must exist)
 * @returns the lock
 */
export async function claimFolder(dir: string): Promise<TempLock> {
  const staging = `${dir}/${OWNER_FILE}.${crypto.randomUUID().slice(0, 8)}`;
  const file = await createLocked(staging);
  try {
    await file.write(new TextEncoder().encode(`${ownerTag()}\n`));
    await Deno.rename(staging, `${dir}/${OWNER_FILE}`);
  } catch (e) {
    file.close();
    await Deno.remove(staging).catch(() => {});
    throw e;
  }
  return holder(file);
}

async function bytesUnder(path: string): Promise<number> {
  const st = await Deno.lstat(path).catch(() => null);
  if (!st) return 0;
  if (!st.isDirectory) return st.size;
  let total = 0;
  try {
    for await (const e of Deno.readDir(path)) total += await bytesUnder(`${path}/${e.name}`);
  } catch { /* removed meanwhile */ }
  return total;
}

/** One temporary {@linkcode removeStaleTemps} removed. */
export interface RemovedTemp {
  /** Where it was. */
  path: string;
  /** The bytes it held. */
  bytes: number;
  /** The writer named in it, or null. */
  owner: { pid: number; host: string } | null;
  /** `"lock"`: its writer's lock was free; `"age"`: no lock to test, and old. */
  why: "lock" | "age";
}

/** Options of {@linkcode removeStaleTemps}. */
export interface StaleOptions {
  /** Which entry names are temporaries (default: names containing `.tmp-`). */
  match?: RegExp;
  /** Age after which a temporary with no lock to test is removed (default 1 hour). */
  unownedAfterMs?: number;
  /** Told about each removal. */
  log?: (line: string) => void;
}

function size(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MB` : `${bytes} bytes`;
}

/**
 * Whether the writer of a temporary has ended: its lock can be taken and the locked file is older
 * than `graceMs`. Null when there is no lock to test.
 */
async function writerGone(lockPath: string, graceMs: number): Promise<boolean | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(lockPath, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
  try {
    if (!(await file.tryLock(true))) return false;
    const st = await file.stat();
    return graceMs === 0 || !st.mtime || Date.now() - st.mtime.getTime() >= graceMs;
  } catch {
    return false; // a file system without locks: cannot tell, keep it
  } finally {
    file.close();
  }
}

/**
 * Remove the temporaries in `dir` whose writer has ended: a temporary file named by
 * {@linkcode tempName}, or a folder marked by {@linkcode claimFolder}, whose lock can be taken.
 * Temporaries with no lock to test go once older than `unownedAfterMs`. A live writer's
 * temporary is never touched.
 *
 * @param dir the folder to look in (a missing folder has nothing to remove)
 * @param options which names are temporaries, the age for those without a lock, and a log
 * @returns what was removed
 */
export async function removeStaleTemps(
  dir: string,
  options: StaleOptions = {},
): Promise<RemovedTemp[]> {
  const match = options.match ?? /\.tmp-/;
  const unownedAfter = options.unownedAfterMs ?? UNOWNED_STALE_MS;
  const removed: RemovedTemp[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return [];
    throw e;
  }
  for (const entry of entries) {
    if (!match.test(entry.name)) continue;
    const path = `${dir.replace(/\/+$/, "")}/${entry.name}`;
    let owner = parseOwner(entry.name);
    let gone: boolean | null = null;
    if (entry.isDirectory) {
      gone = await writerGone(`${path}/${OWNER_FILE}`, 0);
      if (gone !== null) {
        owner = await Deno.readTextFile(`${path}/${OWNER_FILE}`).then(parseOwner, () => owner);
      }
    } else if (owner) {
      gone = await writerGone(path, LOCK_GRACE_MS);
    }
    if (gone === false) continue;
    if (gone === null) {
      const st = await Deno.lstat(path).catch(() => null);
      if (!st?.mtime || Date.now() - st.mtime.getTime() < unownedAfter) continue;
    }
    const bytes = await bytesUnder(path);
    try {
      await Deno.remove(path, { recursive: true });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      throw e;
    }
    const why = gone ? "lock" : "age";
    removed.push({ path, bytes, owner, why });
    options.log?.(
      `removed ${path} (${size(bytes)}): ` +
        (why === "lock"
          ? `left by ${
            owner ? `process ${owner.pid} on ${owner.host}` : "a process"
          }, which has ended`
          : `no writer to check and older than ${Math.round(unownedAfter / 60_000)} minutes`),
    );
  }
  return removed;
}

/**
 * Remove a file or folder (recursively); one already gone is fine.
 *
 * @param path what to remove
 * @throws {Deno.errors.PermissionDenied} and any other error than `NotFound`
 */
export async function removeIfExists(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

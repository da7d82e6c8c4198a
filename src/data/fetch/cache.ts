/**
 * The on-disk cache of raw fetcher responses (`.alfred/cache/fetch/` by default), so a fetch that
 * stopped half-way resumes where it stopped: a cached response is never fetched again.
 *
 * Layout: `<root>/<service>/<endpoint>/<symbol>-<hash>.json`, where the hash covers the service,
 * endpoint, symbol and request parameters. Secret parameters (API keys, crumbs) never take part in
 * the key, the file name or the file contents. `<root>/index.json` lists the completed items.
 * Every write is atomic (temporary file + rename).
 *
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { FETCH_CACHE_DIR } from "../../paths.ts";

/** Parameter names never used in a cache key, nor stored. */
const SECRET_PARAM = /^(apikey|api_key|key|token|crumb)$/i;

/** What identifies one cached response. */
export interface CacheKey {
  service: string;
  endpoint: string;
  symbol: string;
  /** Request parameters without secrets, sorted by name. */
  params: Record<string, string>;
  /** Path relative to the cache root. */
  file: string;
}

/** One entry of the completed-items index. */
export interface CacheIndexEntry {
  service: string;
  endpoint: string;
  symbol: string;
  params: Record<string, string>;
  fetchedAt: string;
  bytes: number;
}

/** A cache of raw responses on disk. */
export class FetchCache {
  /** @param root The cache folder (default {@linkcode FETCH_CACHE_DIR}). */
  constructor(readonly root: string = FETCH_CACHE_DIR) {}

  /**
   * The key of a request; parameters named like a secret (apikey, token, crumb) are dropped.
   *
   * @param service Service name, e.g. "yahoo".
   * @param endpoint Endpoint, e.g. "chart" or "EARNINGS".
   * @param symbol Ticker or series.
   * @param params Request parameters.
   * @returns The key.
   */
  keyOf(
    service: string,
    endpoint: string,
    symbol: string,
    params: Record<string, string>,
  ): CacheKey {
    const clean: Record<string, string> = {};
    for (const name of Object.keys(params).sort()) {
      if (!SECRET_PARAM.test(name)) clean[name] = params[name];
    }
    const hash = createHash("sha256")
      .update(JSON.stringify([service, endpoint, symbol, clean]))
      .digest("hex")
      .slice(0, 16);
    const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, "_");
    return {
      service,
      endpoint,
      symbol,
      params: clean,
      file: join(safe(service), safe(endpoint), `${safe(symbol)}-${hash}.json`),
    };
  }

  /**
   * The cached raw body of a request, or null when it was never completed.
   *
   * @param key The request's key.
   * @returns The body, or null.
   */
  async get(key: CacheKey): Promise<string | null> {
    try {
      const entry = JSON.parse(await Deno.readTextFile(join(this.root, key.file)));
      return typeof entry.body === "string" ? entry.body : null;
    } catch {
      return null;
    }
  }

  /**
   * Stores a raw body and records the item as completed in `index.json`.
   *
   * @param key The request's key.
   * @param body The raw response body (already validated by the caller).
   */
  async put(key: CacheKey, body: string): Promise<void> {
    const fetchedAt = new Date().toISOString();
    const record = {
      service: key.service,
      endpoint: key.endpoint,
      symbol: key.symbol,
      params: key.params,
      fetchedAt,
      body,
    };
    await atomicWrite(join(this.root, key.file), JSON.stringify(record));
    const index = await this.index();
    index[key.file] = {
      service: key.service,
      endpoint: key.endpoint,
      symbol: key.symbol,
      params: key.params,
      fetchedAt,
      bytes: body.length,
    };
    await atomicWrite(join(this.root, "index.json"), JSON.stringify(index, null, 1) + "\n");
  }

  /**
   * The completed items, by cache file.
   *
   * @returns The index (empty when there is none yet).
   */
  async index(): Promise<Record<string, CacheIndexEntry>> {
    try {
      return JSON.parse(await Deno.readTextFile(join(this.root, "index.json")));
    } catch {
      return {};
    }
  }
}

/** Writes a file via a temporary sibling and a rename. */
async function atomicWrite(path: string, text: string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.writeTextFile(tmp, text);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

// A static file server for the browser test: 127.0.0.1, an ephemeral port, GET only,
// a fixed map of URL prefixes to directories, no path outside them.

import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";

const types = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".yaml": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * Starts serving `routes` (URL prefix → directory). Resolves to `{ origin, close() }`.
 * @param {Record<string, string>} routes
 */
export async function startServer(routes) {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const prefix = Object.keys(routes).find((p) => path.startsWith(p));
    const root = prefix && routes[prefix];
    const file = root && normalize(join(root, path.slice(prefix.length)));
    if (req.method !== "GET" || !file || !file.startsWith(root + sep)) {
      res.writeHead(req.method === "GET" ? 404 : 405).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address();
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

// Serves the built viewer (dist/) on 127.0.0.1 with its Content-Security-Policy as a
// header. Usage: node serve.mjs [--port 8080]   (default 8080; 0 picks a free port)

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { contentSecurityPolicy, loadConfig } from "./config.mjs";
import { startServer } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const at = process.argv.indexOf("--port");
const port = at > 0 ? Number(process.argv[at + 1]) : 8080;
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error("usage: node serve.mjs [--port N]");
  process.exit(2);
}
const csp = contentSecurityPolicy(loadConfig(here), { frameAncestors: true });
const server = await startServer(join(here, "dist"), { port, csp });
console.log(`${server.origin}/`);
process.on("SIGINT", () => server.close().then(() => process.exit(0)));

// Builds Medusa's admin dashboard as a JWT single-page app served by Mercato at /app, with the
// marketplace extensions of src/admin. `make admin` runs it with ADMIN_AUTH_TYPE=jwt.
import { build } from "@medusajs/admin-bundler"
import path from "node:path"
import { fileURLToPath } from "node:url"

const here = path.dirname(fileURLToPath(import.meta.url))

if (process.env.ADMIN_AUTH_TYPE !== "jwt") {
  console.error("build.mjs: set ADMIN_AUTH_TYPE=jwt (Mercato has no cookie sessions); run make admin")
  process.exit(1)
}

await build({
  path: "/app",
  backendUrl: "/",
  outDir: path.join(here, "dist"),
  sources: [path.join(here, "src", "admin")],
  plugins: [],
})

import Medusa from "@medusajs/js-sdk"

/**
 * The extensions' one API client. Same origin as the dashboard (`baseUrl: "/"`) and the same JWT:
 * the js-sdk reads the token the dashboard stored under its default key (`medusa_auth_token`).
 * Mercato's own routes (order groups, sellers) go through `sdk.client.fetch`.
 */
export const sdk = new Medusa({
  baseUrl: "/",
  auth: { type: "jwt" },
})

/** The HTTP status of a failed `sdk.client.fetch` (js-sdk's `FetchError`), if any. */
export const errorStatus = (error: unknown): number | undefined => {
  if (error && typeof error === "object" && "status" in error) {
    const status = (error as { status?: unknown }).status
    return typeof status === "number" ? status : undefined
  }
  return undefined
}

/** The server's message of a failed request, else a generic one. */
export const errorMessage = (error: unknown): string => {
  if (error instanceof Error && error.message) {
    return error.message
  }
  return "Something went wrong"
}

/** A fresh idempotency key, one per user action (never reused across clicks). */
export const newIdempotencyKey = (): string => {
  if (typeof crypto !== "undefined" && "randomUUID" in crypto) {
    return crypto.randomUUID()
  }
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`
}

/**
 * Badge labels and colours, copied from the dashboard's own `src/lib/order-helpers.ts`
 * (`@medusajs/dashboard` 2.21.2) with its English translations (`i18n/translations/en.json`,
 * `orders.payment.status`, `orders.fulfillment.status`, `orders.status`) inlined: the extensions
 * never import dashboard internals, yet show an order's status exactly as the order pages do.
 */

export type BadgeColor = "green" | "red" | "orange" | "blue" | "grey" | "purple"
export type StatusBadgeInfo = { label: string; color: BadgeColor }

const PAYMENT_STATUS: Record<string, [string, BadgeColor]> = {
  not_paid: ["Not paid", "red"],
  authorized: ["Authorized", "orange"],
  partially_authorized: ["Partially authorized", "red"],
  awaiting: ["Awaiting", "orange"],
  captured: ["Captured", "green"],
  refunded: ["Refunded", "red"],
  partially_refunded: ["Partially refunded", "orange"],
  partially_captured: ["Partially captured", "orange"],
  canceled: ["Canceled", "red"],
  requires_action: ["Requires action", "orange"],
}

const FULFILLMENT_STATUS: Record<string, [string, BadgeColor]> = {
  not_fulfilled: ["Not fulfilled", "red"],
  partially_fulfilled: ["Partially fulfilled", "orange"],
  fulfilled: ["Fulfilled", "green"],
  partially_shipped: ["Partially shipped", "orange"],
  shipped: ["Shipped", "green"],
  delivered: ["Delivered", "green"],
  partially_delivered: ["Partially delivered", "orange"],
  partially_returned: ["Partially returned", "orange"],
  returned: ["Returned", "green"],
  canceled: ["Canceled", "red"],
  requires_action: ["Requires action", "orange"],
}

// The dashboard badges only `canceled` (getCanceledOrderStatus, red); the other labels are its
// `orders.status` translations, coloured like its other lifecycle badges.
const ORDER_STATUS: Record<string, [string, BadgeColor]> = {
  pending: ["Pending", "orange"],
  completed: ["Completed", "green"],
  draft: ["Draft", "grey"],
  archived: ["Archived", "grey"],
  canceled: ["Canceled", "red"],
  requires_action: ["Requires action", "orange"],
}

const SELLER_STATUS: Record<string, [string, BadgeColor]> = {
  active: ["Active", "green"],
  suspended: ["Suspended", "red"],
}

const humanize = (status: string): string => {
  const text = status.replace(/_/g, " ")
  return text.charAt(0).toUpperCase() + text.slice(1)
}

const lookup = (
  table: Record<string, [string, BadgeColor]>,
  status: string | null | undefined
): StatusBadgeInfo => {
  if (!status) {
    return { label: "-", color: "grey" }
  }
  const entry = table[status]
  return entry ? { label: entry[0], color: entry[1] } : { label: humanize(status), color: "grey" }
}

export const getOrderPaymentStatus = (status: string | null | undefined) =>
  lookup(PAYMENT_STATUS, status)

export const getOrderFulfillmentStatus = (status: string | null | undefined) =>
  lookup(FULFILLMENT_STATUS, status)

export const getOrderStatus = (status: string | null | undefined) => lookup(ORDER_STATUS, status)

export const getSellerStatus = (status: string | null | undefined) => lookup(SELLER_STATUS, status)

/** Filter choices, in the dashboard's order. */
export const PAYMENT_STATUS_OPTIONS = Object.keys(PAYMENT_STATUS).map((value) => ({
  value,
  label: PAYMENT_STATUS[value][0],
}))
export const ORDER_GROUP_STATUS_OPTIONS = ["pending", "completed", "archived", "canceled", "requires_action"].map(
  (value) => ({ value, label: ORDER_STATUS[value][0] })
)
export const SELLER_STATUS_OPTIONS = Object.keys(SELLER_STATUS).map((value) => ({
  value,
  label: SELLER_STATUS[value][0],
}))

/**
 * An amount in major units (Mercato's API, like Medusa's) in its currency (`currency_code` is
 * lower-case), formatted as the dashboard's `getLocaleAmount`: the browser's locale, the narrow
 * symbol, the currency's own decimals.
 */
export const formatMoney = (
  amount: number | null | undefined,
  currencyCode: string | null | undefined
): string => {
  if (amount === null || amount === undefined || Number.isNaN(Number(amount))) {
    return "-"
  }
  if (!currencyCode) {
    return String(amount)
  }
  try {
    return new Intl.NumberFormat([], {
      style: "currency",
      currencyDisplay: "narrowSymbol",
      currency: currencyCode.toUpperCase(),
    }).format(Number(amount))
  } catch {
    return `${amount} ${currencyCode.toUpperCase()}`
  }
}

/** A timestamp as a date, e.g. "6 Dec 2026" (the dashboard's order list shows dates alike). */
export const formatDate = (value: string | null | undefined): string => {
  if (!value) {
    return "-"
  }
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) {
    return "-"
  }
  return new Intl.DateTimeFormat([], { day: "numeric", month: "short", year: "numeric" }).format(date)
}

export const formatDateTime = (value: string | null | undefined): string => {
  if (!value) {
    return "-"
  }
  const date = new Date(value)
  if (Number.isNaN(date.getTime())) {
    return "-"
  }
  return new Intl.DateTimeFormat([], { dateStyle: "medium", timeStyle: "short" }).format(date)
}

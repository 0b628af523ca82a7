// End-to-end test of the admin dashboard at /app (admin-dashboard.md §9): Medusa's unforked
// dashboard driven in headless Chromium against a running `mercato serve` holding the demo seed
// and two `mercato demo checkout` groups. Every expectation is read from the API.
//
//   node admin/e2e/dashboard.mjs --base-url http://127.0.0.1:9000 [--chromium /usr/bin/chromium]
//
// Settings (argv wins over the environment):
//   --base-url     MERCATO_E2E_BASE_URL   the server (API and /app on one origin); required
//   --chromium     MERCATO_CHROMIUM       Chromium's executable; default: `chromium` on PATH
//   --artifacts    MERCATO_E2E_ARTIFACTS  screenshots and logs; default: <repo>/.e2e-artifacts
//   --email, --password                  the admin (default: the demo seed's)
//   --headed                             show the browser (debugging)
//
// A run fails (exit 1) when a step fails, when a response from the server's origin has a status
// >= 400 (except GET /admin/users/me -> 401 before the login), on any request to another origin
// (blocked), or on an uncaught page error. Console messages are only logged. Each step is
// screenshotted; on failure the offending requests are printed and a screenshot taken. Budget:
// 2 minutes for the whole run.

import { chromium } from "playwright-core"
import { execFileSync } from "node:child_process"
import fs from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { parseArgs } from "node:util"

const HERE = path.dirname(fileURLToPath(import.meta.url))
const ADMIN = path.dirname(HERE)
const REPO = path.dirname(ADMIN)
const BUDGET_MS = 120_000
const STEP_TIMEOUT_MS = 15_000
const EARLY_STOP_MS = 1_500

// ------------------------------------------------------------------------------- settings

const { values: argv } = parseArgs({
  options: {
    "base-url": { type: "string" },
    chromium: { type: "string" },
    artifacts: { type: "string" },
    email: { type: "string", default: "admin@mercato.test" },
    password: { type: "string", default: "supersecret" },
    headed: { type: "boolean", default: false },
  },
})

function fatal(message) {
  console.error(`dashboard e2e: ${message}`)
  process.exit(2)
}

const BASE = (argv["base-url"] ?? process.env.MERCATO_E2E_BASE_URL ?? "").replace(/\/+$/, "")
if (!BASE) fatal("give the server with --base-url or MERCATO_E2E_BASE_URL")
const ORIGIN = new URL(BASE).origin
const ARTIFACTS = path.resolve(
  argv.artifacts ?? process.env.MERCATO_E2E_ARTIFACTS ?? path.join(REPO, ".e2e-artifacts")
)

function findChromium() {
  const given = argv.chromium ?? process.env.MERCATO_CHROMIUM
  if (given) return given
  for (const name of ["chromium", "chromium-browser"]) {
    try {
      return execFileSync("which", [name], { encoding: "utf8" }).trim()
    } catch {
      // not on PATH
    }
  }
  fatal("no Chromium: set MERCATO_CHROMIUM or put chromium on PATH")
}

// The dashboard's own English labels (its en.json), so badges are checked as it renders them.
function dashboardLabels() {
  const file = path.join(
    ADMIN, "node_modules", "@medusajs", "dashboard", "src", "i18n", "translations", "en.json"
  )
  if (!fs.existsSync(file)) fatal(`${file} is missing: run make admin`)
  const en = JSON.parse(fs.readFileSync(file, "utf8"))
  const pay = en.orders.payment.status
  const ful = en.orders.fulfillment.status
  return {
    en,
    payment: {
      not_paid: pay.notPaid, authorized: pay.authorized, captured: pay.captured,
      partially_captured: pay.partiallyCaptured, refunded: pay.refunded,
      partially_refunded: pay.partiallyRefunded, canceled: pay.canceled,
      awaiting: pay.awaiting, requires_action: pay.requiresAction,
      partially_authorized: pay.partiallyAuthorized,
    },
    fulfillment: {
      not_fulfilled: ful.notFulfilled, partially_fulfilled: ful.partiallyFulfilled,
      fulfilled: ful.fulfilled, partially_shipped: ful.partiallyShipped, shipped: ful.shipped,
      delivered: ful.delivered, partially_delivered: ful.partiallyDelivered,
      canceled: ful.canceled, requires_action: ful.requiresAction,
    },
  }
}

const LABELS = dashboardLabels()
const T = LABELS.en

// ------------------------------------------------------------------------------- the API

let token = null

async function api(method, route, body) {
  const response = await fetch(BASE + route, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  })
  const text = await response.text()
  if (!response.ok) {
    throw new Error(`API ${method} ${route} -> ${response.status}: ${text.slice(0, 300)}`)
  }
  return JSON.parse(text)
}

const get = (route) => api("GET", route)

async function apiLogin() {
  token = (await api("POST", "/auth/user/emailpass", {
    email: argv.email, password: argv.password,
  })).token
}

// Groups (oldest first) with their seller orders (by display_id), from the API.
async function loadGroups() {
  const { order_groups } = await get(
    "/admin/order-groups?limit=50&order=display_id&fields=id,display_id,orders.id," +
      "orders.display_id,orders.seller.id,orders.seller.name"
  )
  for (const group of order_groups) group.orders.sort((a, b) => a.display_id - b.display_id)
  return order_groups
}

async function loadOrder(id) {
  const { order } = await get(
    `/admin/orders/${id}?fields=id,display_id,status,payment_status,fulfillment_status,total,` +
      "original_total,original_tax_total,currency_code,sales_channel_id,seller_id,items.id," +
      "items.title,items.quantity"
  )
  return order
}

// ------------------------------------------------------------------------------- run state

const events = [] // every response, request to another origin, page error, console message
const problems = [] // what fails the run: {step, kind, text}
let currentStep = "start"
let loggedIn = false

let onProblem = () => {} // the running step's early stop

function problem(kind, text, step = currentStep) {
  problems.push({ step, kind, text })
  events.push(`[${step}] FAIL ${kind}: ${text}`)
  if (step === currentStep) onProblem()
}

// A response the step waits for; its promise never rejects unhandled when the step fails first.
function responseTo(page, method, prefix) {
  const waiting = page.waitForResponse(
    (r) => r.url().startsWith(BASE + prefix) && r.request().method() === method
  )
  waiting.catch(() => {})
  return waiting
}

function watchContext(context) {
  // Nothing leaves the server's origin: such requests are blocked and fail the run.
  context.route("**/*", (route) => {
    const url = route.request().url()
    if (url.startsWith("data:") || url.startsWith("blob:") || new URL(url).origin === ORIGIN) {
      return route.continue()
    }
    problem("other origin", `${route.request().method()} ${url}`)
    return route.abort("blockedbyclient")
  })
}

function watch(page) {
  page.on("response", (response) => {
    const request = response.request()
    const url = new URL(response.url())
    if (url.origin !== ORIGIN) return
    const line = `${request.method()} ${url.pathname}${decodeURIComponent(url.search)} -> ` +
      `${response.status()}`
    events.push(`[${currentStep}] ${line}`)
    if (response.status() < 400) return
    const allowed =
      !loggedIn && request.method() === "GET" && url.pathname === "/admin/users/me" &&
      response.status() === 401
    if (allowed) return
    const step = currentStep // the body arrives later, maybe in the next step
    response
      .text()
      .catch(() => "")
      .then((body) => problem("response", `${line} ${body.slice(0, 300)}`, step))
  })
  page.on("requestfailed", (request) => {
    events.push(`[${currentStep}] request failed: ${request.method()} ${request.url()} ` +
      `(${request.failure()?.errorText})`)
  })
  page.on("pageerror", (error) => problem("pageerror", error.stack || String(error)))
  page.on("console", (message) => {
    events.push(`[${currentStep}] console.${message.type()}: ${message.text().slice(0, 500)}`)
  })
}

// ------------------------------------------------------------------------------- helpers

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
const exact = (text) => new RegExp(`^\\s*${escape(text)}\\s*$`)

let shot = 0
async function screenshot(page, name) {
  shot += 1
  const file = path.join(ARTIFACTS, `${String(shot).padStart(2, "0")}-${name}.png`)
  await page.screenshot({ path: file, fullPage: true }).catch((error) => {
    events.push(`[${currentStep}] screenshot ${name} failed: ${error.message}`)
  })
  return file
}

function check(condition, message) {
  if (!condition) throw new Error(message)
}

// Waits until the element's text holds every wanted string (queries land one after another);
// the error names what is missing and shows the text.
async function waitForTexts(locator, wants, what) {
  await locator.waitFor()
  const deadline = Date.now() + STEP_TIMEOUT_MS
  for (;;) {
    const text = await locator.innerText()
    const missing = wants.filter((want) => !text.includes(want))
    if (!missing.length) return text
    if (Date.now() > deadline) {
      throw new Error(`${what} lacks ${missing.map((m) => `"${m}"`).join(", ")}: ${oneLine(text)}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

// The dashboard's "symbol amount CODE" (getStylizedAmount: list totals, paid totals).
async function stylizedAmount(page, amount, currency) {
  return page.evaluate(
    ([a, c]) => {
      const symbol = new Intl.NumberFormat([], {
        style: "currency", currency: c, currencyDisplay: "narrowSymbol",
      }).format(0).replace(/\d/g, "").replace(/[.,]/g, "").trim()
      const digits = new Intl.NumberFormat([], { style: "currency", currency: c })
        .resolvedOptions().maximumFractionDigits
      const total = a.toLocaleString(undefined, {
        minimumFractionDigits: digits, maximumFractionDigits: digits,
      })
      return `${symbol} ${total} ${c.toUpperCase()}`
    },
    [amount, currency]
  )
}

// The dashboard's amount formatting (lib/money-amount-helpers.ts getLocaleAmount), in the page's
// locale.
async function localeAmount(page, amount, currency) {
  return page.evaluate(
    ([a, c]) =>
      new Intl.NumberFormat([], {
        style: "currency", currencyDisplay: "narrowSymbol", currency: c,
      }).format(a),
    [amount, currency]
  )
}

async function noNaN(page) {
  const text = await page.locator("body").innerText()
  check(!/\bNaN\b/.test(text), "the page shows NaN")
}

// The card around an element: its outermost enclosing div holding at most one heading (the
// card's own), e.g. the order page's Summary or Payments section.
function cardAround(locator) {
  return locator.locator(
    "xpath=ancestor::div[count(.//*[self::h1 or self::h2 or self::h3]) <= 1][last()]"
  )
}

function section(page, heading) {
  return cardAround(page.getByRole("heading", { name: heading, exact: true }))
}

// The order page's header card (display id, date, channel, payment and fulfilment badges).
function orderHeader(page, displayId) {
  return cardAround(page.getByRole("heading", { name: `#${displayId}`, exact: true }))
}

// A link to an order, named "#<display_id>" (possibly after a word, e.g. "Order #1").
function orderLink(scope, displayId) {
  return scope.getByRole("link", { name: new RegExp(`(^|\\s)#${displayId}$`) })
}

const oneLine = (text) => text.replace(/\s*\n\s*/g, " | ")

// A table row holding exactly this text in one of its cells.
function rowWith(page, text) {
  return page.getByRole("row").filter({ has: page.getByText(exact(text)) })
}

// ------------------------------------------------------------------------------- steps

const facts = {} // what later steps need from earlier ones

// 1. /app/orders without a token shows the login form; the admin logs in and sees all six orders.
async function step1LoginAndOrderList(page) {
  await page.goto(`${BASE}/app/orders`)
  await page.getByRole("heading", { name: T.login.title }).waitFor()
  await screenshot(page, "login-form")
  await page.getByPlaceholder(T.fields.email).fill(argv.email)
  await page.getByPlaceholder(T.fields.password).fill(argv.password)
  const login = responseTo(page, "POST", "/auth/user/emailpass")
  await page.getByRole("button", { name: T.actions.continueWithEmail }).click()
  check((await login).status() === 200, "the login did not answer 200")
  loggedIn = true
  await page.waitForURL(/\/app\/orders(\?|$)/)

  const { orders } = await get(
    "/admin/orders?limit=50&order=display_id&fields=id,display_id,payment_status," +
      "fulfillment_status,sales_channel_id,total,currency_code"
  )
  check(orders.length === 6, `the API lists ${orders.length} orders, expected 6`)
  const channels = Object.fromEntries(
    (await get("/admin/sales-channels?limit=1000&fields=id,name")).sales_channels.map((c) => [
      c.id, c.name,
    ])
  )
  for (const order of orders) {
    await waitForTexts(
      rowWith(page, `#${order.display_id}`),
      [
        channels[order.sales_channel_id],
        LABELS.payment[order.payment_status],
        LABELS.fulfillment[order.fulfillment_status],
        await stylizedAmount(page, order.total, order.currency_code),
      ],
      `order #${order.display_id}'s row`
    )
  }
  await noNaN(page)
  await screenshot(page, "orders-list")
}

// 2. Group 1's first order: badges, Summary (total, tax), Allocated lines, Payments, no NaN; the
//    widget lists the two siblings.
async function step2OrderPage(page) {
  const groups = await loadGroups()
  check(groups.length === 2, `the API lists ${groups.length} order groups, expected 2`)
  facts.groups = groups
  const [first, ...siblings] = groups[0].orders
  facts.first = first
  facts.siblings = siblings
  const order = await loadOrder(first.id)

  await page.goto(`${BASE}/app/orders/${order.id}`)
  await waitForTexts(
    orderHeader(page, order.display_id),
    [LABELS.payment[order.payment_status], LABELS.fulfillment[order.fulfillment_status]],
    "the order's header"
  )

  const summary = section(page, T.fields.summary)
  await waitForTexts(
    summary,
    [
      await localeAmount(page, order.total, order.currency_code),
      await localeAmount(page, order.original_tax_total, order.currency_code),
    ],
    "Summary (total, tax)"
  )
  // Each line's reservation badge ("Allocated" once the reservations have loaded).
  const allocated = summary.getByText(T.orders.reservations.allocatedLabel, { exact: true })
  await allocated.nth(order.items.length - 1).waitFor()
  await page.getByRole("heading", { name: T.orders.payment.title, exact: true }).waitFor()
  await screenshot(page, "order-page")

  const widget = page.getByRole("region", { name: "Other orders in this group" })
  await waitForTexts(
    widget,
    siblings.flatMap((sibling) => [`#${sibling.display_id}`, sibling.seller.name]),
    "the widget's other orders"
  )
  await noNaN(page)
  await screenshot(page, "order-page-widget")
}

// 3a. Capture this order (the widget) -> Captured; the siblings stay authorized.
async function step3CaptureThisOrder(page) {
  const { first, siblings } = facts
  check(first, "no order from step 2")
  await page.goto(`${BASE}/app/orders/${first.id}`)
  const capture = responseTo(page, "POST", `/admin/orders/${first.id}/capture`)
  await page.getByRole("button", { name: "Capture this order" }).click()
  check((await capture).status() < 400, "the capture failed")
  await waitForTexts(orderHeader(page, first.display_id), [LABELS.payment.captured], "the header")
  const order = await loadOrder(first.id)
  check(order.payment_status === "captured", `the API shows ${order.payment_status}`)
  for (const sibling of siblings) {
    const s = await loadOrder(sibling.id)
    check(s.payment_status === "authorized", `sibling #${s.display_id} is ${s.payment_status}`)
  }
  await noNaN(page)
  await screenshot(page, "captured")
}

// 3b. Unfulfilled items -> Fulfill items (location and option preselected) -> Fulfillment #1,
//     Fulfilled; the siblings stay not_fulfilled and authorized.
async function step3FulfilThisOrder(page) {
  const { first, siblings } = facts
  check(first, "no order from step 2")
  await page.goto(`${BASE}/app/orders/${first.id}`)
  const unfulfilled = page.getByRole("heading", {
    name: T.orders.fulfillment.unfulfilledItems, exact: true,
  })
  await unfulfilled.waitFor()
  // The section's action menu (an unlabelled "…" button beside the heading).
  await unfulfilled.locator("xpath=..").getByRole("button").click()
  await page.getByRole("menuitem", { name: T.orders.fulfillment.fulfillItems }).click()
  await page.waitForURL(new RegExp(`/app/orders/${first.id}/fulfillment`))

  const { shipping_methods } = (await get(
    `/admin/orders/${first.id}?fields=shipping_methods.name,shipping_methods.shipping_option_id`
  )).order
  const { stock_locations } = await get(
    `/admin/stock-locations?seller_id=${first.seller.id}&fields=id,name`
  )
  const dialog = page.getByRole("dialog")
  await dialog.getByText(T.orders.fulfillment.itemsToFulfill).waitFor()
  const location = stock_locations[0]?.name
  check(location, `the API has no stock location for seller ${first.seller.id}`)
  // Preselected: the seller's location and the order's shipping option show in the comboboxes.
  await dialog.getByRole("combobox").first().waitFor()
  await dialog.getByText(location, { exact: true }).first().waitFor()
  await dialog.getByText(shipping_methods[0].name, { exact: true }).first().waitFor()
  await screenshot(page, "fulfil-form")
  const created = responseTo(page, "POST", `/admin/orders/${first.id}/fulfillments`)
  await dialog.getByRole("button", { name: T.orders.fulfillment.create }).click()
  check((await created).status() < 400, "creating the fulfilment failed")
  await page.waitForURL(new RegExp(`/app/orders/${first.id}$`))
  await page.getByText(T.orders.fulfillment.number.replace("{{number}}", "1")).waitFor()
  await waitForTexts(
    orderHeader(page, first.display_id), [LABELS.fulfillment.fulfilled], "the header"
  )
  const order = await loadOrder(first.id)
  check(order.fulfillment_status === "fulfilled", `the API shows ${order.fulfillment_status}`)
  for (const sibling of siblings) {
    const s = await loadOrder(sibling.id)
    check(
      s.payment_status === "authorized" && s.fulfillment_status === "not_fulfilled",
      `sibling #${s.display_id} is ${s.payment_status}, ${s.fulfillment_status}`
    )
  }
  await noNaN(page)
  await screenshot(page, "fulfilled")
}

// 4. /app/order-groups lists #G1, #G2; expanding #G1 shows its three orders and sellers; an order
//    link opens that order's page; /app/order-groups/<id> shows three seller cards.
async function step4OrderGroups(page) {
  const groups = facts.groups ?? (await loadGroups())
  await page.goto(`${BASE}/app/order-groups`)
  for (const group of groups) await rowWith(page, `#G${group.display_id}`).waitFor()
  await screenshot(page, "order-groups")
  const [group] = groups
  const row = rowWith(page, `#G${group.display_id}`)
  await row.getByRole("button", { name: /expand/i }).click()
  for (const order of group.orders) {
    await orderLink(page, order.display_id).waitFor()
    await page.getByText(order.seller.name, { exact: true }).first().waitFor()
  }
  await screenshot(page, "order-groups-expanded")
  const target = group.orders[1]
  await orderLink(page, target.display_id).click()
  await page.waitForURL(new RegExp(`/app/orders/${target.id}$`))
  await orderHeader(page, target.display_id).waitFor()
  await screenshot(page, "order-from-group")

  await page.goto(`${BASE}/app/order-groups/${group.id}`)
  await page.getByRole("heading", { name: `Order group #G${group.display_id}` }).waitFor()
  for (const order of group.orders) {
    // One card per seller order: the seller's heading and the order's link.
    await page.getByRole("heading", { name: order.seller.name, exact: true }).waitFor()
    await orderLink(page, order.display_id).waitFor()
  }
  await noNaN(page)
  await screenshot(page, "order-group-detail")
}

// 5. /app/sellers lists the three sellers; Nordic Knits' page shows its owner and the API's
//    product count; Suspend then Activate flip the badge and the API.
async function step5Sellers(page) {
  const { sellers } = await get("/admin/sellers?limit=1000&order=name&fields=id,name,status")
  await page.goto(`${BASE}/app/sellers`)
  for (const name of ["Nordic Knits", "Copper Kitchen", "Paper Trail"]) {
    check(sellers.some((s) => s.name === name), `the API has no seller ${name}`)
    await rowWith(page, name).waitFor()
  }
  await screenshot(page, "sellers")
  const seller = sellers.find((s) => s.name === "Nordic Knits")
  await rowWith(page, seller.name).click()
  await page.waitForURL(new RegExp(`/app/sellers/${seller.id}$`))
  await page.getByText("owner@nordic-knits.test").first().waitFor()
  const { count } = await get(`/admin/products?seller_id=${seller.id}&limit=1&fields=id`)
  const profile = await page.locator("body").innerText()
  check(
    new RegExp(`\\bProducts\\s*\\n\\s*${count}\\s*(\\n|$)`).test(profile),
    `the seller's page does not show "Products ${count}" (the API's count)`
  )
  await screenshot(page, "seller")

  for (const [action, status, label] of [
    ["Suspend", "suspended", "Suspended"],
    ["Activate", "active", "Active"],
  ]) {
    const posted = responseTo(page, "POST", `/admin/sellers/${seller.id}`)
    await page.getByRole("button", { name: action, exact: true }).click()
    const prompt = page.getByRole("alertdialog")
    await prompt.waitFor()
    await prompt.getByRole("button", { name: new RegExp(`^(${action}|Confirm|Continue)`) })
      .click()
    check((await posted).status() < 400, `${action} failed`)
    await page.getByText(label, { exact: true }).first().waitFor()
    const { seller: now } = await get(`/admin/sellers/${seller.id}?fields=id,status`)
    check(now.status === status, `after ${action} the API shows ${now.status}`)
    await screenshot(page, `seller-${status}`)
  }
}

// 6. /app/products and /app/customers list their rows.
async function step6ProductsAndCustomers(page) {
  const { products } = await get("/admin/products?limit=20&fields=id,title")
  check(products.length > 0, "the API lists no products")
  await page.goto(`${BASE}/app/products`)
  for (const product of products) await rowWith(page, product.title).waitFor()
  await noNaN(page)
  await screenshot(page, "products")
  const { customers } = await get("/admin/customers?limit=20&fields=id,email")
  check(customers.some((c) => c.email === "shopper@mercato.test"), "the API lacks the shopper")
  await page.goto(`${BASE}/app/customers`)
  for (const customer of customers) await rowWith(page, customer.email).waitFor()
  await screenshot(page, "customers")
}

const STEPS = [
  ["1 login and order list", step1LoginAndOrderList],
  ["2 order page", step2OrderPage],
  ["3a capture this order", step3CaptureThisOrder],
  ["3b fulfil this order", step3FulfilThisOrder],
  ["4 order groups", step4OrderGroups],
  ["5 sellers", step5Sellers],
  ["6 products and customers", step6ProductsAndCustomers],
]

// ------------------------------------------------------------------------------- main

async function main() {
  const started = Date.now()
  fs.rmSync(ARTIFACTS, { recursive: true, force: true })
  fs.mkdirSync(ARTIFACTS, { recursive: true })
  const executablePath = findChromium()
  const args = [
    "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
  ]
  if (argv.headed) args.shift()
  if (process.getuid?.() === 0) args.push("--no-sandbox")
  const browser = await chromium.launch({ executablePath, args, headless: !argv.headed })
  const watchdog = setTimeout(() => {
    problem("budget", `the run took longer than ${BUDGET_MS / 1000} s`)
    finish(browser, started, "budget exceeded").then(() => process.exit(1))
  }, BUDGET_MS)

  const context = await browser.newContext({
    locale: "en-US", timezoneId: "UTC", viewport: { width: 1440, height: 1000 },
  })
  const newPage = async () => {
    const page = await context.newPage()
    page.setDefaultTimeout(STEP_TIMEOUT_MS)
    watch(page)
    return page
  }
  watchContext(context)
  let page = await newPage()
  await apiLogin()

  const results = []
  for (const [name, run] of STEPS) {
    currentStep = name
    const before = problems.length
    const t0 = Date.now()
    let error = null
    // A step stops early (a second after the first failing request or page error) instead of
    // waiting out its timeouts; the next step then gets a fresh page (the token stays in the
    // context's localStorage), so the abandoned step cannot act on it.
    let stop
    const stopped = new Promise((resolve) => {
      stop = resolve
    })
    onProblem = () => setTimeout(stop, EARLY_STOP_MS)
    try {
      await Promise.race([
        run(page),
        stopped.then(() => {
          throw new Error("stopped after a failing request or page error")
        }),
      ])
      await page.waitForLoadState("networkidle", { timeout: 5_000 }).catch(() => {})
    } catch (e) {
      error = e
    }
    onProblem = () => {}
    const failures = problems.slice(before)
    const ok = !error && failures.length === 0
    results.push({ name, ok, error, failures, ms: Date.now() - t0 })
    if (ok) {
      console.log(`\u2713 step ${name} (${Date.now() - t0} ms)`)
      continue
    }
    const file = await screenshot(page, `FAILED-${name.replace(/\W+/g, "-")}`)
    console.log(`\u2717 step ${name} (${Date.now() - t0} ms) at ${page.url()}\n    ${file}`)
    if (error) console.log(`    error: ${firstLine(error.message)}`)
    for (const line of distinct(failures)) console.log(`    ${line}`)
    await page.close().catch(() => {})
    page = await newPage()
  }
  clearTimeout(watchdog)
  const failed = await finish(browser, started, null, results)
  process.exit(failed ? 1 : 0)
}

const firstLine = (text) => {
  const lines = text.split("\n").filter((l) => l.trim() && !l.includes("Call log"))
  return lines.slice(0, 2).join(" | ").replace(/\x1b\[[0-9;]*m/g, "")
}

// A long query string (the dashboard's field lists) cut in the middle: the answer's message,
// which names what was refused, stays whole.
function shorten(text) {
  const match = text.match(/^(\S+ [^?\s]*)(\?\S*)( -> .*)$/)
  if (!match || match[2].length <= 160) return text
  return `${match[1]}${match[2].slice(0, 150)}\u2026${match[3]}`
}

// Problems without repeats (the dashboard retries a failed query), each on one line.
function distinct(failures) {
  const seen = new Map()
  for (const f of failures) {
    const line = `${f.kind}: ${shorten(f.text.split("\n")[0])}`
    seen.set(line, (seen.get(line) ?? 0) + 1)
  }
  return [...seen].map(([line, n]) => (n > 1 ? `${line} (x${n})` : line))
}

async function finish(browser, started, reason, results = []) {
  fs.writeFileSync(path.join(ARTIFACTS, "requests.log"), events.join("\n") + "\n")
  if (problems.length) {
    const lines = problems.map((p) => `[${p.step}] ${p.kind}: ${p.text}`)
    fs.writeFileSync(path.join(ARTIFACTS, "failures.txt"), lines.join("\n") + "\n")
  }
  await browser.close().catch(() => {})
  const failedSteps = results.filter((r) => !r.ok)
  const seconds = ((Date.now() - started) / 1000).toFixed(1)
  if (reason || failedSteps.length || problems.length) {
    console.log(`\ndashboard e2e FAILED in ${seconds} s` + (reason ? ` (${reason})` : ""))
    if (failedSteps.length) console.log(`failed steps: ${failedSteps.map((r) => r.name).join("; ")}`)
    if (problems.length) {
      console.log("offending requests and page errors:")
      for (const step of new Set(problems.map((p) => p.step))) {
        const own = problems.filter((p) => p.step === step)
        for (const line of distinct(own)) console.log(`  [${step}] ${line}`)
      }
    }
    console.log(`screenshots, requests.log and failures.txt in ${ARTIFACTS}`)
    return true
  }
  console.log(`\ndashboard e2e passed: ${results.length} steps in ${seconds} s (${ARTIFACTS})`)
  return false
}

main().catch((error) => {
  console.error(`dashboard e2e: ${error.stack || error}`)
  process.exit(1)
})

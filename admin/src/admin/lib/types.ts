/** The shapes of Mercato's marketplace routes the extensions read (only the requested fields). */

export type SellerRef = { id: string; name: string; handle?: string }

export type OrderGroupItem = {
  id: string
  title: string
  variant_title?: string | null
  quantity: number
  unit_price: number
  total: number
}

export type OrderGroupOrder = {
  id: string
  display_id: number
  email?: string | null
  status: string
  payment_status: string
  fulfillment_status: string
  currency_code: string
  subtotal?: number
  shipping_total?: number
  tax_total?: number
  discount_total?: number
  total: number
  seller_id?: string
  seller?: SellerRef | null
  items?: OrderGroupItem[]
}

export type OrderGroupCustomer = {
  id: string
  email?: string | null
  first_name?: string | null
  last_name?: string | null
}

export type OrderGroupSummary = {
  paid_total?: number
  refunded_total?: number
  [key: string]: number | undefined
}

export type OrderGroup = {
  id: string
  display_id: number
  currency_code: string
  seller_count: number
  total: number
  status: string
  payment_status: string
  fulfillment_status: string
  created_at: string
  customer_id?: string | null
  customer?: OrderGroupCustomer | null
  summary?: OrderGroupSummary | null
  orders?: OrderGroupOrder[]
}

export type ListResponse<K extends string, T> = { [key in K]: T[] } & {
  count: number
  offset: number
  limit: number
}

export type SellerMember = {
  id: string
  email: string
  name?: string | null
  role?: string | null
  created_at?: string
}

export type Seller = {
  id: string
  name: string
  handle: string
  email?: string | null
  description?: string | null
  logo?: string | null
  status: string
  created_at: string
  updated_at?: string
  stock_location?: { id: string; name: string } | null
  members?: SellerMember[]
}

/** "#G<n>": how an order group is named everywhere in the extensions. */
export const groupName = (group: { display_id: number }) => `#G${group.display_id}`

/** The customer's name, else their email, else the first order's email (guest checkouts). */
export const customerLabel = (group: OrderGroup): string => {
  const customer = group.customer
  const name = [customer?.first_name, customer?.last_name].filter(Boolean).join(" ").trim()
  if (name) {
    return name
  }
  if (customer?.email) {
    return customer.email
  }
  const email = group.orders?.find((order) => order.email)?.email
  return email || "-"
}

import { defineRouteConfig } from "@medusajs/admin-sdk"
import { TriangleDownMini, TriangleRightMini } from "@medusajs/icons"
import { Button, Container, Heading, IconButton, Input, Select, Table, Text } from "@medusajs/ui"
import { keepPreviousData, useQuery } from "@tanstack/react-query"
import { Fragment, useEffect, useState } from "react"
import { Link, useNavigate, useSearchParams } from "react-router-dom"
import { FulfillmentBadge, LoadError, OrderStatusBadge, PaymentBadge, span } from "../../lib/components"
import {
  formatDate,
  formatMoney,
  ORDER_GROUP_STATUS_OPTIONS,
  PAYMENT_STATUS_OPTIONS,
} from "../../lib/order-helpers"
import { errorMessage, sdk } from "../../lib/sdk"
import { customerLabel, groupName, ListResponse, OrderGroup, Seller } from "../../lib/types"

const PAGE_SIZE = 20

// Exactly the fields of admin-dashboard.md §8.1.
const LIST_FIELDS = [
  "id",
  "display_id",
  "currency_code",
  "seller_count",
  "total",
  "status",
  "payment_status",
  "fulfillment_status",
  "created_at",
  "customer.id",
  "customer.email",
  "customer.first_name",
  "customer.last_name",
  "orders.id",
  "orders.display_id",
  "orders.email",
  "orders.status",
  "orders.payment_status",
  "orders.fulfillment_status",
  "orders.total",
  "orders.currency_code",
  "orders.seller.id",
  "orders.seller.name",
].join(",")

const FILTERS = ["q", "status", "payment_status", "seller_id"] as const
const ALL = "all"

const OrderGroupsPage = () => {
  const navigate = useNavigate()
  const [searchParams, setSearchParams] = useSearchParams()
  const offset = Math.max(0, Number(searchParams.get("offset")) || 0)
  const filters = Object.fromEntries(
    FILTERS.map((key) => [key, searchParams.get(key) || undefined])
  ) as Record<(typeof FILTERS)[number], string | undefined>

  // The search box writes `q` to the URL a moment after typing stops.
  const [q, setQ] = useState(filters.q ?? "")
  useEffect(() => setQ(filters.q ?? ""), [filters.q])
  useEffect(() => {
    const timer = setTimeout(() => {
      if ((filters.q ?? "") !== q.trim()) {
        setFilter("q", q.trim() || undefined)
      }
    }, 300)
    return () => clearTimeout(timer)
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [q])

  const setFilter = (key: string, value: string | undefined) => {
    setSearchParams((previous) => {
      const next = new URLSearchParams(previous)
      if (value) {
        next.set(key, value)
      } else {
        next.delete(key)
      }
      next.delete("offset")
      return next
    })
  }

  const setOffset = (value: number) => {
    setSearchParams((previous) => {
      const next = new URLSearchParams(previous)
      if (value > 0) {
        next.set("offset", String(value))
      } else {
        next.delete("offset")
      }
      return next
    })
  }

  const query: Record<string, string | number> = {
    limit: PAGE_SIZE,
    offset,
    order: "-created_at",
    fields: LIST_FIELDS,
  }
  for (const key of FILTERS) {
    const value = filters[key]
    if (value) {
      query[key] = value
    }
  }

  const groups = useQuery({
    queryKey: ["mercato_order_groups", "list", query],
    queryFn: () =>
      sdk.client.fetch<ListResponse<"order_groups", OrderGroup>>("/admin/order-groups", { query }),
    placeholderData: keepPreviousData,
  })

  const sellers = useQuery({
    queryKey: ["mercato_sellers", "list", "filter-options"],
    queryFn: () =>
      sdk.client.fetch<ListResponse<"sellers", Seller>>("/admin/sellers", {
        query: { limit: 1000, order: "name", fields: "id,name" },
      }),
  })

  const [expanded, setExpanded] = useState<Record<string, boolean>>({})
  const toggle = (id: string) => setExpanded((state) => ({ ...state, [id]: !state[id] }))

  const rows = groups.data?.order_groups ?? []
  const count = groups.data?.count ?? 0
  const pageCount = Math.max(1, Math.ceil(count / PAGE_SIZE))
  const pageIndex = Math.floor(offset / PAGE_SIZE)
  const filtered = FILTERS.some((key) => filters[key])

  return (
    <Container className="divide-y p-0">
      <div className="flex items-center justify-between px-6 py-4">
        <div>
          <Heading level="h1">Order groups</Heading>
          <Text size="small" className="text-ui-fg-subtle">
            One checkout, split into one order per seller.
          </Text>
        </div>
      </div>
      <div className="flex flex-wrap items-center gap-2 px-6 py-4" role="search">
        <Input
          type="search"
          size="small"
          className="w-60"
          placeholder="Search"
          aria-label="Search order groups"
          value={q}
          onChange={(event) => setQ(event.target.value)}
        />
        <FilterSelect
          label="Status"
          value={filters.status}
          options={ORDER_GROUP_STATUS_OPTIONS}
          onChange={(value) => setFilter("status", value)}
        />
        <FilterSelect
          label="Payment"
          value={filters.payment_status}
          options={PAYMENT_STATUS_OPTIONS}
          onChange={(value) => setFilter("payment_status", value)}
        />
        <FilterSelect
          label="Seller"
          value={filters.seller_id}
          options={(sellers.data?.sellers ?? []).map((seller) => ({
            value: seller.id,
            label: seller.name,
          }))}
          onChange={(value) => setFilter("seller_id", value)}
        />
        {filtered && (
          <Button
            size="small"
            variant="transparent"
            onClick={() => {
              setQ("")
              setSearchParams(new URLSearchParams())
            }}
          >
            Clear filters
          </Button>
        )}
      </div>
      {groups.isError ? (
        <div className="px-6 py-4">
          <LoadError message={errorMessage(groups.error)} />
        </div>
      ) : (
        <>
          <Table>
            <Table.Header>
              <Table.Row>
                <Table.HeaderCell className="w-10" aria-label="Expand" />
                <Table.HeaderCell>Group</Table.HeaderCell>
                <Table.HeaderCell>Date</Table.HeaderCell>
                <Table.HeaderCell>Customer</Table.HeaderCell>
                <Table.HeaderCell>Sellers</Table.HeaderCell>
                <Table.HeaderCell>Payment</Table.HeaderCell>
                <Table.HeaderCell>Fulfillment</Table.HeaderCell>
                <Table.HeaderCell>Status</Table.HeaderCell>
                <Table.HeaderCell className="text-right">Total</Table.HeaderCell>
              </Table.Row>
            </Table.Header>
            <Table.Body>
              {groups.isLoading && (
                <Table.Row>
                  <Table.Cell {...span(9)} className="text-ui-fg-subtle">
                    Loading…
                  </Table.Cell>
                </Table.Row>
              )}
              {!groups.isLoading && rows.length === 0 && (
                <Table.Row>
                  <Table.Cell {...span(9)} className="text-ui-fg-subtle">
                    {filtered ? "No order groups match the filters" : "No order groups yet"}
                  </Table.Cell>
                </Table.Row>
              )}
              {rows.map((group) => {
                const open = !!expanded[group.id]
                return (
                  <Fragment key={group.id}>
                    <Table.Row
                      className="cursor-pointer"
                      data-testid={`order-group-row-${group.id}`}
                      onClick={() => navigate(`/order-groups/${group.id}`)}
                    >
                      <Table.Cell onClick={(event) => event.stopPropagation()}>
                        <IconButton
                          size="small"
                          variant="transparent"
                          aria-expanded={open}
                          aria-label={`${open ? "Collapse" : "Expand"} ${groupName(group)}`}
                          onClick={() => toggle(group.id)}
                        >
                          {open ? <TriangleDownMini /> : <TriangleRightMini />}
                        </IconButton>
                      </Table.Cell>
                      <Table.Cell className="font-medium">{groupName(group)}</Table.Cell>
                      <Table.Cell>{formatDate(group.created_at)}</Table.Cell>
                      <Table.Cell>{customerLabel(group)}</Table.Cell>
                      <Table.Cell>{group.seller_count}</Table.Cell>
                      <Table.Cell>
                        <PaymentBadge status={group.payment_status} />
                      </Table.Cell>
                      <Table.Cell>
                        <FulfillmentBadge status={group.fulfillment_status} />
                      </Table.Cell>
                      <Table.Cell>
                        <OrderStatusBadge status={group.status} />
                      </Table.Cell>
                      <Table.Cell className="text-right">
                        {formatMoney(group.total, group.currency_code)}
                      </Table.Cell>
                    </Table.Row>
                    {open &&
                      (group.orders ?? []).map((order) => (
                        <Table.Row
                          key={order.id}
                          className="bg-ui-bg-subtle"
                          data-testid={`order-group-order-${order.id}`}
                        >
                          <Table.Cell />
                          <Table.Cell>
                            <Link
                              to={`/orders/${order.id}`}
                              className="text-ui-fg-interactive hover:text-ui-fg-interactive-hover"
                            >
                              #{order.display_id}
                            </Link>
                          </Table.Cell>
                          <Table.Cell {...span(3)}>{order.seller?.name ?? "-"}</Table.Cell>
                          <Table.Cell>
                            <PaymentBadge status={order.payment_status} />
                          </Table.Cell>
                          <Table.Cell>
                            <FulfillmentBadge status={order.fulfillment_status} />
                          </Table.Cell>
                          <Table.Cell>
                            <OrderStatusBadge status={order.status} />
                          </Table.Cell>
                          <Table.Cell className="text-right">
                            {formatMoney(order.total, order.currency_code)}
                          </Table.Cell>
                        </Table.Row>
                      ))}
                  </Fragment>
                )
              })}
            </Table.Body>
          </Table>
          <Table.Pagination
            count={count}
            pageSize={PAGE_SIZE}
            pageIndex={pageIndex}
            pageCount={pageCount}
            canPreviousPage={offset > 0}
            canNextPage={!groups.isPlaceholderData && offset + PAGE_SIZE < count}
            previousPage={() => setOffset(Math.max(0, offset - PAGE_SIZE))}
            nextPage={() => setOffset(offset + PAGE_SIZE)}
          />
        </>
      )}
    </Container>
  )
}

type Option = { value: string; label: string }

const FilterSelect = ({
  label,
  value,
  options,
  onChange,
}: {
  label: string
  value: string | undefined
  options: Option[]
  onChange: (value: string | undefined) => void
}) => (
  <Select
    size="small"
    value={value ?? ALL}
    onValueChange={(next) => onChange(next === ALL ? undefined : next)}
  >
    <Select.Trigger className="w-48" aria-label={`Filter by ${label.toLowerCase()}`}>
      <Select.Value placeholder={label} />
    </Select.Trigger>
    <Select.Content>
      <Select.Item value={ALL}>{`${label}: all`}</Select.Item>
      {options.map((option) => (
        <Select.Item key={option.value} value={option.value}>
          {option.label}
        </Select.Item>
      ))}
    </Select.Content>
  </Select>
)

export const config = defineRouteConfig({
  label: "Order groups",
  nested: "/orders",
})

// The dashboard's header breadcrumb (shell.tsx reads `handle.breadcrumb` of the matched routes).
export const handle = {
  breadcrumb: () => "Order groups",
}

export default OrderGroupsPage

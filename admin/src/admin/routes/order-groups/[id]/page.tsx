import { Container, Heading, Table, Text } from "@medusajs/ui"
import { useQuery } from "@tanstack/react-query"
import type { ReactNode } from "react"
import { Link, useParams } from "react-router-dom"
import {
  FulfillmentBadge,
  LoadError,
  Loading,
  NotFound,
  OrderStatusBadge,
  PaymentBadge,
} from "../../../lib/components"
import { formatDateTime, formatMoney } from "../../../lib/order-helpers"
import { errorMessage, errorStatus, sdk } from "../../../lib/sdk"
import { customerLabel, groupName, OrderGroup, OrderGroupOrder } from "../../../lib/types"

// admin-dashboard.md §8.1: the detail defaults (orders with seller, items and totals) plus these.
const DETAIL_FIELDS = "+customer,+summary,+orders.email"

const OrderGroupDetailPage = () => {
  const { id } = useParams()
  const group = useQuery({
    queryKey: ["mercato_order_groups", "detail", id, DETAIL_FIELDS],
    queryFn: () =>
      sdk.client.fetch<{ order_group: OrderGroup }>(`/admin/order-groups/${id}`, {
        query: { fields: DETAIL_FIELDS },
      }),
    enabled: !!id,
    retry: (failures, error) => errorStatus(error) !== 404 && failures < 2,
  })

  if (group.isLoading) {
    return <Loading />
  }
  if (group.isError) {
    return errorStatus(group.error) === 404 ? (
      <NotFound what="This order group" />
    ) : (
      <LoadError message={errorMessage(group.error)} />
    )
  }
  const data = group.data?.order_group
  if (!data) {
    return <NotFound what="This order group" />
  }
  const currency = data.currency_code

  return (
    <div className="flex flex-col gap-y-3">
      <Container className="divide-y p-0">
        <div className="flex flex-wrap items-start justify-between gap-4 px-6 py-4">
          <div>
            <Heading level="h1">{`Order group ${groupName(data)}`}</Heading>
            <Text size="small" className="text-ui-fg-subtle">
              {formatDateTime(data.created_at)}
            </Text>
          </div>
          <div className="flex flex-wrap items-center gap-x-2">
            <PaymentBadge status={data.payment_status} />
            <FulfillmentBadge status={data.fulfillment_status} />
            <OrderStatusBadge status={data.status} />
          </div>
        </div>
        <dl className="grid grid-cols-2 gap-4 px-6 py-4 md:grid-cols-5">
          <Field label="Customer">
            {data.customer?.id ? (
              <Link
                to={`/customers/${data.customer.id}`}
                className="text-ui-fg-interactive hover:text-ui-fg-interactive-hover"
              >
                {customerLabel(data)}
              </Link>
            ) : (
              customerLabel(data)
            )}
          </Field>
          <Field label="Sellers">{data.seller_count}</Field>
          <Field label="Total">{formatMoney(data.total, currency)}</Field>
          <Field label="Paid total">{formatMoney(data.summary?.paid_total ?? 0, currency)}</Field>
          <Field label="Refunded total">
            {formatMoney(data.summary?.refunded_total ?? 0, currency)}
          </Field>
        </dl>
      </Container>
      {(data.orders ?? []).map((order) => (
        <SellerOrderCard key={order.id} order={order} />
      ))}
    </div>
  )
}

const Field = ({ label, children }: { label: string; children: ReactNode }) => (
  <div>
    <dt>
      <Text size="small" leading="compact" className="text-ui-fg-subtle">
        {label}
      </Text>
    </dt>
    <dd>
      <Text size="small" leading="compact" weight="plus">
        {children}
      </Text>
    </dd>
  </div>
)

const SellerOrderCard = ({ order }: { order: OrderGroupOrder }) => {
  const currency = order.currency_code
  const sellerName = order.seller?.name ?? order.seller_id ?? "Unknown seller"
  return (
    <Container className="divide-y p-0" data-testid={`seller-order-${order.id}`}>
      <section aria-label={`${sellerName} order #${order.display_id}`}>
        <div className="flex flex-wrap items-center justify-between gap-4 px-6 py-4">
          <div>
            <Heading level="h2">{sellerName}</Heading>
            <Text size="small" leading="compact" className="text-ui-fg-subtle">
              {"Order "}
              <Link
                to={`/orders/${order.id}`}
                className="text-ui-fg-interactive hover:text-ui-fg-interactive-hover"
              >
                #{order.display_id}
              </Link>
            </Text>
            {order.email && (
              <Text size="small" className="text-ui-fg-subtle">
                {order.email}
              </Text>
            )}
          </div>
          <div className="flex flex-wrap items-center gap-x-2">
            <PaymentBadge status={order.payment_status} />
            <FulfillmentBadge status={order.fulfillment_status} />
            <OrderStatusBadge status={order.status} />
          </div>
        </div>
        <Table>
          <Table.Header>
            <Table.Row>
              <Table.HeaderCell>Item</Table.HeaderCell>
              <Table.HeaderCell>Variant</Table.HeaderCell>
              <Table.HeaderCell className="text-right">Quantity</Table.HeaderCell>
              <Table.HeaderCell className="text-right">Unit price</Table.HeaderCell>
              <Table.HeaderCell className="text-right">Total</Table.HeaderCell>
            </Table.Row>
          </Table.Header>
          <Table.Body>
            {(order.items ?? []).map((item) => (
              <Table.Row key={item.id}>
                <Table.Cell>{item.title}</Table.Cell>
                <Table.Cell>{item.variant_title || "-"}</Table.Cell>
                <Table.Cell className="text-right">{item.quantity}</Table.Cell>
                <Table.Cell className="text-right">{formatMoney(item.unit_price, currency)}</Table.Cell>
                <Table.Cell className="text-right">{formatMoney(item.total, currency)}</Table.Cell>
              </Table.Row>
            ))}
          </Table.Body>
        </Table>
        <dl className="flex flex-col gap-y-1 px-6 py-4">
          <TotalRow label="Subtotal" value={formatMoney(order.subtotal, currency)} />
          <TotalRow label="Shipping" value={formatMoney(order.shipping_total, currency)} />
          {!!order.discount_total && (
            <TotalRow label="Discount" value={`- ${formatMoney(order.discount_total, currency)}`} />
          )}
          <TotalRow label="Tax" value={formatMoney(order.tax_total, currency)} />
          <TotalRow label="Total" value={formatMoney(order.total, currency)} strong />
        </dl>
      </section>
    </Container>
  )
}

const TotalRow = ({ label, value, strong }: { label: string; value: string; strong?: boolean }) => (
  <div className="flex items-center justify-between">
    <dt>
      <Text size="small" leading="compact" weight={strong ? "plus" : "regular"}>
        {label}
      </Text>
    </dt>
    <dd>
      <Text size="small" leading="compact" weight={strong ? "plus" : "regular"}>
        {value}
      </Text>
    </dd>
  </div>
)

// The dashboard's header breadcrumb (shell.tsx reads `handle.breadcrumb` of the matched routes).
export const handle = {
  breadcrumb: () => "Order group",
}

export default OrderGroupDetailPage

import { defineWidgetConfig } from "@medusajs/admin-sdk"
import { Button, Container, Heading, Text, toast } from "@medusajs/ui"
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import { Link } from "react-router-dom"
import { FulfillmentBadge, PaymentBadge } from "../lib/components"
import { formatMoney } from "../lib/order-helpers"
import { errorMessage, errorStatus, newIdempotencyKey, sdk } from "../lib/sdk"
import { groupName, OrderGroup } from "../lib/types"

// admin-dashboard.md §8.3, verbatim.
const GROUP_FIELDS = [
  "id",
  "display_id",
  "seller_count",
  "total",
  "currency_code",
  "orders.id",
  "orders.display_id",
  "orders.status",
  "orders.payment_status",
  "orders.fulfillment_status",
  "orders.total",
  "orders.currency_code",
  "orders.seller.id",
  "orders.seller.name",
].join(",")

// The payment statuses in which part of this order's share is still authorized, not captured.
const CAPTURABLE = new Set(["authorized", "partially_captured"])

// The dashboard's order queries all start with this key (hooks/api/orders.tsx, ORDERS_QUERY_KEY).
const ORDERS_QUERY_KEY = "orders"

type WidgetOrder = { id: string; display_id?: number; payment_status?: string | null }

const OrderGroupOrdersWidget = ({ data: order }: { data: WidgetOrder }) => {
  const queryClient = useQueryClient()

  const group = useQuery({
    queryKey: ["mercato_order_groups", "for-order", order.id],
    queryFn: () =>
      sdk.client.fetch<{ order_group: OrderGroup }>(`/admin/orders/${order.id}/order-group`, {
        query: { fields: GROUP_FIELDS },
      }),
    retry: (failures, error) => errorStatus(error) !== 404 && failures < 2,
  })

  const capture = useMutation({
    // A fresh key per click: a retried click of the same request is replayed, a new click is new.
    mutationFn: () =>
      sdk.client.fetch(`/admin/orders/${order.id}/capture`, {
        method: "POST",
        headers: { "Idempotency-Key": newIdempotencyKey() },
      }),
    onSuccess: async () => {
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: [ORDERS_QUERY_KEY] }),
        queryClient.invalidateQueries({ queryKey: ["mercato_order_groups"] }),
      ])
      toast.success("Payment captured")
    },
    onError: (error) => toast.error(errorMessage(error)),
  })

  // An order outside any group (404) or a failed read: the widget stays out of the way.
  if (group.isError || !group.data?.order_group) {
    return null
  }
  const data = group.data.order_group
  const siblings = (data.orders ?? []).filter((sibling) => sibling.id !== order.id)
  const capturable = CAPTURABLE.has(order.payment_status ?? "")

  return (
    <Container className="divide-y p-0" data-testid="order-group-widget">
      <div className="flex items-center justify-between px-6 py-4">
        <Heading level="h2">
          <Link
            to={`/order-groups/${data.id}`}
            className="hover:text-ui-fg-interactive-hover text-ui-fg-base"
          >
            {`Order group ${groupName(data)}`}
          </Link>
        </Heading>
        <Text size="small" leading="compact" className="text-ui-fg-subtle">
          {`${data.seller_count} ${data.seller_count === 1 ? "seller" : "sellers"}`}
        </Text>
      </div>
      <div className="flex items-center justify-between px-6 py-3">
        <Text size="small" leading="compact" className="text-ui-fg-subtle">
          Group total
        </Text>
        <Text size="small" weight="plus" leading="compact" data-testid="order-group-total">
          {formatMoney(data.total, data.currency_code)}
        </Text>
      </div>
      <section className="px-6 py-4" aria-labelledby="mercato-other-orders">
        <Heading id="mercato-other-orders" level="h3" className="txt-compact-small-plus mb-2">
          Other orders in this group
        </Heading>
        {siblings.length === 0 ? (
          <Text size="small" className="text-ui-fg-subtle">
            No other orders in this group
          </Text>
        ) : (
          <ul className="flex flex-col gap-y-3">
            {siblings.map((sibling) => (
              <li key={sibling.id} className="flex flex-col gap-y-1" data-testid={`sibling-${sibling.id}`}>
                <div className="flex items-center justify-between gap-x-2">
                  <Text size="small" leading="compact" className="truncate">
                    {sibling.seller?.name ?? "-"}
                  </Text>
                  <Link
                    to={`/orders/${sibling.id}`}
                    className="txt-compact-small text-ui-fg-interactive hover:text-ui-fg-interactive-hover"
                  >
                    #{sibling.display_id}
                  </Link>
                </div>
                <div className="flex items-center justify-between gap-x-2">
                  <div className="flex flex-wrap items-center gap-1">
                    <PaymentBadge status={sibling.payment_status} />
                    <FulfillmentBadge status={sibling.fulfillment_status} />
                  </div>
                  <Text size="small" leading="compact">
                    {formatMoney(sibling.total, sibling.currency_code)}
                  </Text>
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>
      {capturable && (
        <div className="flex flex-col gap-y-2 px-6 py-4">
          <Text size="small" className="text-ui-fg-subtle">
            Captures only this seller's share of the group's payment.
          </Text>
          <Button
            size="small"
            variant="secondary"
            isLoading={capture.isPending}
            onClick={() => capture.mutate()}
          >
            Capture this order
          </Button>
        </div>
      )}
    </Container>
  )
}

export const config = defineWidgetConfig({
  zone: "order.details.side.before",
  id: "mercato:order-group-orders",
})

export default OrderGroupOrdersWidget

import { Container, Heading, StatusBadge, Text } from "@medusajs/ui"
import type { HTMLAttributes } from "react"
import {
  getOrderFulfillmentStatus,
  getOrderPaymentStatus,
  getOrderStatus,
  getSellerStatus,
  StatusBadgeInfo,
} from "./order-helpers"

const Badge = ({ info, title }: { info: StatusBadgeInfo; title: string }) => (
  <StatusBadge color={info.color} className="text-nowrap" title={title}>
    {info.label}
  </StatusBadge>
)

export const PaymentBadge = ({ status }: { status: string | null | undefined }) => (
  <Badge info={getOrderPaymentStatus(status)} title="Payment status" />
)

export const FulfillmentBadge = ({ status }: { status: string | null | undefined }) => (
  <Badge info={getOrderFulfillmentStatus(status)} title="Fulfillment status" />
)

export const OrderStatusBadge = ({ status }: { status: string | null | undefined }) => (
  <Badge info={getOrderStatus(status)} title="Status" />
)

export const SellerStatusBadge = ({ status }: { status: string | null | undefined }) => (
  <Badge info={getSellerStatus(status)} title="Seller status" />
)

export const NotFound = ({ what }: { what: string }) => (
  <Container className="px-6 py-4">
    <Heading level="h1">Not found</Heading>
    <Text size="small" className="text-ui-fg-subtle mt-2">
      {what} does not exist or was deleted.
    </Text>
  </Container>
)

export const LoadError = ({ message }: { message: string }) => (
  <Container className="px-6 py-4">
    <Heading level="h2">Could not load this page</Heading>
    <Text size="small" className="text-ui-fg-error mt-2">
      {message}
    </Text>
  </Container>
)

export const Loading = () => (
  <Container className="px-6 py-4">
    <Text size="small" className="text-ui-fg-subtle">
      Loading…
    </Text>
  </Container>
)

/**
 * `colSpan` for `Table.Cell`: @medusajs/ui types the cell with `HTMLAttributes` (no `colSpan`),
 * though it renders a `<td>` and passes every attribute through.
 */
export const span = (columns: number) =>
  ({ colSpan: columns }) as HTMLAttributes<HTMLTableCellElement>

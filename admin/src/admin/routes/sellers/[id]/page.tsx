import { Button, Container, Heading, Table, Text, toast, usePrompt } from "@medusajs/ui"
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query"
import type { ReactNode } from "react"
import { Link, useParams } from "react-router-dom"
import { LoadError, Loading, NotFound, SellerStatusBadge, span } from "../../../lib/components"
import { formatDate } from "../../../lib/order-helpers"
import { errorMessage, errorStatus, sdk } from "../../../lib/sdk"
import { ListResponse, Seller } from "../../../lib/types"

// admin-dashboard.md §8.2: the seller's defaults plus its members and stock location.
const DETAIL_FIELDS = "+members,+stock_location"

const SellerDetailPage = () => {
  const { id } = useParams()
  const queryClient = useQueryClient()
  const prompt = usePrompt()

  const seller = useQuery({
    queryKey: ["mercato_sellers", "detail", id, DETAIL_FIELDS],
    queryFn: () =>
      sdk.client.fetch<{ seller: Seller }>(`/admin/sellers/${id}`, {
        query: { fields: DETAIL_FIELDS },
      }),
    enabled: !!id,
    retry: (failures, error) => errorStatus(error) !== 404 && failures < 2,
  })

  const products = useQuery({
    queryKey: ["mercato_sellers", "product-count", id],
    queryFn: () =>
      sdk.client.fetch<ListResponse<"products", { id: string }>>("/admin/products", {
        query: { seller_id: id, limit: 1, fields: "id" },
      }),
    enabled: !!id,
  })

  const setStatus = useMutation({
    mutationFn: (status: "active" | "suspended") =>
      sdk.client.fetch<{ seller: Seller }>(`/admin/sellers/${id}`, {
        method: "POST",
        body: { status },
      }),
    onSuccess: async ({ seller: updated }) => {
      await queryClient.invalidateQueries({ queryKey: ["mercato_sellers"] })
      toast.success(
        updated.status === "suspended" ? `${updated.name} was suspended` : `${updated.name} was activated`
      )
    },
    onError: (error) => toast.error(errorMessage(error)),
  })

  if (seller.isLoading) {
    return <Loading />
  }
  if (seller.isError) {
    return errorStatus(seller.error) === 404 ? (
      <NotFound what="This seller" />
    ) : (
      <LoadError message={errorMessage(seller.error)} />
    )
  }
  const data = seller.data?.seller
  if (!data) {
    return <NotFound what="This seller" />
  }

  const suspended = data.status === "suspended"
  const onToggle = async () => {
    const confirmed = await prompt({
      title: suspended ? `Activate ${data.name}?` : `Suspend ${data.name}?`,
      description: suspended
        ? "Customers can buy the seller's products again."
        : "Customers can no longer add the seller's products to carts or complete carts holding them.",
      variant: suspended ? "confirmation" : "danger",
      confirmText: "Continue",
      cancelText: "Cancel",
    })
    if (confirmed) {
      setStatus.mutate(suspended ? "active" : "suspended")
    }
  }

  const productCount = products.data?.count

  return (
    <div className="flex flex-col gap-y-3">
      <Container className="divide-y p-0">
        <div className="flex flex-wrap items-start justify-between gap-4 px-6 py-4">
          <div>
            <div className="flex items-center gap-x-2">
              <Heading level="h1">{data.name}</Heading>
              <SellerStatusBadge status={data.status} />
            </div>
            <Text size="small" className="text-ui-fg-subtle">
              {data.handle}
            </Text>
          </div>
          <Button
            size="small"
            variant={suspended ? "secondary" : "danger"}
            isLoading={setStatus.isPending}
            onClick={onToggle}
          >
            {suspended ? "Activate" : "Suspend"}
          </Button>
        </div>
        <dl className="grid grid-cols-2 gap-4 px-6 py-4 md:grid-cols-4">
          <Field label="Email">{data.email || "-"}</Field>
          <Field label="Created">{formatDate(data.created_at)}</Field>
          <Field label="Stock location">{data.stock_location?.name ?? "-"}</Field>
          <Field label="Products">
            <span data-testid="seller-product-count">
              {productCount === undefined ? (products.isError ? "-" : "…") : productCount}
            </span>
          </Field>
        </dl>
        {data.description && (
          <div className="px-6 py-4">
            <Text size="small">{data.description}</Text>
          </div>
        )}
        <div className="px-6 py-4">
          <Link
            to={`/order-groups?seller_id=${encodeURIComponent(data.id)}`}
            className="txt-compact-small text-ui-fg-interactive hover:text-ui-fg-interactive-hover"
          >
            View this seller's order groups
          </Link>
        </div>
      </Container>
      <Container className="divide-y p-0">
        <div className="px-6 py-4">
          <Heading level="h2">Members</Heading>
        </div>
        <Table>
          <Table.Header>
            <Table.Row>
              <Table.HeaderCell>Email</Table.HeaderCell>
              <Table.HeaderCell>Name</Table.HeaderCell>
              <Table.HeaderCell>Role</Table.HeaderCell>
              <Table.HeaderCell>Added</Table.HeaderCell>
            </Table.Row>
          </Table.Header>
          <Table.Body>
            {(data.members ?? []).length === 0 && (
              <Table.Row>
                <Table.Cell {...span(4)} className="text-ui-fg-subtle">
                  No members
                </Table.Cell>
              </Table.Row>
            )}
            {(data.members ?? []).map((member) => (
              <Table.Row key={member.id}>
                <Table.Cell>{member.email}</Table.Cell>
                <Table.Cell>{member.name || "-"}</Table.Cell>
                <Table.Cell>{member.role || "-"}</Table.Cell>
                <Table.Cell>{formatDate(member.created_at)}</Table.Cell>
              </Table.Row>
            ))}
          </Table.Body>
        </Table>
      </Container>
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

// The dashboard's header breadcrumb (shell.tsx reads `handle.breadcrumb` of the matched routes).
export const handle = {
  breadcrumb: () => "Seller",
}

export default SellerDetailPage

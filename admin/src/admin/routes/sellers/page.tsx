import { defineRouteConfig } from "@medusajs/admin-sdk"
import { BuildingStorefront } from "@medusajs/icons"
import { Container, Heading, Input, Select, Table, Text } from "@medusajs/ui"
import { keepPreviousData, useQuery } from "@tanstack/react-query"
import { useEffect, useState } from "react"
import { useNavigate, useSearchParams } from "react-router-dom"
import { LoadError, SellerStatusBadge, span } from "../../lib/components"
import { formatDate, SELLER_STATUS_OPTIONS } from "../../lib/order-helpers"
import { errorMessage, sdk } from "../../lib/sdk"
import { ListResponse, Seller } from "../../lib/types"

const PAGE_SIZE = 20
const LIST_FIELDS = "id,name,handle,email,status,created_at"
const ALL = "all"

const SellersPage = () => {
  const navigate = useNavigate()
  const [searchParams, setSearchParams] = useSearchParams()
  const offset = Math.max(0, Number(searchParams.get("offset")) || 0)
  const qParam = searchParams.get("q") || undefined
  const status = searchParams.get("status") || undefined

  const update = (changes: Record<string, string | undefined>) => {
    setSearchParams((previous) => {
      const next = new URLSearchParams(previous)
      for (const [key, value] of Object.entries(changes)) {
        if (value) {
          next.set(key, value)
        } else {
          next.delete(key)
        }
      }
      return next
    })
  }

  const [q, setQ] = useState(qParam ?? "")
  useEffect(() => setQ(qParam ?? ""), [qParam])
  useEffect(() => {
    const timer = setTimeout(() => {
      if ((qParam ?? "") !== q.trim()) {
        update({ q: q.trim() || undefined, offset: undefined })
      }
    }, 300)
    return () => clearTimeout(timer)
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [q])

  const query: Record<string, string | number> = {
    limit: PAGE_SIZE,
    offset,
    order: "name",
    fields: LIST_FIELDS,
  }
  if (qParam) {
    query.q = qParam
  }
  if (status) {
    query.status = status
  }

  const sellers = useQuery({
    queryKey: ["mercato_sellers", "list", query],
    queryFn: () => sdk.client.fetch<ListResponse<"sellers", Seller>>("/admin/sellers", { query }),
    placeholderData: keepPreviousData,
  })

  const rows = sellers.data?.sellers ?? []
  const count = sellers.data?.count ?? 0

  return (
    <Container className="divide-y p-0">
      <div className="flex items-center justify-between px-6 py-4">
        <div>
          <Heading level="h1">Sellers</Heading>
          <Text size="small" className="text-ui-fg-subtle">
            The marketplace's vendors: each has its products, shipping options and stock location.
          </Text>
        </div>
      </div>
      <div className="flex flex-wrap items-center gap-2 px-6 py-4" role="search">
        <Input
          type="search"
          size="small"
          className="w-60"
          placeholder="Search"
          aria-label="Search sellers"
          value={q}
          onChange={(event) => setQ(event.target.value)}
        />
        <Select
          size="small"
          value={status ?? ALL}
          onValueChange={(next) =>
            update({ status: next === ALL ? undefined : next, offset: undefined })
          }
        >
          <Select.Trigger className="w-48" aria-label="Filter by status">
            <Select.Value placeholder="Status" />
          </Select.Trigger>
          <Select.Content>
            <Select.Item value={ALL}>Status: all</Select.Item>
            {SELLER_STATUS_OPTIONS.map((option) => (
              <Select.Item key={option.value} value={option.value}>
                {option.label}
              </Select.Item>
            ))}
          </Select.Content>
        </Select>
      </div>
      {sellers.isError ? (
        <div className="px-6 py-4">
          <LoadError message={errorMessage(sellers.error)} />
        </div>
      ) : (
        <>
          <Table>
            <Table.Header>
              <Table.Row>
                <Table.HeaderCell>Name</Table.HeaderCell>
                <Table.HeaderCell>Handle</Table.HeaderCell>
                <Table.HeaderCell>Email</Table.HeaderCell>
                <Table.HeaderCell>Status</Table.HeaderCell>
                <Table.HeaderCell>Created</Table.HeaderCell>
              </Table.Row>
            </Table.Header>
            <Table.Body>
              {sellers.isLoading && (
                <Table.Row>
                  <Table.Cell {...span(5)} className="text-ui-fg-subtle">
                    Loading…
                  </Table.Cell>
                </Table.Row>
              )}
              {!sellers.isLoading && rows.length === 0 && (
                <Table.Row>
                  <Table.Cell {...span(5)} className="text-ui-fg-subtle">
                    No sellers found
                  </Table.Cell>
                </Table.Row>
              )}
              {rows.map((seller) => (
                <Table.Row
                  key={seller.id}
                  className="cursor-pointer"
                  data-testid={`seller-row-${seller.id}`}
                  onClick={() => navigate(`/sellers/${seller.id}`)}
                >
                  <Table.Cell className="font-medium">{seller.name}</Table.Cell>
                  <Table.Cell>{seller.handle}</Table.Cell>
                  <Table.Cell>{seller.email || "-"}</Table.Cell>
                  <Table.Cell>
                    <SellerStatusBadge status={seller.status} />
                  </Table.Cell>
                  <Table.Cell>{formatDate(seller.created_at)}</Table.Cell>
                </Table.Row>
              ))}
            </Table.Body>
          </Table>
          <Table.Pagination
            count={count}
            pageSize={PAGE_SIZE}
            pageIndex={Math.floor(offset / PAGE_SIZE)}
            pageCount={Math.max(1, Math.ceil(count / PAGE_SIZE))}
            canPreviousPage={offset > 0}
            canNextPage={!sellers.isPlaceholderData && offset + PAGE_SIZE < count}
            previousPage={() =>
              update({ offset: offset > PAGE_SIZE ? String(offset - PAGE_SIZE) : undefined })
            }
            nextPage={() => update({ offset: String(offset + PAGE_SIZE) })}
          />
        </>
      )}
    </Container>
  )
}

export const config = defineRouteConfig({
  label: "Sellers",
  icon: BuildingStorefront,
})

// The dashboard's header breadcrumb (shell.tsx reads `handle.breadcrumb` of the matched routes).
export const handle = {
  breadcrumb: () => "Sellers",
}

export default SellersPage

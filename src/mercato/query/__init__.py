"""The one mechanism every read route uses: filters, ordering, pages and ``fields`` selection."""

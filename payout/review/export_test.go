package review

// CursorAfter is the cursor of the page that starts after row in f's
// order: tests and benchmarks jump into the middle of the table with it
// instead of walking to there. An amount sort's cursor has no rank, as a
// page read without a stored order makes it.
func CursorAfter(f Filter, row PublisherRow) string {
	c := cursor{sort: f.sort(), desc: f.Desc, accountID: row.AccountID, seller: row.SellerID}
	c.amount = sortAmount(c.sort, row)
	return c.encode()
}

// CursorAt is CursorAfter with rank, row's rank in the cycle's stored
// order of f's amount sort, as a page read from that order makes it.
func CursorAt(f Filter, row PublisherRow, rank int64) string {
	c := cursor{sort: f.sort(), desc: f.Desc, accountID: row.AccountID, seller: row.SellerID, rank: rank}
	c.amount = sortAmount(c.sort, row)
	return c.encode()
}

// WithOrderBlock makes s store the amount sorts' orders in blocks of n
// ranks, so that a small cycle's pages cross blocks.
func WithOrderBlock(s *Service, n int) *Service {
	s.orderBlock = n
	return s
}
